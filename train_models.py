"""Train and evaluate the melody model.

Usage::

    python train_models.py train [--data data/melody] [--out models/melody.pt] [--resume]
    python train_models.py evaluate --data PATH [--split test]     # dataset file/folder or score folder
    python train_models.py evaluate --generated [--per-style 100]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


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
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from aimusic.data.build import load_dataset
    from aimusic.model.evaluate import compare_bits, fit_markov, format_bits_line, load_eval_records
    from aimusic.model.melody_stats import METRICS, compare_generated
    from aimusic.model.melodist import load_model_melodist

    train_records = [r for r in load_dataset(args.train_data) if r.split == "train"]
    if args.generated:
        pool = [r for r in load_dataset(args.train_data) if r.split in ("test", "validation")]
        rng = np.random.default_rng(args.seed)
        chosen = []
        for style in sorted({r.style for r in train_records}):
            cands = [r for r in pool if r.style == style]
            idx = rng.permutation(len(cands))[:args.per_style or None]
            chosen += [cands[i] for i in sorted(idx)]
        table = compare_generated(load_model_melodist(args.model), chosen, seed=args.seed,
                                  temperature=args.temperature, samples=args.samples)
        print("| style (real/generated melodies) | metric | real (95 % interval) | generated | ratio |")
        print("|---|---|---|---|---|")
        worst = 0.0
        for style, stats in table.items():
            for m in METRICS:
                f = stats["metrics"][m]
                ratio = f["generated"] / f["real"] if f["real"] else float("nan")
                worst = max(worst, abs(ratio - 1))
                print(f"| {style} ({stats['melodies'][0]}/{stats['melodies'][1]}) | {m} | {f['real']:.3f} "
                      f"({f['real_low']:.3f}-{f['real_high']:.3f}) | {f['generated']:.3f} | {ratio:.3f} |")
        print(f"max_relative_difference={worst:.3f}")
        return 0
    markov = fit_markov(train_records)
    records = load_eval_records(args.data, args.split, args.style)
    result = compare_bits(args.model, records, markov, threads=args.threads)
    print(f"melodies={result['melodies']} ratio model/markov={result['model'] / result['markov']:.3f}")
    print(format_bits_line(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run ``train`` or ``evaluate``."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the melody model")
    t.add_argument("--data", type=Path, default=ROOT / "data" / "melody")
    t.add_argument("--out", type=Path, default=ROOT / "models" / "melody.pt")
    t.add_argument("--name", help="model name reported by /health and responses (default melody-lstm-v1)")
    t.add_argument("--epochs", type=int, default=40)
    t.add_argument("--max-minutes", type=float, default=40.0)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--seed", type=int, default=1234)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--hidden", type=int, default=256)
    t.add_argument("--layers", type=int, default=2)
    t.add_argument("--dropout", type=float, default=0.2)
    t.add_argument("--repeat", nargs="*", default=[], metavar="STYLE=N",
                   help="how often each epoch sees a style's melodies (default classical=6)")
    t.add_argument("--limit", type=int, default=0, help="use only the first N training melodies")
    t.add_argument("--resume", action="store_true", help="continue from OUT's resume file")
    e = sub.add_parser("evaluate", help="bits per note vs Markov, or generated-vs-real statistics")
    e.add_argument("--data", type=Path, default=ROOT / "data" / "melody",
                   help="dataset file/folder, or a folder of score files")
    e.add_argument("--split", default="test", help="split of a dataset to score (test, heldout, all, …)")
    e.add_argument("--style", default="folk", help="style tag for melodies read from score files")
    e.add_argument("--train-data", type=Path, default=ROOT / "data" / "melody",
                   help="dataset whose train split fits the Markov baseline")
    e.add_argument("--model", type=Path, default=ROOT / "models" / "melody.pt")
    e.add_argument("--generated", action="store_true", help="compare generated with real melodies")
    e.add_argument("--per-style", type=int, default=0, help="real melodies per style tag (0: all of test + validation)")
    e.add_argument("--samples", type=int, default=5, help="generated melodies per real one")
    e.add_argument("--temperature", type=float, default=1.0)
    e.add_argument("--seed", type=int, default=7)
    e.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(getattr(args, "threads", 1)))
    return _train(args) if args.command == "train" else _evaluate(args)


if __name__ == "__main__":
    sys.exit(main())
