"""Micro-benchmark of the streamed render + mix stage per style, cold and warm.

    OMP_NUM_THREADS=1 python bench/render_mix.py [--duration 30] [--repeat 5] [--clock cpu]

Scores are composed once per style (seed 1, Markov melody) and then rendered and mixed
``repeat`` times with :func:`aimusic.mix.render_mix`: "cold" clears the note cache before
every render, "warm" keeps it, as a long-running worker does. Prints medians in ms and the
process's peak RSS (run one duration per process to read the RSS of that duration). On a
busy machine ``--clock cpu`` reads this process's CPU time and prints the fastest run,
which other processes disturb far less than the wall clock's median.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import aimusic  # noqa: E402,F401  (first: it pins the numeric kernels before NumPy loads)
import numpy as np  # noqa: E402

from aimusic.compose.arrange import compose  # noqa: E402
from aimusic.compose.markov import MarkovMelodist  # noqa: E402
from aimusic.compose.planner import plan_song  # noqa: E402
from aimusic.config import SAMPLE_RATE  # noqa: E402
from aimusic.mix import render_mix  # noqa: E402
from aimusic.styles import STYLE_NAMES, get_style  # noqa: E402
from aimusic.synth.render import NOTE_CACHE  # noqa: E402


def timed(style_name: str, *, duration: float, repeat: int, cold: bool, clock: str = "wall") -> tuple[float, int]:
    """Render + mix time in ms (median of wall times, or fastest CPU time) and the note count."""
    style = get_style(style_name)
    rng = np.random.default_rng(1)
    plan = plan_song(style, duration=duration, tempo=None, key=None, seed=1, rng=rng)
    score = compose(plan, style, MarkovMelodist(), rng=rng)
    n = int(round(duration * SAMPLE_RATE))
    now = time.process_time if clock == "cpu" else time.perf_counter
    times = []
    for _ in range(repeat):
        if cold:
            NOTE_CACHE.clear()
        t0 = now()
        render_mix(score, style, sr=SAMPLE_RATE, n_samples=n)
        times.append(now() - t0)
    notes = sum(len(t.notes) for t in score.tracks)
    return 1e3 * float(np.min(times) if clock == "cpu" else np.median(times)), notes


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one line per style."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--styles", nargs="*", default=list(STYLE_NAMES))
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    args = parser.parse_args(argv)
    print(f"{args.duration:.0f} s, {'median wall time' if args.clock == 'wall' else 'fastest CPU time'} "
          f"of {args.repeat}")
    print(f"{'style':11s} {'notes':>5s} {'cold render+mix':>15s} | {'warm render+mix':>15s}")
    for name in args.styles:
        cold, notes = timed(name, duration=args.duration, repeat=args.repeat, cold=True, clock=args.clock)
        warm, _ = timed(name, duration=args.duration, repeat=args.repeat, cold=False, clock=args.clock)
        print(f"{name:11s} {notes:5d} {cold:13.0f}ms | {warm:13.0f}ms")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
