"""Benchmark background jobs on real processes (gunicorn, workers, Redis, PostgreSQL); writes bench/JOBS.md.

Run from the project root::

    python bench/bench_jobs.py                 # 12 tracks of 30 s per configuration
    python bench/bench_jobs.py --tracks 6 --duration 10

Measures tracks per second for one batch with 1 worker x 1 thread, 1 worker x 2 threads and
2 workers x 1 thread on this machine, beside the same tracks made synchronously one after the
other in the same run (the baseline); and the queueing overhead of a job: its time from
submission to finished minus the render time its track reports, for one-request jobs on an
idle worker (several rounds), with its stages, on the distributed path and on the embedded
one. Then an estimate of where a cluster saturates first.

The overhead comes from the job's own timestamps (created, started, finished, the track's
created and render time), so how the client learns of the end does not count in it; the client
follows the job's events stream, as the web page does, and when it saw the end is reported as
a stage of its own (the stream looks at the job every 0.25 s, ``EVENT_POLL_S``).
"""
from __future__ import annotations

import argparse
import http.client
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


def follow(server, job_id: str) -> tuple[dict, float]:
    """Read the job's events stream until its end event: the job then, and when the client saw it."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=120)
    try:
        conn.request("GET", f"/api/jobs/{job_id}/events")
        response = conn.getresponse()
        event = None
        while line := response.readline():
            if line.startswith(b"event: "):
                event = line[7:].strip()
            elif line.startswith(b"data: ") and event == b"end":
                return json.loads(line[6:]), time.time()
        raise RuntimeError(f"the events stream of job {job_id} ended without its end")
    finally:
        conn.close()


STAGES = [("submit", "POST sent -> job created (request, validation, rate check, broker ping)"),
          ("queue", "created -> started (create transaction, enqueue, delivery, claim)"),
          ("prepare", "started -> render starts (claim commits, request validated, folder checked)"),
          ("render", "render: the track's own generation time (slot, render, WAV written)"),
          ("finish", "render ends -> finished (track recorded, item and job finished)"),
          ("notice", "finished -> client sees the end event (events stream)")]


def overhead(server, runs: int, seed: int = 0) -> list[dict[str, float]]:
    """Per one-request job on an idle worker: its stages in ms, and ``overhead`` = finished - created - render."""
    samples = []
    for i in range(runs):
        sent = time.time()
        job = server.post_json("/api/jobs", {"style": "ambient", "duration": 1, "seed": seed + i}).json()
        done, seen = follow(server, job["id"])
        assert done["status"] == "done", done
        created, started, finished = (_ts(done[k]) for k in ("created_at", "started_at", "finished_at"))
        track = done["tracks"][0]
        render = track["generation_time_ms"] / 1e3
        rendered = _ts(track["created_at"])  # stamped as the track is recorded, just after its render
        stages = {"submit": created - sent, "queue": started - created, "prepare": rendered - render - started,
                  "render": render, "finish": finished - rendered, "notice": seen - finished,
                  "overhead": finished - created - render}
        samples.append({k: v * 1e3 for k, v in stages.items()})
        time.sleep(0.3)  # the worker idle again, as a lone job finds it
    return samples


def overhead_rounds(server, rounds: int, runs: int) -> tuple[float, list[list[dict[str, float]]]]:
    """The load average, then ``rounds`` rounds of ``runs`` jobs, after two jobs that warm the runner up."""
    overhead(server, 2, seed=10_000)
    load = os.getloadavg()[0]
    return load, [overhead(server, runs, seed=r * runs) for r in range(rounds)]


TX_PER_TRACK = 3  # create, claim, finish (with the track); a render beats once per 2 s beyond that


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
    parser.add_argument("--overhead-runs", type=int, default=20, help="one-request jobs per round")
    parser.add_argument("--overhead-rounds", type=int, default=3)
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
                    paths = {"distributed": overhead_rounds(server, args.overhead_rounds, args.overhead_runs)}
                for worker in workers:
                    worker.stop()
                app.workers.clear()
            listed = server.get("/api/tracks?limit=1").json()["tracks"]
            track_bytes = len(server.get(listed[0]["download_url"]).body) / listed[0]["duration"] * args.duration
            tx_ms = write_tx_ms(pg.url("bench_jobs"))
        finally:
            app.close()
        # The embedded path: the same server without a broker, one runner thread in its one process.
        pg.admin("CREATE DATABASE bench_jobs_embedded")
        (Path(tmp) / "embedded").mkdir()
        embedded = Deployment(Path(tmp) / "embedded", pg.url("bench_jobs_embedded"), WEB_CONCURRENCY="1",
                              JOB_THREADS="1", MAX_CONCURRENT_GENERATIONS="4", KEEP_TRACKS="0")
        try:
            paths["embedded"] = overhead_rounds(embedded.start(), args.overhead_rounds, args.overhead_runs)
        finally:
            embedded.close()
    base = rows[0][1]
    lines = ["# Jobs benchmark", "",
             f"`python bench/bench_jobs.py --tracks {args.tracks} --duration {args.duration:g} --overhead-runs "
             f"{args.overhead_runs} --overhead-rounds {args.overhead_rounds}`: one batch of "
             f"{args.tracks} jazz tracks of {args.duration:g} s per configuration through gunicorn (1 web process), "
             "Redis and PostgreSQL on this machine (2 cores), workers started fresh for each configuration. "
             f"Load average at the start: {LOAD_AT_START:.1f} on {os.cpu_count()} cores.", "",
             "| configuration | tracks/s | audio s per s | vs. synchronous |", "|---|---|---|---|"]
    for name, rate in rows:
        lines.append(f"| {name} | {rate:.2f} | {rate * args.duration:.0f} | {rate / base:.2f}x |")
    lines += [""]
    loads = {path: load for path, (load, _) in paths.items()}
    paths = {path: rounds for path, (_, rounds) in paths.items()}
    for path, rounds in paths.items():
        values = [s["overhead"] for r in rounds for s in r]
        per_round = ", ".join(f"{statistics.median(s['overhead'] for s in r):.1f}" for r in rounds)
        where = ("gunicorn, Redis, PostgreSQL and one worker process of one thread" if path == "distributed"
                 else "one gunicorn process running the jobs in its one runner thread, on PostgreSQL")
        lines.append(f"Queueing overhead of a one-request job on an idle worker, {path} ({where}; submission to "
                     f"finished, minus the track's own render time), {len(rounds)} rounds of "
                     f"{len(rounds[0])} jobs: median **{statistics.median(values):.1f} ms** (min {min(values):.1f}, "
                     f"max {max(values):.1f}; the rounds' medians {per_round}; load average {loads[path]:.1f} "
                     "as it began).")
        lines.append("")
    lines += ["Its stages (median ms over every job; the overhead is queue + prepare + finish):", "",
              "| stage | " + " | ".join(paths) + " |", "|---|" + "---|" * len(paths)]
    for key, label in STAGES:
        lines.append(f"| {label} | " + " | ".join(
            f"{statistics.median(s[key] for r in rounds for s in r):.1f}" for rounds in paths.values()) + " |")
    lines.append("")
    per_core = max(rate for name, rate in rows[1:]) / 2  # tracks/s one core gives, from the best configuration
    store_mb = track_bytes / 1e6
    db_tracks = 1000.0 / (TX_PER_TRACK * tx_ms)
    lines += ["## Where a cluster saturates first", "",
              f"Measured here: one core makes {per_core:.2f} tracks of {args.duration:g} s per second; a track is "
              f"{store_mb:.1f} MB of WAV in the shared store; a write transaction on PostgreSQL takes {tx_ms:.2f} ms "
              f"(median of one connection), and a job request costs about {TX_PER_TRACK} of them (create, claim, "
              "finish with the track; one heartbeat per 2 s of render beyond) and one Redis message and notification.", "",
              f"- **File store**: at 125 MB/s (a 1 Gbit/s NFS link) it takes {125 / store_mb:.0f} tracks/s, "
              f"reached by about {125 / store_mb / per_core:.0f} worker cores. This is the first limit; 10 Gbit/s "
              "or object storage moves it tenfold.",
              f"- **Database**: one connection's serial writes alone allow about {db_tracks:.0f} tracks/s "
              f"({db_tracks / per_core:.0f} cores); PostgreSQL runs connections in parallel, so several times that.",
              "- **Broker**: one message and its acknowledgement per request, one notification per job; Redis does about 10^5 "
              "such operations a "
              "second, far beyond the other two.", ""]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps({path: [[round(s["overhead"], 2) for s in r] for r in rounds] for path, rounds in paths.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
