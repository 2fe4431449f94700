"""Melody generation time of the shipped model (NumPy stepper, one thread).

Usage: ``python bench/bench_melody.py [--model models/melody.pt] [--runs 7]``

Prints a table: for a 30-second section (60 beats at 120 bpm) and shorter ones, the
median and best wall time of ``ModelMelodist.melody`` over ``--runs`` runs, with the note
count. Target: at most 30 ms for the 60-beat section.

Measured 2026-11-25 on the shared 2-core build machine (other jobs running), melody-lstm-v1::

            section      style  notes  median ms  best ms  ms/note
           16 beats       folk     21       4.94     3.96    0.235
           16 beats  classical     15       3.41     2.76    0.227
           16 beats        pop     20       6.03     4.36    0.301
           32 beats       folk     44       9.28     7.78    0.211
           32 beats  classical     30       6.43     5.71    0.214
           32 beats        pop     38      11.43     5.99    0.301
           60 beats       folk     80      17.15    13.24    0.214
           60 beats  classical     61      13.14    10.04    0.215
           60 beats        pop     68      18.41     9.00    0.271
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aimusic  # noqa: E402,F401  (first: it pins the numeric kernels before NumPy loads)
import numpy as np  # noqa: E402
import torch  # noqa: E402

from aimusic.compose.melody_context import ChordSpan, MelodyContext  # noqa: E402
from aimusic.model.melodist import load_model_melodist  # noqa: E402
from aimusic.theory import Key, roman_to_chord  # noqa: E402


def section(beats: int, style: str) -> MelodyContext:
    """A section of ``beats`` in C major over I-vi-IV-V, one chord per bar."""
    key = Key(0, "major")
    prog = [roman_to_chord(r, key) for r in ("I", "vi", "IV", "V")]
    spans = tuple(ChordSpan(4.0 * b, 4.0, prog[b % 4]) for b in range(beats // 4))
    return MelodyContext(key=key, beats_per_bar=4, beat_unit=4, start=0.0, length=float(beats), chords=spans,
                         register=(60, 84), style_tag=style, step=0.5, density=0.7, rest_prob=0.05,
                         long_note_prob=0.1, final=True)


def main() -> None:
    """Time melody generation and print the table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "melody.pt")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(1)
    melodist = load_model_melodist(args.model)
    print(f"model {melodist.name}, {melodist.parameters:,} parameters, {args.runs} runs each")
    print(f"{'section':>16s} {'style':>10s} {'notes':>6s} {'median ms':>10s} {'best ms':>8s} {'ms/note':>8s}")
    for beats in (16, 32, 60):
        for style in ("folk", "classical", "pop"):
            ctx = section(beats, style)
            melodist.melody(ctx, rng=np.random.default_rng(0), temperature=1.0)   # warm-up
            times, counts = [], []
            for run in range(args.runs):
                t0 = time.perf_counter()
                notes = melodist.melody(ctx, rng=np.random.default_rng(run), temperature=1.0)
                times.append(time.perf_counter() - t0)
                counts.append(len(notes))
            med = statistics.median(times) * 1e3
            n = statistics.median(counts)
            print(f"{beats:>10d} beats {style:>10s} {n:6.0f} {med:10.2f} {min(times) * 1e3:8.2f} {med / max(n, 1):8.3f}")


if __name__ == "__main__":
    main()
