"""The distributed job queue: Dramatiq over Redis (``BROKER_URL``), workers on any machines.

Web processes only send a message naming the job (after its row is committed); ``python
ai_music_system.py worker`` processes receive them and run :func:`~aimusic.jobs.runner.run_item`.
The database stays the source of truth: a message only says "look at job X", so a duplicate
is harmless (the claim fails) and a lost one is re-sent by any worker's sweeper, which also
re-sends jobs whose runner went silent (killed mid-job) and those queued while Redis was down
or restarted empty. Dramatiq acknowledges a message only after the job ran (at-least-once).
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from .. import library
from ..config import Settings
from ..service import TrackService, Unavailable
from .runner import run_item, worker_name

log = logging.getLogger("aimusic.jobs")

QUEUE_NAME = "aimusic"
ACTOR_NAME = "aimusic_run_item"
SWEEP_S = 2.0  # how often a worker looks for lost or orphaned jobs
REDIS_TIMEOUT_S = 3.0
# An idle worker polls Redis with a backoff capped here: the latency a new job waits at most,
# against a few dozen cheap Redis calls a second per idle worker.
IDLE_POLL_MS = 10


def redact(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def make_broker(url: str) -> RedisBroker:
    """A Redis broker that fails fast when Redis is down (so the API can answer 503 at once)."""
    return RedisBroker(url=url, namespace="aimusic", socket_connect_timeout=REDIS_TIMEOUT_S,
                       socket_timeout=REDIS_TIMEOUT_S, retry_on_timeout=False, heartbeat_timeout=30_000)


class DramatiqQueue:
    """Sends jobs to Redis; in a worker process, also runs them.

    Parameters
    ----------
    settings : Settings
        ``broker_url`` and the job time limit.
    run : callable, optional
        What a worker does with a job id; web processes never run jobs.
    """

    backend = "redis"

    def __init__(self, settings: Settings, run: Callable[[str, int], object] | None = None) -> None:
        self.settings = settings
        self.broker = make_broker(settings.broker_url)
        time_limit_ms = int((settings.job_time_limit_s + 60) * 1000)  # ours fails the job first, with a reason

        def aimusic_run_item(job_id: str, index: int) -> None:
            if run is None:
                raise RuntimeError("this process only sends jobs")
            run(job_id, index)

        self.actor = dramatiq.Actor(aimusic_run_item, broker=self.broker, actor_name=ACTOR_NAME,
                                    queue_name=QUEUE_NAME, priority=0,
                                    options={"max_retries": 0, "time_limit": time_limit_ms})

    def start(self) -> None:
        """Nothing runs here: workers are processes of their own."""

    def stop(self, timeout: float = 5.0) -> None:
        """Close the connection pool."""
        self.broker.close()

    def submit(self, job_id: str, indices: range | list[int] = range(1)) -> None:
        """Send one message per request of the job; :class:`Unavailable` when Redis cannot be reached."""
        try:
            for index in indices:
                self.actor.send(job_id, index)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            log.error("job broker unreachable: %s", exc)
            raise Unavailable("the job broker is unreachable; try again shortly", retry_after=10) from None

    def health(self) -> tuple[bool, str | None]:
        """Whether Redis answers a PING."""
        try:
            self.broker.client.ping()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            return False, f"job broker unreachable: {type(exc).__name__}"
        return True, None


def sweep(service: TrackService, queue: DramatiqQueue) -> int:
    """Re-send jobs whose message may be lost or whose runner went silent; how many were sent."""
    settings = service.settings
    library.jobs.settle_abandoned(service.db, stale_s=settings.job_stale_s)
    # A request queued for longer than the staleness limit without a runner taking it may have
    # lost its message (Redis restarted empty, a web process died before sending): send it again.
    items = library.jobs.unsent_items(service.db, older_than_s=settings.job_stale_s, stale_s=settings.job_stale_s)
    for job_id, index in items:
        queue.submit(job_id, [index])
    library.jobs.mark_enqueued(service.db, items)
    if items:
        log.warning("re-sent %d job requests whose message was lost or whose runner went silent", len(items))
    return len(items)


def run_worker(service: TrackService, *, threads: int | None = None,
               ready: Callable[[], None] | None = None) -> int:
    """Serve jobs from Redis until SIGTERM or SIGINT: Dramatiq's worker threads plus a sweeper."""
    settings = service.settings
    queue = DramatiqQueue(settings, run=lambda job_id, index: run_item(service, job_id, index,
                                                                        worker=worker_name()))
    worker = dramatiq.Worker(queue.broker, queues={QUEUE_NAME}, worker_threads=threads or settings.worker_threads,
                             worker_timeout=IDLE_POLL_MS)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    log.info("worker %s serving jobs from %s with %d threads", worker_name(), redact(settings.broker_url),
             worker.worker_threads)
    if ready is not None:
        ready()
    try:
        while not stop.wait(SWEEP_S):
            try:
                sweep(service, queue)
            except Exception as exc:  # Redis or the database down: the next sweep tries again
                log.error("sweep failed: %s", exc)
    finally:
        worker.stop(timeout=10_000)
        queue.stop()
    return 0
