"""Load on the real service: concurrent POST /api/generate against gunicorn.

Starts ``gunicorn -c gunicorn.conf.py ai_music_system:app`` on a free port with a temporary
OUTPUT_DIR, fires ``--clients`` requests at once (``--rounds`` times), and reports latency
percentiles and how many were served (201) or turned away (503) by the generation limit.
With ``--seconds S`` each client instead posts one request after another for S seconds (a
sustained load: tracks per second is the throughput). The workers' resident memory is read
after the start (once the first /health answers and the warm-up has settled) and at rest
after the load.

    python bench/bench_web_load.py --clients 6 --rounds 2 --duration 10 --max-concurrent 2
    python bench/bench_web_load.py --clients 4 --seconds 60 --duration 30 --max-concurrent 4
    python bench/bench_web_load.py --clients 4 --seconds 40 --duration 30 --max-concurrent 4 \\
        --compare /path/to/other/checkout --repeats 3       # servers taking turns: the ratio of medians
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(port: int, payload: dict) -> tuple[int, float]:
    body = json.dumps(payload).encode()
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("POST", "/api/generate", body, {"Content-Type": "application/json"})
    status = conn.getresponse().status
    conn.close()
    return status, time.perf_counter() - t0


def _worker_rss_mb(master: int, field: str = "VmRSS") -> list[float]:
    """Resident memory of each child process of ``master`` (the gunicorn workers), in MB.

    ``field`` "VmHWM" gives each worker's peak resident memory since it was forked instead.
    """
    from soak import children, proc_status   # bench/soak.py reads /proc for its memory samples

    return [proc_status(pid).get(field, 0) / 1024 for pid in children(master)]


def _sustained(port: int, clients: int, seconds: float, duration: float) -> list[tuple[int, float]]:
    """Each client posts one request after another until ``seconds`` have passed."""
    styles = ["classical", "jazz", "rock", "blues", "electronic", "ambient"]
    end = time.perf_counter() + seconds

    def client(i: int) -> list[tuple[int, float]]:
        done, k = [], 0
        while time.perf_counter() < end:
            done.append(_post(port, {"style": styles[(i + k) % 6], "duration": duration, "seed": 100 * i + k}))
            k += 1
        return done

    with ThreadPoolExecutor(clients) as pool:
        return [r for rs in pool.map(client, range(clients)) for r in rs]


def _load_once(root: Path, args: argparse.Namespace) -> dict:
    """Start the server of the checkout at ``root``, run the load, stop it: results and memory."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "OUTPUT_DIR": tmp,
               "MAX_CONCURRENT_GENERATIONS": str(args.max_concurrent), "WEB_CONCURRENCY": str(args.workers),
               "LOG_LEVEL": "WARNING"}
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(root / "gunicorn.conf.py"),
                                 "ai_music_system:app"], cwd=root, env=env)
        try:
            for _ in range(600):
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    conn.request("GET", "/health")
                    if conn.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.2)
            time.sleep(args.settle)
            rss_start = _worker_rss_mb(proc.pid)
            styles = ["classical", "jazz", "rock", "blues", "electronic", "ambient"]
            results: list[tuple[int, float]] = []
            t0 = time.perf_counter()
            if args.seconds:
                results = _sustained(port, args.clients, args.seconds, args.duration)
            else:
                with ThreadPoolExecutor(args.clients) as pool:
                    for r in range(args.rounds):
                        payloads = [{"style": styles[(r * args.clients + i) % 6], "duration": args.duration,
                                     "seed": i} for i in range(args.clients)]
                        results += list(pool.map(lambda p: _post(port, p), payloads))
            wall = time.perf_counter() - t0
            time.sleep(args.settle)
            rss_rest = _worker_rss_mb(proc.pid)
            rss_peak = _worker_rss_mb(proc.pid, "VmHWM")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    return {"results": results, "wall": wall, "rss_start": rss_start, "rss_rest": rss_rest,
            "rss_peak": rss_peak}


def _report(run: dict, args: argparse.Namespace) -> float:
    """Print one run's summary lines; return its tracks per second."""
    results, wall = run["results"], run["wall"]
    ok = np.array([t for s, t in results if s == 201])
    busy = sum(1 for s, _ in results if s == 503)
    other = sorted({s for s, _ in results if s not in (201, 503)})
    print(f"- served 201: {ok.size}, turned away 503: {busy}, other: {other or 'none'}")
    if ok.size:
        print(f"- latency of served requests: p50 {np.percentile(ok, 50) * 1e3:.0f} ms, "
              f"p95 {np.percentile(ok, 95) * 1e3:.0f} ms, max {ok.max() * 1e3:.0f} ms")
    print(f"- wall time {wall:.1f} s, {ok.size / wall:.2f} tracks/s, {ok.size * args.duration / wall:.1f} s of audio "
          "per second")
    print(f"- worker RSS after the start: {', '.join(f'{r:.0f}' for r in run['rss_start'])} MB; at rest after the "
          f"load: {', '.join(f'{r:.0f}' for r in run['rss_rest'])} MB; peak: "
          f"{', '.join(f'{r:.0f}' for r in run['rss_peak'])} MB")
    return ok.size / wall


def main() -> None:
    """Run the load test (alternating with another checkout's server when asked) and print a Markdown summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--max-concurrent", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=0.0, help="sustained load for this long instead of rounds")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds to wait before each memory reading")
    parser.add_argument("--compare", type=Path, help="another checkout: its server and this one's take turns")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each checkout (taking turns with --compare)")
    args = parser.parse_args()

    shape = f"{args.seconds:g} s sustained" if args.seconds else f"{args.rounds} rounds"
    print(f"## Load: {args.clients} concurrent clients, {shape}, {args.duration:g} s tracks, "
          f"{args.workers} workers, MAX_CONCURRENT_GENERATIONS={args.max_concurrent}\n")
    roots = {"this checkout": ROOT} | ({f"{args.compare}": args.compare.resolve()} if args.compare else {})
    rates: dict[str, list[float]] = {name: [] for name in roots}
    for k in range(args.repeats):
        for name, root in roots.items():
            print(f"### {name}, run {k + 1}\n")
            rates[name].append(_report(_load_once(root, args), args))
            print()
    if args.repeats > 1 or args.compare:
        medians = {name: float(np.median(r)) for name, r in rates.items()}
        for name, median in medians.items():
            print(f"- {name}: median {median:.2f} tracks/s over {len(rates[name])} runs "
                  f"({', '.join(f'{r:.2f}' for r in rates[name])})")
        if args.compare:
            this, other = medians.values()
            print(f"- this checkout / {args.compare}: {this / other:.2f}x (medians, runs taking turns)")


if __name__ == "__main__":
    main()
