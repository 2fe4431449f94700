"""Jobs on real processes: gunicorn web, `worker` processes, a real Redis and PostgreSQL (distributed),
and the embedded queue on SQLite with the same tests: batches, kill -9 mid-job, restarts, broker down.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from typing import Iterator

import pytest

from aimusic.jobs.runner import job_track_id

from .conftest import LiveServer, fresh_database_url
from .deploy import Deployment
from .servers import start_redis, stop_redis

pytestmark = pytest.mark.slow

FAST = {"WARM_UP": "0", "JOB_STALE_S": "3"}


class Cluster:
    """A deployment in one of the two modes, with the servers it needs."""

    def __init__(self, mode: str, tmp_path, postgres) -> None:
        self.mode = mode
        self.redis = start_redis() if mode == "distributed" else None
        url = fresh_database_url("postgresql" if mode == "distributed" else "sqlite", tmp_path, postgres)
        env = dict(FAST)
        if self.redis is not None:
            env["BROKER_URL"] = self.redis.url
        self.app = Deployment(tmp_path, url, **env)

    def start(self, workers: int = 2, **env: str) -> LiveServer:
        """The web server, and in distributed mode ``workers`` worker processes."""
        self.app.env.update(env)
        server = self.app.start()
        if self.mode == "distributed":
            for n in range(workers):
                self.app.worker(f"{len(self.app.workers)}")
        return server

    def restart_redis(self) -> None:
        assert self.redis is not None
        port = self.redis.port
        stop_redis(self.redis)
        self.redis = start_redis(port, self.redis.folder)

    def close(self) -> None:
        self.app.close()
        if self.redis is not None:
            stop_redis(self.redis)


@pytest.fixture(params=["embedded", "distributed"])
def cluster(request, tmp_path) -> Iterator[Cluster]:
    postgres = request.getfixturevalue("postgres") if request.param == "distributed" else None
    made = Cluster(request.param, tmp_path, postgres)
    yield made
    made.close()


def submit(server: LiveServer, requests: list[dict]) -> dict:
    response = server.post_json("/api/jobs", {"requests": requests})
    assert response.status == 202, response.body
    return response.json()


def wait_for(server: LiveServer, job_id: str, timeout: float = 240.0) -> dict:
    deadline = time.monotonic() + timeout
    job: dict = {}
    while time.monotonic() < deadline:
        try:
            job = server.get(f"/api/jobs/{job_id}").json()
        except OSError:  # a worker process was just killed under this connection
            time.sleep(0.2)
            continue
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job did not end: {job}")


def test_a_batch_of_20_spreads_over_the_workers(cluster):
    server = cluster.start(workers=2)
    job = submit(server, [{"style": style, "duration": 1, "seed": i}
                          for i, style in enumerate(["jazz", "rock", "blues", "ambient"] * 5)])
    events = server.get(f"/api/jobs/{job['id']}/events")
    assert events.headers["content-type"].startswith("text/event-stream")
    bodies = [json.loads(line[6:]) for line in events.body.decode().splitlines() if line.startswith("data: ")]
    progress = [b["progress"] for b in bodies]
    assert progress == sorted(progress) and bodies[-1]["status"] == "done"
    done = wait_for(server, job["id"])
    assert done["status"] == "done" and done["errors"] == []
    assert [t["id"] for t in done["tracks"]] == [job_track_id(job["id"], i) for i in range(20)]
    assert [t["seed"] for t in done["tracks"]] == list(range(20))
    for track in done["tracks"][:3]:
        assert server.get(track["download_url"]).status == 200
    if cluster.mode == "distributed":
        made = [w.log().count("generated ") for w in cluster.app.workers]
        assert sum(made) == 20 and min(made) >= 3, f"both workers took requests: {made}"


def test_a_worker_killed_mid_job_is_replaced_and_nothing_is_recorded_twice(cluster):
    server = cluster.start(workers=2)
    # the first request is short, the rest long: once it is done, the other runner is well into a
    # long one and this one has started the next, so the kill finds renders in flight however fast
    # the machine (two equal requests end together, and a kill between them finds none)
    job = submit(server, [{"style": "classical", "duration": 2 if i == 0 else 30, "seed": i} for i in range(6)])
    deadline = time.monotonic() + 120
    while server.get(f"/api/jobs/{job['id']}").json()["progress"] <= 0.0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    if cluster.mode == "distributed":  # every worker dies mid-render; a new one takes over
        for worker in list(cluster.app.workers):
            worker.kill()
        replacement = cluster.app.worker("replacement")
    else:  # the gunicorn worker processes running the job die; the master starts new ones
        for pid in _worker_pids(cluster.app):
            os.kill(int(pid), signal.SIGKILL)
    done = wait_for(server, job["id"])
    log = replacement.log() if cluster.mode == "distributed" else cluster.app.log_path.read_text()
    assert "taken over" in log, "a request the dead runner held was run again"
    assert done["status"] == "done", done
    assert [t["id"] for t in done["tracks"]] == [job_track_id(job["id"], i) for i in range(6)]
    listed = [t["id"] for t in server.get("/api/tracks?limit=100").json()["tracks"]]
    assert sorted(listed) == sorted(t["id"] for t in done["tracks"]), "each track recorded once"


def _worker_pids(app: Deployment) -> list[str]:
    """The gunicorn worker processes of the deployment (children of the master)."""
    assert app.proc is not None
    out = subprocess.run(["pgrep", "-P", str(app.proc.pid)], capture_output=True, text=True).stdout
    return out.split()


def test_jobs_queued_before_a_full_restart_still_run(cluster):
    # Queue while nothing can run them (no workers; embedded runners off), then restart everything.
    server = cluster.start(workers=0, JOB_THREADS="0")
    job = submit(server, [{"style": "electronic", "duration": 1, "seed": i} for i in range(3)])
    time.sleep(1)
    assert server.get(f"/api/jobs/{job['id']}").json()["status"] == "queued"
    cluster.app.stop()
    if cluster.mode == "distributed":
        cluster.restart_redis()  # an empty broker: the messages are gone, the database remembers
    server = cluster.start(workers=1, JOB_THREADS="1")
    done = wait_for(server, job["id"])
    assert done["status"] == "done" and len(done["tracks"]) == 3


@pytest.fixture
def distributed(tmp_path, postgres) -> Iterator[Cluster]:
    made = Cluster("distributed", tmp_path, postgres)
    yield made
    made.close()


def test_the_broker_down_is_a_503_and_the_service_recovers(distributed):
    cluster = distributed
    server = cluster.start(workers=1)
    assert server.get("/health").json()["jobs"] == {"backend": "redis", "ok": True}
    port, folder = cluster.redis.port, cluster.redis.folder
    stop_redis(cluster.redis)
    refused = server.post_json("/api/jobs", {"style": "jazz", "duration": 1})
    assert refused.status == 503 and refused.json()["error"]["code"] == "unavailable"
    assert int(refused.headers["retry-after"]) > 0
    health = server.get("/health")
    assert health.status == 503 and "broker" in health.json()["reason"]
    assert server.get("/api/jobs").json()["jobs"] == [], "a job that could not be queued is not kept"
    assert server.post_json("/api/generate", {"style": "jazz", "duration": 1}).status == 201, "sync still works"
    cluster.redis = start_redis(port, folder)
    assert server.get("/health").status == 200
    job = submit(server, [{"style": "jazz", "duration": 1}])
    assert wait_for(server, job["id"])["status"] == "done"
