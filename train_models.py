"""Train and evaluate the melody model.

Usage::

    python train_models.py train [--data data/melody] [--out models/melody.pt] [--resume]
    python train_models.py evaluate --data PATH [--split test]     # dataset file/folder or score folder
    python train_models.py calibrate [--model models/melody.pt]    # refit the rest offsets (train does it)
    python train_models.py evaluate --generated [--min-generated 800]
    python train_models.py export [CHECKPOINT ...]                # torch-free weights file (train does it)
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DATASET_FILE = "melodies.jsonl.gz"  # what download_training_data.py writes into its --out folder
EXIT_USAGE = 2


def missing_corpus(path: Path, *, scores_ok: bool = False) -> str | None:
    """Why ``path`` is not a built melody corpus, with the command that builds it; None when it is.

    A folder without the dataset file counts as a corpus only where a folder of score files is
    accepted too (``scores_ok``: ``evaluate --data``), and then only if it holds files.
    """
    path = Path(path)
    if path.is_file() or (path / DATASET_FILE).is_file():
        return None
    if scores_ok and path.is_dir() and any(p.is_file() for p in path.rglob("*")):
        return None
    return (f"no melody corpus at {path}: build it first with\n"
            f"    python download_training_data.py --out {path}\n"
            f"(or pass --data/--train-data naming a built corpus)")


def _corpora(args: argparse.Namespace) -> list[tuple[Path, bool]]:
    """The corpora a command reads, each with whether a folder of score files will do."""
    if args.command in ("train", "calibrate"):
        return [(args.data, False)]
    if args.command == "evaluate":
        return [(args.train_data, False)] + ([] if args.generated else [(args.data, True)])
    return []


def _style_count(text: str) -> tuple[str, int]:
    style, _, count = text.partition("=")
    if not count.isdigit():
        raise argparse.ArgumentTypeError(f"--repeat takes STYLE=N, not {text!r}")
    return style, int(count)


def _train(args: argparse.Namespace) -> int:
    from aimusic.model.network import MelodyConfig
    from aimusic.model.train import TrainConfig, train

    cfg = TrainConfig(data=str(args.data), out=str(args.out), name=args.name or TrainConfig.name,
                      epochs=args.epochs, seed=args.seed, threads=args.threads, max_minutes=args.max_minutes,
                      batch_size=args.batch_size, max_train_melodies=args.limit, lr=args.lr,
                      repeat={**TrainConfig().repeat, **dict(_style_count(x) for x in args.repeat)})
    metrics = train(cfg, MelodyConfig(hidden=args.hidden, layers=args.layers, dropout=args.dropout),
                    resume=args.resume)
    print(metrics)
    args.model = args.out
    return _calibrate(args)


def _calibrate(args: argparse.Namespace) -> int:
    from aimusic.data.build import load_dataset
    from aimusic.model.calibrate import calibrate_checkpoint

    fits = calibrate_checkpoint(args.model, load_dataset(args.data), report=print)
    for style, fit in fits.items():
        print(f"rest offset {style}={fit.offset:+.3f} (rest share {fit.generated_before:.4f} -> "
              f"{fit.generated:.4f}, target {fit.target:.4f}, {fit.melodies} melodies)")
    return 0


def _export(args: argparse.Namespace) -> int:
    from aimusic.model.checkpoint import export_weights

    for path in args.checkpoints:
        npz, sidecar = export_weights(path)
        print(f"{path} -> {npz.name} ({npz.stat().st_size / 1e6:.1f} MB) + {sidecar.name}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from aimusic.data.build import load_dataset
    from aimusic.model.evaluate import compare_bits, fit_markov, format_bits_line, load_eval_records, record_bits
    from aimusic.model.melodist import load_model_melodist
    from aimusic.model.melody_stats import generated_report

    dataset = load_dataset(args.train_data)
    if args.generated:
        lines, worst = generated_report(load_model_melodist(args.model), dataset, seed=args.seed,
                                        min_generated=args.min_generated, temperature=args.temperature)
        print("\n".join(lines))
        print(f"max_relative_difference={worst:.3f}")
        return 0
    markov = fit_markov([r for r in dataset if r.split == "train"])
    records = load_eval_records(args.data, args.split, args.style)
    result = compare_bits(args.model, records, markov, threads=args.threads)
    print(f"melodies={result['melodies']} ratio model/markov={result['model'] / result['markov']:.3f}")
    if args.record:
        record_bits(args.model, args.record, result)
    print(format_bits_line(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run ``train``, ``calibrate``, ``evaluate`` or ``export``."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the melody model")
    t.add_argument("--data", type=Path, default=ROOT / "data" / "melody")
    t.add_argument("--out", type=Path, default=ROOT / "models" / "melody.pt")
    t.add_argument("--name", help="model name reported by /health and responses (default melody-lstm-v1)")
    t.add_argument("--epochs", type=int, default=40)
    t.add_argument("--max-minutes", type=float, default=50.0)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--seed", type=int, default=1234)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--hidden", type=int, default=256)
    t.add_argument("--layers", type=int, default=2)
    t.add_argument("--dropout", type=float, default=0.3)
    t.add_argument("--repeat", nargs="*", default=[], metavar="STYLE=N",
                   help="how often each epoch sees a style's melodies (default classical=4)")
    t.add_argument("--limit", type=int, default=0, help="use only the first N training melodies")
    t.add_argument("--resume", action="store_true", help="continue from OUT's resume file")
    c = sub.add_parser("calibrate", help="fit the per-style rest offsets of a trained model")
    c.add_argument("--data", type=Path, default=ROOT / "data" / "melody")
    c.add_argument("--model", type=Path, default=ROOT / "models" / "melody.pt")
    x = sub.add_parser("export", help="write the torch-free weights file the service reads, beside each checkpoint")
    x.add_argument("checkpoints", nargs="*", type=Path,
                   default=[ROOT / "models" / "melody.pt", ROOT / "models" / "melody-public-domain.pt"])
    e = sub.add_parser("evaluate", help="bits per note vs Markov, or generated-vs-real statistics")
    e.add_argument("--data", type=Path, default=ROOT / "data" / "melody",
                   help="dataset file/folder, or a folder of score files")
    e.add_argument("--split", default="test", help="split of a dataset to score (test, heldout, all, …)")
    e.add_argument("--style", default="folk", help="style tag for melodies read from score files")
    e.add_argument("--train-data", type=Path, default=ROOT / "data" / "melody",
                   help="dataset whose train split fits the Markov baseline (and, with --generated, the real melodies)")
    e.add_argument("--model", type=Path, default=ROOT / "models" / "melody.pt")
    e.add_argument("--record", metavar="NAME", help="also store the figures in the checkpoint's metrics as NAME_…")
    e.add_argument("--generated", action="store_true", help="compare generated with real melodies")
    e.add_argument("--min-generated", type=int, default=800, help="generated melodies per style tag, at least")
    e.add_argument("--temperature", type=float, default=1.0)
    e.add_argument("--seed", type=int, default=7)
    e.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    for path, scores_ok in _corpora(args):
        problem = missing_corpus(path, scores_ok=scores_ok)
        if problem:
            print(f"train_models.py {args.command}: {problem}", file=sys.stderr)
            return EXIT_USAGE
    os.environ.setdefault("OMP_NUM_THREADS", str(getattr(args, "threads", 1)))
    return {"train": _train, "calibrate": _calibrate, "evaluate": _evaluate,
            "export": _export}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
