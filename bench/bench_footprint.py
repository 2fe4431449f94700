"""Footprint of a serving process: import and load time, and RSS after one track.

Run from the project root::

    python bench/bench_footprint.py                 # median of 7 fresh processes
    python bench/bench_footprint.py --runs 5 --with-torch

Each run is a fresh Python process that imports the package, loads the melodist as the
service does (``aimusic.melodists.load_melodist``), generates one track and reports its
resident memory. ``--with-torch`` imports torch first, as a process that still depended
on it would, to show what torch alone costs.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import json, os, sys, time
t0 = time.perf_counter()
if {with_torch}:
    import torch
from aimusic.config import DEFAULT_MODEL_PATH
from aimusic.melodists import load_melodist
from aimusic.pipeline import GenerationRequest, generate
t1 = time.perf_counter()
info = load_melodist("model", DEFAULT_MODEL_PATH)
t2 = time.perf_counter()
generate(GenerationRequest(style={style!r}, duration={duration}, seed=1), info.melodist)
t3 = time.perf_counter()
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
kb = lambda key: int(status[key].split()[0])
print(json.dumps({{"import_s": t1 - t0, "load_s": t2 - t1, "generate_s": t3 - t2,
                  "rss_mb": kb("VmRSS") / 1024, "peak_rss_mb": kb("VmHWM") / 1024,
                  "torch": "torch" in sys.modules, "engine": info.name, "loaded": info.loaded}}))
"""


def run_once(*, with_torch: bool, style: str, duration: float) -> dict:
    """One fresh process: its timings, RSS and whether torch ended up imported."""
    code = _CHILD.format(with_torch=with_torch, style=style, duration=duration)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"benchmark process failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    """Run the processes and print the medians as a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--style", default="classical")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--with-torch", action="store_true", help="import torch first")
    args = parser.parse_args(argv)
    runs = [run_once(with_torch=args.with_torch, style=args.style, duration=args.duration)
            for _ in range(args.runs)]
    med = {k: statistics.median(r[k] for r in runs)
           for k in ("import_s", "load_s", "generate_s", "rss_mb", "peak_rss_mb")}
    print(f"engine {runs[0]['engine']} (loaded={runs[0]['loaded']}), torch imported: "
          f"{sorted({r['torch'] for r in runs})}, median of {args.runs} processes, "
          f"one {args.duration:.0f} s {args.style} track")
    print("| import s | load s | generate s | RSS after MB | peak RSS MB |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {med['import_s']:.3f} | {med['load_s']:.3f} | {med['generate_s']:.3f} | "
          f"{med['rss_mb']:.0f} | {med['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
