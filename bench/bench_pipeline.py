"""Benchmark the generation pipeline in process and over HTTP; writes bench/RESULTS.md.

Run from the project root::

    python bench/bench_pipeline.py            # full table (median of 5 runs each)
    python bench/bench_pipeline.py --runs 3 --durations 10 30 --no-http

Figures are medians of several runs; each is also given as a ratio to a fixed NumPy
reference workload timed in the same process, so results from noisy or different
machines can be compared.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from aimusic.config import DEFAULT_MODEL_PATH  # noqa: E402
from aimusic.melodists import load_melodist  # noqa: E402
from aimusic.pipeline import GenerationRequest, generate  # noqa: E402
from aimusic.styles import STYLE_NAMES  # noqa: E402


KEPT_MARKER = "<!-- written by other benchmarks: kept when this file is rewritten -->"


def reference_workload_s(runs: int = 5) -> float:
    """Median time of a fixed NumPy job (sines and an FFT over 30 s of audio)."""
    times = []
    t = np.arange(30 * 44100, dtype=np.float32) / 44100
    for _ in range(runs):
        t0 = time.perf_counter()
        y = np.zeros_like(t)
        for k in range(1, 9):
            y += np.sin(2 * np.pi * 220.0 * k * t) / k
        np.fft.rfft(y)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_pipeline(melodist, style: str, duration: float, runs: int) -> dict:
    """Median wall time of generate() and its stages for one style and duration."""
    totals, stages = [], []
    generate(GenerationRequest(style=style, duration=duration, seed=0), melodist)  # warm caches
    for i in range(runs):
        t0 = time.perf_counter()
        track = generate(GenerationRequest(style=style, duration=duration, seed=100 + i), melodist)
        totals.append(time.perf_counter() - t0)
        stages.append(track.timings_ms)
    med = statistics.median(totals)
    return {"style": style, "duration": duration, "median_s": med, "rtf": med / duration,
            "stages_ms": {k: statistics.median(s[k] for s in stages) for k in stages[0]}}


_MEMORY_PROBE = """
import sys, tracemalloc
sys.path.insert(0, {root!r})
from aimusic.config import DEFAULT_MODEL_PATH
from aimusic.melodists import load_melodist
from aimusic.pipeline import GenerationRequest, generate
def high_water_mb():
    # VmHWM belongs to this program's own memory map; ru_maxrss would carry over the
    # high-water mark of the (large) benchmark process this one was forked from.
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
    return int(line.split()[1]) / 1024
melodist = load_melodist({engine!r}, DEFAULT_MODEL_PATH).melodist
before = high_water_mb()
tracemalloc.start()
generate(GenerationRequest(style={style!r}, duration={duration}, seed=1), melodist)
peak = tracemalloc.get_traced_memory()[1]
print(peak / 1e6, before, high_water_mb())
"""


def peak_memory(engine: str, style: str, duration: float) -> tuple[float, float, float]:
    """In a fresh process: (traced peak MB of one generation, RSS MB after loading, max RSS MB)."""
    code = _MEMORY_PROBE.format(root=str(ROOT), engine=engine, style=style, duration=duration)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         env=dict(os.environ, OMP_NUM_THREADS="1")).stdout.split()
    traced, loaded, peak = (float(x) for x in out[-3:])
    return traced, loaded, peak


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_http(runs: int, duration: float = 30.0) -> dict:
    """Median time of POST /api/generate and of the download, against a real gunicorn."""
    port = _free_port()
    out = tempfile.mkdtemp(prefix="bench-out-")
    env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", OUTPUT_DIR=out, LOG_LEVEL="WARNING")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                             "ai_music_system:app"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        posts, downloads = [], []
        for i in range(runs + 1):
            body = json.dumps({"style": STYLE_NAMES[i % 6], "duration": duration, "seed": i}).encode()
            req = urllib.request.Request(base + "/api/generate", data=body,
                                         headers={"Content-Type": "application/json"})
            t0 = time.perf_counter()
            meta = json.load(urllib.request.urlopen(req, timeout=60))
            t1 = time.perf_counter()
            urllib.request.urlopen(base + meta["download_url"], timeout=60).read()
            t2 = time.perf_counter()
            if i:  # the first request warms the worker
                posts.append(t1 - t0)
                downloads.append(t2 - t1)
        return {"post_median_s": statistics.median(posts), "download_median_s": statistics.median(downloads)}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--durations", type=float, nargs="+", default=[10, 30, 120, 300])
    parser.add_argument("--engine", choices=["model", "markov"], default="model")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)

    import torch
    torch.set_num_threads(1)
    info = load_melodist(args.engine, DEFAULT_MODEL_PATH)
    ref = reference_workload_s()
    rows = []
    for style in STYLE_NAMES:
        for d in args.durations:
            r = time_pipeline(info.melodist, style, d, args.runs)
            rows.append(r)
            print(f"{style:11s} {d:6.0f}s  median {r['median_s'] * 1e3:8.1f} ms  RTF {r['rtf']:.4f}  "
                  f"{r['stages_ms']}", flush=True)
    mem = {s: peak_memory(args.engine, s, max(args.durations)) for s in STYLE_NAMES}
    http = None if args.no_http else time_http(args.runs)

    cmd = "python bench/bench_pipeline.py " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        "# Benchmark results", "",
        f"Command: `{cmd.strip()}`  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; melody engine: `{info.name}`  ",
        f"Reference NumPy workload: {ref * 1e3:.1f} ms (ratios below are pipeline time / reference).", "",
        "## In-process pipeline (median of %d runs, seeds vary)" % args.runs, "",
        "| style | duration s | median ms | real-time factor | / reference | plan | compose | render + mix |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        st = r["stages_ms"]
        lines.append(f"| {r['style']} | {r['duration']:.0f} | {r['median_s'] * 1e3:.0f} | {r['rtf']:.4f} | "
                     f"{r['median_s'] / ref:.1f} | {st['plan']:.1f} | {st['compose']:.1f} | {st['render_mix']:.0f} |")
    lines += ["", f"## Peak memory of one {max(args.durations):.0f} s generation", "",
              "Each in a fresh process that has imported torch and loaded the model, as a server worker has.", "",
              "| style | traced peak of the generation MB | RSS after loading MB | peak RSS MB |",
              "|---|---:|---:|---:|"]
    lines += [f"| {s} | {m[0]:.0f} | {m[1]:.0f} | {m[2]:.0f} |" for s, m in mem.items()]
    if http:
        lines += ["", "## Over HTTP (gunicorn, 30 s tracks, styles in turn, median of %d)" % args.runs, "",
                  f"- POST /api/generate: {http['post_median_s'] * 1e3:.0f} ms",
                  f"- GET download: {http['download_median_s'] * 1e3:.0f} ms"]
    kept = ""
    if args.output.exists():   # the sections other benchmarks wrote below the marker stay
        old = args.output.read_text()
        kept = old[old.index(KEPT_MARKER):] if KEPT_MARKER in old else ""
    args.output.write_text("\n".join(lines) + "\n" + ("\n" + kept if kept else ""))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
