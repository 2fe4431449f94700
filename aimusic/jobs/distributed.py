"""The distributed job queue: Dramatiq over Redis (``BROKER_URL``), workers on any machines.

Web processes only send a message naming the job (after its row is committed); ``python
ai_music_system.py worker`` processes receive them and run :func:`~aimusic.jobs.runner.run_item`.
The database stays the source of truth: a message only says "look at job X", so a duplicate
is harmless (the claim fails) and a lost one is re-sent by any worker's sweeper, which also
re-sends jobs whose runner went silent (killed mid-job) and those queued while Redis was down
or restarted empty. Dramatiq acknowledges a message only after the job ran (at-least-once).

Dramatiq's Redis consumer polls; an idle one here instead waits on a pub/sub channel that
:meth:`DramatiqQueue.submit` notifies after sending, so a new job starts within a Redis round
trip while an idle worker looks at its queue about once a second (the channel is only a hint:
a lost notification costs at most that second).
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
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff

from .. import library
from ..config import Settings
from ..heap import limit_arenas
from ..service import TrackService, Unavailable
from .runner import run_item, worker_name

log = logging.getLogger("aimusic.jobs")

QUEUE_NAME = "aimusic"
ACTOR_NAME = "aimusic_run_item"
SWEEP_S = 2.0  # how often a worker looks for lost or orphaned jobs
REDIS_TIMEOUT_S = 3.0
# An idle worker waits for a sender's notification, looking at the queue anyway after a backoff
# capped here (a message whose notification was lost, or one Redis gave back from a dead worker).
IDLE_WAIT_MS = 1000
# A worker whose threads hold all the messages it may prefetch looks again this often: only an
# acknowledgement (a finished job) makes room, and no notification says so.
BUSY_POLL_MS = 10


def redact(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class _WakingConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer, but idle it waits on the queue's wake channel instead of polling.

    The base class fetches as before (prefetch, acknowledgements, Redis's own heartbeats); it is
    given an idle timeout of 0 so it never sleeps, and the wait happens here. Dramatiq is pinned
    (requirements), since this leans on how its consumer backs off.
    """

    def __init__(self, broker: "WakingRedisBroker", queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, 0)
        self.idle_ms = timeout
        self.idle_misses = 0
        self.pubsub: redis.client.PubSub | None = None
        self.subscribe_at = 0.0
        self._subscribe()

    def _subscribe(self) -> None:
        self.subscribe_at = time.monotonic() + self.idle_ms / 1000  # without the channel, try again this late
        try:
            pubsub = self.broker.client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(self.broker.wake_channel(self.queue_name))
            self.pubsub = pubsub
        except (redis.exceptions.RedisError, OSError):  # polled as Dramatiq does meanwhile
            self.pubsub = None

    def __next__(self):  # noqa: ANN204 - a MessageProxy or None
        message = super().__next__()
        if message is not None:
            self.idle_misses = 0
            return message
        if self.pubsub is None and time.monotonic() >= self.subscribe_at:
            self._subscribe()
        if self.pubsub is None or self.outstanding_message_count >= self.prefetch:
            self.idle_misses, wait_ms = compute_backoff(self.idle_misses, max_backoff=BUSY_POLL_MS)
            time.sleep(wait_ms / 1000)
            return None
        self.idle_misses, wait_ms = compute_backoff(self.idle_misses, max_backoff=self.idle_ms)
        try:
            if self.pubsub.get_message(timeout=wait_ms / 1000) is not None:
                self.idle_misses = 0
                while self.pubsub.get_message(timeout=0) is not None:  # one fetch serves every notification
                    pass
        except (redis.exceptions.RedisError, OSError):  # Redis went away: the next fetch reports it
            self._close_pubsub()
            time.sleep(BUSY_POLL_MS / 1000)
        return None

    def _close_pubsub(self) -> None:
        pubsub, self.pubsub = self.pubsub, None
        if pubsub is not None:
            try:
                pubsub.close()
            except (redis.exceptions.RedisError, OSError):
                pass

    def close(self) -> None:
        """Drop the wake channel's connection too."""
        self._close_pubsub()
        super().close()


class WakingRedisBroker(RedisBroker):
    """A Redis broker whose idle consumers are woken by a notification on their queue's channel."""

    @property
    def consumer_class(self):  # noqa: ANN201
        return _WakingConsumer

    def wake_channel(self, queue_name: str) -> str:
        """The pub/sub channel of a queue's notifications."""
        return f"{self.namespace}:{queue_name}:wake"

    def wake(self, queue_name: str) -> None:
        """Tell every idle consumer of ``queue_name`` to fetch now."""
        self.client.publish(self.wake_channel(queue_name), b"1")


def make_broker(url: str) -> WakingRedisBroker:
    """A Redis broker that fails fast when Redis is down (so the API can answer 503 at once).

    The timeouts go on the connection pool: given a URL, Dramatiq makes a pool of its own and
    the client's connection arguments would not reach it.
    """
    pool = redis.ConnectionPool.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S)
    return WakingRedisBroker(client=redis.Redis(connection_pool=pool), namespace="aimusic", heartbeat_timeout=30_000)


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
        """Send one message per request of the job, then wake idle workers; :class:`Unavailable` when Redis
        cannot be reached."""
        try:
            for index in indices:
                self.actor.send(job_id, index)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            log.error("job broker unreachable: %s", exc)
            raise Unavailable("the job broker is unreachable; try again shortly", retry_after=10) from None
        try:
            self.broker.wake(QUEUE_NAME)
        except (redis.exceptions.RedisError, OSError) as exc:  # the messages are sent: a worker's next look finds them
            log.warning("could not wake the job workers: %s", exc)

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
    limit_arenas()      # before Dramatiq's threads: they share two malloc arenas (aimusic/heap.py)
    queue = DramatiqQueue(settings, run=lambda job_id, index: run_item(service, job_id, index,
                                                                        worker=worker_name()))
    worker = dramatiq.Worker(queue.broker, queues={QUEUE_NAME}, worker_threads=threads or settings.worker_threads,
                             worker_timeout=IDLE_WAIT_MS)
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
