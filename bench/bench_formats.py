"""Encode time and size per format, stems render time and how the stems sum, loop render time.

Run from the project root::

    python bench/bench_formats.py                   # 30 s and 300 s of rock, writes bench/FORMATS.md
    python bench/bench_formats.py --durations 30 --style jazz --no-write

Each figure is the median of ``--runs`` encodes of the same rendered mix (encoding is
deterministic; the spread is the machine's). Sizes are of the files as the service stores them.
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import aimusic  # noqa: E402,F401  (first: it pins the numeric kernels before NumPy loads)
import numpy as np  # noqa: E402

from aimusic.audio_io import to_pcm16  # noqa: E402
from aimusic.config import Settings  # noqa: E402
from aimusic.encode.audio import AUDIO_FORMATS, AudioTags, encode_audio  # noqa: E402
from aimusic.encode.midi import write_midi_file  # noqa: E402
from aimusic.encode.score_json import score_json_bytes  # noqa: E402
from aimusic.melodists import load_melodist  # noqa: E402
from aimusic.pipeline import GenerationRequest, generate  # noqa: E402
from aimusic.track_files import write_stems  # noqa: E402

SR = 44100


def timed(fn, runs: int) -> tuple[float, object]:
    """(median seconds, last result) of ``runs`` calls of ``fn``."""
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def encode(pcm: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    encode_audio(buffer, pcm, fmt=fmt, sr=SR, tags=AudioTags("Bench", "seed=1"))
    return buffer.getvalue()


def stems_zip(track, pcm: np.ndarray) -> int:
    with tempfile.TemporaryFile() as handle:
        write_stems(handle, track.score, track.plan.style, pcm, sr=SR, manifest={})
        return handle.tell()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--durations", type=float, nargs="+", default=[30.0, 300.0])
    parser.add_argument("--style", default="rock")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only, do not write bench/FORMATS.md")
    args = parser.parse_args()
    settings = Settings.from_env()
    melodist = load_melodist(settings.melody_engine, settings.model_path).melodist
    lines = [f"Command: `{' '.join(['python', 'bench/bench_formats.py', *sys.argv[1:]])}`",
             f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
             f"{os.cpu_count()} cores, Python {platform.python_version()}; style: {args.style}; "
             f"median of {args.runs} runs; load average at the start {os.getloadavg()[0]:.1f} "
             "(other work on the machine slows every figure alike)", "",
             "## Encoding the mix (from its 16-bit samples, as the service does)", "",
             "| duration s | format | encode ms | x real time | size KiB | kbit/s |", "|---:|---|---:|---:|---:|---:|"]
    extra = ["", "## Score files and stems", "",
             "| duration s | file | time ms | size KiB | note |", "|---:|---|---:|---:|---|"]
    loops = ["", "## Loops (rendered as repeated copies, closed by a crossfade)", "",
             "| duration s | loop generation ms | plain generation ms | ratio |", "|---:|---:|---:|---:|"]
    for duration in args.durations:
        request = GenerationRequest(style=args.style, duration=duration, seed=1)
        track = generate(request, melodist)
        pcm = to_pcm16(track.audio)
        for fmt in AUDIO_FORMATS:
            seconds, data = timed(lambda: encode(pcm, fmt), args.runs)
            lines.append(f"| {duration:g} | {fmt} | {seconds * 1e3:.0f} | {duration / seconds:.0f} | "
                         f"{len(data) / 1024:.0f} | {len(data) * 8 / duration / 1000:.0f} |")
            print(lines[-1], flush=True)
        seconds, data = timed(lambda: (write_midi_file(b := io.BytesIO(), track.score), b.getvalue())[1], args.runs)
        extra.append(f"| {duration:g} | score.mid | {seconds * 1e3:.1f} | {len(data) / 1024:.1f} | "
                     f"{sum(len(t.notes) for t in track.score.tracks)} notes |")
        seconds, data = timed(lambda: score_json_bytes(track.score, track.plan), args.runs)
        extra.append(f"| {duration:g} | score.json | {seconds * 1e3:.1f} | {len(data) / 1024:.1f} | |")
        from aimusic.stems import render_part_stems
        from aimusic.styles import get_style

        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            parts = render_part_stems(track.score, get_style(args.style), pcm.astype(np.float32) / 32767.0, sr=SR,
                                      folder=Path(folder))
            figures = (parts.correlation, parts.residual_db, len(parts.stems))
            del parts
        render_s = time.perf_counter() - t0
        seconds, size = timed(lambda: stems_zip(track, pcm), 1)
        extra.append(f"| {duration:g} | stems (render only) | {render_s * 1e3:.0f} | | {figures[2]} parts; sum vs mix: "
                     f"correlation {figures[0]:.6f}, residual {figures[1]:.1f} dB |")
        extra.append(f"| {duration:g} | stems.zip (render + 24-bit WAVs) | {seconds * 1e3:.0f} | {size / 1024:.0f} | "
                     f"mix render was {track.timings_ms['render_mix']:.0f} ms |")
        print("\n".join(extra[-4:]), flush=True)
        looped, _ = timed(lambda: generate(GenerationRequest(style=args.style, duration=duration, seed=1, loop=True),
                                           melodist), 1)
        plain, _ = timed(lambda: generate(request, melodist), 1)   # again, with the caches as warm as the loop's
        loops.append(f"| {duration:g} | {looped * 1e3:.0f} | {plain * 1e3:.0f} | {looped / plain:.1f} |")
        print(loops[-1], flush=True)
    text = "# Formats, stems and loops\n\n" + "\n".join(lines + extra + loops) + "\n"
    print(text)
    if not args.no_write:
        (ROOT / "bench" / "FORMATS.md").write_text(text)


if __name__ == "__main__":
    main()
