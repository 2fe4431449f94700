"""How energy is heard: onset rate, Score notes and melody notes at three asked levels; writes bench/ENERGY.md.

For each style and seed, a 30 s track at energy 0.1, 0.5 and 0.9 with the shipped model: the
onsets per second librosa's default detector hears in the mix (:func:`aimusic.analysis.onset_rate`,
as ``tests/test_energy.py`` measures them), the notes of the whole Score and those of the melody.
A row is *rising* when a figure grows at both steps; the summary counts them per style. Run
from the project root::

    python bench/energy_figures.py [--styles ambient ...] [--seeds 1 2 3 5 7 12] [--out bench/ENERGY.md]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aimusic.analysis import onset_rate  # noqa: E402
from aimusic.config import DEFAULT_MODEL_PATH  # noqa: E402
from aimusic.model.melodist import load_model_melodist  # noqa: E402
from aimusic.pipeline import GenerationRequest, generate  # noqa: E402
from aimusic.styles import STYLE_NAMES  # noqa: E402

LEVELS = (0.1, 0.5, 0.9)


def figures(style: str, seed: int, melodist) -> list[tuple[float, int, int]]:
    """(onsets per second, Score notes, melody notes) at each of :data:`LEVELS`."""
    rows = []
    for energy in LEVELS:
        track = generate(GenerationRequest(style=style, duration=30.0, seed=seed, energy=energy), melodist)
        rows.append((onset_rate(track.audio, sr=track.sample_rate), sum(len(t.notes) for t in track.score.tracks),
                     len(track.score.track("melody").notes)))
    return rows


def rising(values: list[float]) -> bool:
    """Whether ``values`` grow at every step."""
    return all(a < b for a, b in zip(values, values[1:]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", nargs="+", default=list(STYLE_NAMES), choices=STYLE_NAMES)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 5, 7, 12])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "ENERGY.md")
    args = parser.parse_args(argv)
    melodist = load_model_melodist(DEFAULT_MODEL_PATH)
    lines = ["# Energy as heard", "", f"Command: `python bench/energy_figures.py --styles {' '.join(args.styles)} "
             f"--seeds {' '.join(map(str, args.seeds))}`  ", f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             "", "| style | seed | onsets/s at 0.1 / 0.5 / 0.9 | Score notes | melody notes | onsets rise | notes rise | melody rises |",
             "|---|---:|---|---|---|---|---|---|"]
    summary = []
    for style in args.styles:
        counts = [0, 0, 0]
        for seed in args.seeds:
            rows = figures(style, seed, melodist)
            rates, notes, melody = ([r[k] for r in rows] for k in range(3))
            ok = (rising(rates), rising(notes), rising(melody))
            counts = [c + o for c, o in zip(counts, ok)]
            verdicts = " | ".join("yes" if o else "**no**" for o in ok)
            lines.append(f"| {style} | {seed} | {' / '.join(f'{r:.2f}' for r in rates)} | "
                         f"{' / '.join(map(str, notes))} | {' / '.join(map(str, melody))} | {verdicts} |")
            print(lines[-1], flush=True)
        summary.append(f"- {style}: onset rate rises on {counts[0]} of {len(args.seeds)} seeds, Score notes on "
                       f"{counts[1]}, melody notes on {counts[2]}")
    lines += ["", *summary, ""]
    args.out.write_text("\n".join(lines))
    print("\n".join(summary))


if __name__ == "__main__":
    main()
