"""The tempo a beat tracker hears in one style and meter, over asked tempi and seeds.

    python bench/meter_tempo.py --style blues --meter 12/8 --tempi 44 50 56 58 --seeds 1 2 3 4 5 6

Each 20 s track is generated with the shipped model and heard by
:func:`aimusic.analysis.estimate_tempo` (librosa's beat tracker, median inter-beat interval);
a track is heard at its tempo within 4 %, as ``tests/test_meters.py`` holds it. Prints one line
per track and the count.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aimusic.analysis import estimate_tempo  # noqa: E402
from aimusic.config import DEFAULT_MODEL_PATH  # noqa: E402
from aimusic.model.melodist import load_model_melodist  # noqa: E402
from aimusic.pipeline import GenerationRequest, generate  # noqa: E402


def heard(style: str, meter: str, tempo: int, seed: int, melodist) -> float:
    """The tempo the tracker hears in a 20 s track of ``style`` in ``meter`` at ``tempo``."""
    track = generate(GenerationRequest(style=style, duration=20.0, tempo=tempo, seed=seed, time_signature=meter),
                     melodist)
    return estimate_tempo(track.audio, sr=track.sample_rate)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="blues")
    parser.add_argument("--meter", default="12/8")
    parser.add_argument("--tempi", nargs="+", type=int, default=[44, 50, 56, 58])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5, 6])
    args = parser.parse_args(argv)
    melodist = load_model_melodist(DEFAULT_MODEL_PATH)
    hits = 0
    for tempo in args.tempi:
        for seed in args.seeds:
            bpm = heard(args.style, args.meter, tempo, seed, melodist)
            ok = abs(bpm / tempo - 1.0) < 0.04
            hits += ok
            print(f"{args.style} {args.meter} at {tempo}, seed {seed}: heard {bpm:.1f}{'' if ok else '  (miss)'}",
                  flush=True)
    print(f"heard at the asked tempo: {hits} of {len(args.tempi) * len(args.seeds)}")


if __name__ == "__main__":
    main()
