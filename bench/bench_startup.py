"""Cold start of the server: launch to the first ``/health`` 200, and worker memory after it.

Run from the project root (or give other project folders to compare, interleaved)::

    python bench/bench_startup.py                  # median of 5 starts, after one to warm the OS cache
    python bench/bench_startup.py --runs 5 . ../other-checkout

Each start is ``python -m gunicorn -c gunicorn.conf.py ai_music_system:app`` in a fresh
process on a free port with a temporary OUTPUT_DIR. Once ``/health`` answers 200 the
workers are given a few seconds to finish starting, then their RSS and PSS (resident memory
with shared pages split between the processes sharing them) are read from ``/proc``.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


def start_once(root: Path, *, settle_s: float = 4.0) -> dict:
    """Start the server in ``root``: seconds to the first 200, and master and worker memory."""
    port = _free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "OUTPUT_DIR": tempfile.mkdtemp()}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "ai_music_system:app"],
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"the server in {root} exited with {proc.returncode}")
            time.sleep(0.01)
        seconds = time.perf_counter() - t0
        time.sleep(settle_s)
        workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        return {"seconds": seconds, "master": memory_mb(proc.pid), "workers": [memory_mb(int(w)) for w in workers]}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    """Start each project folder ``--runs`` times, interleaved, and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="*", type=Path, default=[ROOT])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    start_once(args.roots[0])                                   # warm the OS cache
    results: dict[Path, list[dict]] = {root: [] for root in args.roots}
    for _ in range(args.runs):
        for root in args.roots:
            results[root].append(start_once(root))
    print(f"load average {os.getloadavg()[0]:.1f}; median of {args.runs} starts each")
    print("| project | launch to /health 200 s | worker RSS MB | worker PSS MB | master RSS MB |")
    print("|---|---:|---:|---:|---:|")
    for root, runs in results.items():
        workers = [w for r in runs for w in r["workers"]]
        print(f"| {root} | {statistics.median(r['seconds'] for r in runs):.2f} | "
              f"{statistics.median(w[0] for w in workers):.0f} | {statistics.median(w[1] for w in workers):.0f} | "
              f"{statistics.median(r['master'][0] for r in runs):.0f} |")


if __name__ == "__main__":
    main()
