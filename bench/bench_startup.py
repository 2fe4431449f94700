"""Cold start of the server: launch to the first ``/health`` 200, and worker memory after it.

Run from the project root (or give other project folders to compare, interleaved)::

    python bench/bench_startup.py                  # median of 5 starts, after one to warm the OS cache
    python bench/bench_startup.py --runs 5 . ../other-checkout

Each start is ``python -m gunicorn -c gunicorn.conf.py ai_music_system:app`` in a fresh
process on a free port with a temporary OUTPUT_DIR. That folder holds a copy of a library
already at the head revision (made once per project folder by ``ai_music_system.py db
upgrade``), as a server's restart finds it; ``--fresh-library`` starts on an empty folder
instead, as the very first start of a deployment does (the migrations run then). The
project's bytecode is compiled first (``compileall``, as the image does when it is built):
where ``PYTHONDONTWRITEBYTECODE`` is set, Python would otherwise compile the package again at
every start (``--no-compile`` measures that). Once
``/health`` answers 200 the workers are given a few seconds to finish starting, then their
RSS and PSS (resident memory with shared pages split between the processes sharing them)
are read from ``/proc``. ``--tracks N`` then asks for N tracks of 30 s, one after the other on
one connection (so one worker makes them all), of the same style (a different style at each
start) and each with its own seed: the first track after the start against the later ones,
whose caches the earlier tracks of the start filled.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
STYLES = ("classical", "jazz", "rock", "blues", "electronic", "ambient")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory_mb(pid: int) -> tuple[float, float]:
    """RSS and PSS of process ``pid`` in MB."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    pss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
               if line.startswith("Pss:"))
    return int(status["VmRSS"].split()[0]) / 1024, pss / 1024


def migrated_library(root: Path, folder: Path) -> Path:
    """``folder`` with the library of ``root``'s code at its head revision in it (``db upgrade``)."""
    env = {**os.environ, "OUTPUT_DIR": str(folder)}
    subprocess.run([sys.executable, "ai_music_system.py", "db", "upgrade"], cwd=root, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return folder


def track_seconds(port: int, style: str, seeds: list[int]) -> list[float]:
    """Seconds for each 30 s track of ``style`` (one per seed), asked one after the other on one connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    times = []
    try:
        for seed in seeds:
            body = json.dumps({"style": style, "duration": 30, "seed": seed})
            t0 = time.perf_counter()
            conn.request("POST", "/api/generate", body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 201:
                raise RuntimeError(f"generate answered {resp.status}")
            times.append(time.perf_counter() - t0)
    finally:
        conn.close()
    return times


def compile_bytecode(root: Path) -> None:
    """The bytecode of ``root``'s package and entry point, as the image's build writes it."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", "aimusic", "ai_music_system.py"], cwd=root, check=True,
                   stdout=subprocess.DEVNULL)


def start_once(root: Path, *, settle_s: float = 4.0, library: Path | None = None, tracks: int = 0,
               run: int = 0) -> dict:
    """Start the server in ``root``: seconds to the first 200, master and worker memory, and track times.

    ``library``: a folder whose ``library.sqlite3*`` files are copied into the output folder first.
    ``tracks``: how many tracks to time after the start (of style ``STYLES[run % 6]``).
    """
    with tempfile.TemporaryDirectory() as output:
        for path in sorted(library.glob("library.sqlite3*")) if library else ():
            shutil.copy2(path, output)
        return _measure(root, output, settle_s=settle_s, tracks=tracks, run=run)


def wait_for_health(port: int, proc: subprocess.Popen, failure: Callable[[], str], *, poll_s: float = 0.005) -> None:
    """Return once ``/health`` on ``port`` answers 200; raise with ``failure()`` if ``proc`` exits first."""
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(failure())
        time.sleep(poll_s)


def _measure(root: Path, output: str, *, settle_s: float, tracks: int, run: int) -> dict:
    port = _free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "OUTPUT_DIR": output}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "ai_music_system:app"],
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_health(port, proc, lambda: f"the server in {root} exited with {proc.returncode}")
        seconds = time.perf_counter() - t0
        time.sleep(settle_s)
        workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        result = {"seconds": seconds, "master": memory_mb(proc.pid), "workers": [memory_mb(int(w)) for w in workers]}
        if tracks:
            result["tracks"] = track_seconds(port, STYLES[run % len(STYLES)], [1000 * run + k for k in range(tracks)])
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    """Start each project folder ``--runs`` times, interleaved, and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="*", type=Path, default=[ROOT])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fresh-library", action="store_true", help="start on an empty output folder")
    parser.add_argument("--tracks", type=int, default=0, help="time this many 30 s tracks after each start")
    parser.add_argument("--no-compile", action="store_true", help="leave the project's bytecode as it is")
    args = parser.parse_args(argv)
    for root in args.roots if not args.no_compile else ():
        compile_bytecode(root)
    with tempfile.TemporaryDirectory() as tmp:
        libraries = {root: None if args.fresh_library else migrated_library(root, Path(tmp) / str(i))
                     for i, root in enumerate(args.roots)}
        loads = [os.getloadavg()[0]]
        start_once(args.roots[0], library=libraries[args.roots[0]])      # warm the OS cache
        results: dict[Path, list[dict]] = {root: [] for root in args.roots}
        for run in range(args.runs):
            for root in args.roots:
                results[root].append(start_once(root, library=libraries[root], tracks=args.tracks, run=run))
                loads.append(os.getloadavg()[0])
    print(f"load average {statistics.median(loads):.1f} (from {min(loads):.1f} to {max(loads):.1f}); "
          f"median of {args.runs} starts each, {'an empty output folder' if args.fresh_library else 'a library at the head revision'}"
          f"{', bytecode as found' if args.no_compile else ', bytecode compiled'}")
    print("| project | launch to /health 200 s | worker RSS MB | worker PSS MB | master RSS MB |")
    print("|---|---:|---:|---:|---:|")
    for root, runs in results.items():
        workers = [w for r in runs for w in r["workers"]]
        print(f"| {root} | {statistics.median(r['seconds'] for r in runs):.2f} | "
              f"{statistics.median(w[0] for w in workers):.0f} | {statistics.median(w[1] for w in workers):.0f} | "
              f"{statistics.median(r['master'][0] for r in runs):.0f} |")
    if args.tracks > 1:
        print(f"\n30 s tracks after each start (style {', '.join(STYLES[:args.runs])}, one per start), medians:")
        print("| project | first track s | later tracks s | first / later (median per start) |")
        print("|---|---:|---:|---:|")
        for root, runs in results.items():
            first = [r["tracks"][0] for r in runs]
            later = [statistics.median(r["tracks"][1:]) for r in runs]
            ratio = [f / lt for f, lt in zip(first, later)]
            print(f"| {root} | {statistics.median(first):.2f} | {statistics.median(later):.2f} | "
                  f"{statistics.median(ratio):.2f} |")


if __name__ == "__main__":
    main()
