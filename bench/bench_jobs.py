"""Benchmark background jobs on real processes (gunicorn, workers, Redis, PostgreSQL); writes bench/JOBS.md.

Run from the project root::

    python bench/bench_jobs.py                 # 12 tracks of 30 s per configuration
    python bench/bench_jobs.py --tracks 6 --duration 10

Measures tracks per second for one batch with 1 worker x 1 thread, 1 worker x 2 threads and
2 workers x 1 thread on this machine, beside the same tracks made synchronously one after the
other in the same run (the baseline); and the queueing overhead of a job: its time from
submission to finished minus the render time its track reports, for one-request jobs on an
idle worker (median of several). Then an estimate of where a cluster saturates first.
"""
from __future__ import annotations

import argparse
import os
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOAD_AT_START = os.getloadavg()[0]  # other work on the machine slows every figure alike
sys.path.insert(0, str(ROOT))

from tests.deploy import Deployment  # noqa: E402
from tests.servers import postgres_server, redis_server  # noqa: E402


def _ts(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def wait(server, job_id: str) -> dict:
    while True:
        job = server.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.02)


def throughput(server, n: int, duration: float, seed: int) -> float:
    """Tracks per second for one batch of ``n`` tracks, from submission to the last one."""
    t0 = time.perf_counter()
    job = server.post_json("/api/jobs", {"requests": [{"style": "jazz", "duration": duration, "seed": seed + i}
                                                      for i in range(n)]}).json()
    done = wait(server, job["id"])
    assert done["status"] == "done" and len(done["tracks"]) == n, done
    return n / (time.perf_counter() - t0)


def sequential(server, n: int, duration: float, seed: int) -> float:
    """Tracks per second of the same work through POST /api/generate, one after another."""
    t0 = time.perf_counter()
    for i in range(n):
        assert server.post_json("/api/generate", {"style": "jazz", "duration": duration, "seed": seed + i}).status == 201
    return n / (time.perf_counter() - t0)


def overhead_ms(server, runs: int) -> list[float]:
    """Per one-request job: (finished - created) minus the render time of its track, in ms."""
    samples = []
    for i in range(runs):
        job = server.post_json("/api/jobs", {"style": "ambient", "duration": 1, "seed": i}).json()
        done = wait(server, job["id"])
        total = (_ts(done["finished_at"]) - _ts(done["created_at"])) * 1e3
        samples.append(total - done["tracks"][0]["generation_time_ms"])
    return samples


TX_PER_TRACK = 7


def write_tx_ms(url: str, runs: int = 30) -> float:
    """Median time of one library write transaction (a track and its file) on this database."""
    from aimusic import library
    from bench.bench_library import track

    db = library.open_library(url)
    samples = []
    for i in range(runs):
        info = track(10_000_000 + i)
        t0 = time.perf_counter()
        library.record_track(db, info)
        samples.append((time.perf_counter() - t0) * 1e3)
    db.dispose()
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=12)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--overhead-runs", type=int, default=15)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "JOBS.md")
    args = parser.parse_args(argv)
    rows: list[tuple[str, float]] = []
    with postgres_server() as pg, redis_server() as redis, tempfile.TemporaryDirectory() as tmp:
        pg.admin("CREATE DATABASE bench_jobs")
        app = Deployment(Path(tmp), pg.url("bench_jobs"), BROKER_URL=redis.url, WEB_CONCURRENCY="1",
                         MAX_CONCURRENT_GENERATIONS="4", KEEP_TRACKS="0")
        server = app.start()
        try:
            rows.append(("synchronous, one after another (baseline)", sequential(server, args.tracks, args.duration, 0)))
            configs = [("1 worker x 1 thread", [1]), ("1 worker x 2 threads", [2]), ("2 workers x 1 thread", [1, 1])]
            for name, threads in configs:
                workers = [app.worker(f"{name}-{i}".replace(" ", ""), WORKER_THREADS=str(t))
                           for i, t in enumerate(threads)]
                throughput(server, 2, 1.0, 900)  # warm the workers' caches
                rows.append((name, throughput(server, args.tracks, args.duration, 1000)))
                if name == "1 worker x 1 thread":
                    overhead = overhead_ms(server, args.overhead_runs)
                for worker in workers:
                    worker.stop()
                app.workers.clear()
            listed = server.get("/api/tracks?limit=1").json()["tracks"]
            track_bytes = len(server.get(listed[0]["download_url"]).body) / listed[0]["duration"] * args.duration
            tx_ms = write_tx_ms(pg.url("bench_jobs"))
        finally:
            app.close()
    base = rows[0][1]
    lines = ["# Jobs benchmark", "",
             f"`python bench/bench_jobs.py --tracks {args.tracks} --duration {args.duration:g}`: one batch of "
             f"{args.tracks} jazz tracks of {args.duration:g} s per configuration through gunicorn (1 web process), "
             "Redis and PostgreSQL on this machine (2 cores), workers started fresh for each configuration. "
             f"Load average at the start: {LOAD_AT_START:.1f} on {os.cpu_count()} cores.", "",
             "| configuration | tracks/s | audio s per s | vs. synchronous |", "|---|---|---|---|"]
    for name, rate in rows:
        lines.append(f"| {name} | {rate:.2f} | {rate * args.duration:.0f} | {rate / base:.2f}x |")
    med = statistics.median(overhead)
    lines += ["", f"Queueing overhead of a one-request job on an idle worker (submission to finished, minus the "
              f"track's own render time), {len(overhead)} jobs: median **{med:.1f} ms** "
              f"(min {min(overhead):.1f}, max {max(overhead):.1f}).", ""]
    per_core = max(rate for name, rate in rows[1:]) / 2  # tracks/s one core gives, from the best configuration
    store_mb = track_bytes / 1e6
    db_tracks = 1000.0 / (TX_PER_TRACK * tx_ms)
    lines += ["## Where a cluster saturates first", "",
              f"Measured here: one core makes {per_core:.2f} tracks of {args.duration:g} s per second; a track is "
              f"{store_mb:.1f} MB of WAV in the shared store; a write transaction on PostgreSQL takes {tx_ms:.2f} ms "
              f"(median of one connection), and a job request costs about {TX_PER_TRACK} of them (create, claim, "
              "heartbeats, record, finish) and one Redis message.", "",
              f"- **File store**: at 125 MB/s (a 1 Gbit/s NFS link) it takes {125 / store_mb:.0f} tracks/s, "
              f"reached by about {125 / store_mb / per_core:.0f} worker cores. This is the first limit; 10 Gbit/s "
              "or object storage moves it tenfold.",
              f"- **Database**: one connection's serial writes alone allow about {db_tracks:.0f} tracks/s "
              f"({db_tracks / per_core:.0f} cores); PostgreSQL runs connections in parallel, so several times that.",
              "- **Broker**: one message and its acknowledgement per request; Redis does about 10^5 such operations a "
              "second, far beyond the other two.", ""]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps({"overhead_ms": overhead}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
