"""Measure what a listener would check on real renders; writes bench/AUDIO.md.

For each style: the tempo librosa's beat tracker hears at three asked tempi, the key heard
from chroma against the asked key, the swing ratio of the off-beats, integrated loudness
and true peak. Run from the project root::

    python bench/audio_report.py [--engine model|markov] [--seeds 3]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aimusic  # noqa: E402,F401  (first: it pins the numeric kernels before NumPy loads)
import numpy as np  # noqa: E402
import pyloudnorm  # noqa: E402

from aimusic.analysis import estimate_key, estimate_tempo, swing_ratio  # noqa: E402
from aimusic.config import DEFAULT_MODEL_PATH  # noqa: E402
from aimusic.mastering import true_peak_db  # noqa: E402
from aimusic.melodists import load_melodist  # noqa: E402
from aimusic.pipeline import GenerationRequest, generate  # noqa: E402
from aimusic.styles import STYLES  # noqa: E402
from aimusic.theory import Key, parse_key  # noqa: E402

TEMPI = {"classical": (72, 96, 120), "jazz": (100, 140, 180), "rock": (100, 125, 160), "blues": (70, 95, 120),
         "electronic": (115, 128, 142), "ambient": (50, 70, 90)}
KEYS = {"classical": ("D major", "G minor"), "jazz": ("Bb major", "C minor"), "rock": ("E minor", "G major"),
        "blues": ("A major", "E major"), "electronic": ("F minor", "A minor"), "ambient": ("C major", "D minor")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["model", "markov"], default="model")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "AUDIO.md")
    args = parser.parse_args(argv)
    melodist = load_melodist(args.engine, DEFAULT_MODEL_PATH).melodist
    meter = pyloudnorm.Meter(44100)
    tempo_rows, key_rows = [], []
    for name, style in STYLES.items():
        for tempo in TEMPI[name]:
            heard, swings, hits = [], [], 0
            for seed in range(args.seeds):
                track = generate(GenerationRequest(style=name, duration=args.duration, tempo=tempo, seed=seed), melodist)
                bpm = estimate_tempo(track.audio, sr=44100)
                heard.append(bpm)
                hits += abs(bpm - tempo) <= 0.04 * tempo
                swings.append(swing_ratio(track.audio, sr=44100, tempo=tempo)[0])
            tempo_rows.append(f"| {name} | {tempo} | {', '.join(f'{h:.1f}' for h in heard)} | {hits}/{args.seeds} | "
                              f"{np.median(swings):.3f} (spec {style.swing:.2f}) |")
            print(tempo_rows[-1], flush=True)
        for key in KEYS[name]:
            for seed in range(args.seeds):
                track = generate(GenerationRequest(style=name, duration=args.duration, key=key, seed=seed), melodist)
                tonic, mode = estimate_key(track.audio, sr=44100)
                heard_key = Key(tonic, mode)
                loud = meter.integrated_loudness(track.audio.astype(np.float64))
                key_rows.append(f"| {name} | {key} | {seed} | {heard_key.name} | "
                                f"{'yes' if heard_key == parse_key(key) else 'no'} | {loud:.2f} | "
                                f"{true_peak_db(track.audio):.2f} |")
                print(key_rows[-1], flush=True)
    cmd = "python bench/audio_report.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = ["# What the renders sound like, measured", "",
            f"Command: `{cmd.strip()}`; {time.strftime('%Y-%m-%d', time.gmtime())}; "
            f"{args.duration:.0f} s tracks, seeds 0-{args.seeds - 1}, melody engine `{args.engine}`.", "",
            "## Tempo heard by librosa's beat tracker (within 4 % counts; half or double is a miss)", "",
            "| style | asked BPM | heard BPM per seed | hits | median off-beat phase |", "|---|---:|---|---:|---|",
            *tempo_rows, "", "## Key heard from chroma (Krumhansl profiles), loudness and true peak", "",
            "| style | asked key | seed | heard | match | LUFS | true peak dBTP |", "|---|---|---:|---|---|---:|---:|",
            *key_rows]
    args.output.write_text("\n".join(text) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
