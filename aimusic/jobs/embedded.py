"""The embedded job queue: no extra server; the queue is the jobs table, the work runs in this process.

Each serving process runs ``JOB_THREADS`` runner threads (started after the fork, never in the
gunicorn master). A runner takes the oldest runnable request from the database (queued, or
running with a silent runner: its process died), so jobs queued before a restart run after it,
and any process may finish a job another began. An idle runner (nothing was runnable when it
last looked) takes a request just submitted in its own process without that scan. Tracks still
take a generation slot, so jobs and synchronous requests share one concurrency limit.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from typing import Any

from .. import library
from ..service import TrackService
from .runner import run_item, worker_name

log = logging.getLogger("aimusic.jobs")

POLL_S = 1.0  # how often an idle runner looks for work queued by another process
SUBMITTED_MAX = 1000  # requests submitted here that an idle runner may take without a scan


class EmbeddedQueue:
    """Runs jobs in threads of this process, from the database."""

    backend = "embedded"

    def __init__(self, service: TrackService) -> None:
        self.service = service
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._submitted: deque[tuple[str, int]] = deque(maxlen=SUBMITTED_MAX)

    def start(self) -> None:
        """Start the runner threads in this process (idempotent; again after a fork)."""
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's threads did not come along
                self._threads, self._pid = [], os.getpid()
                self._wake, self._stop = threading.Event(), threading.Event()
                self._submitted = deque(maxlen=SUBMITTED_MAX)
            if self._threads or self.service.settings.job_threads <= 0:
                return
            for n in range(self.service.settings.job_threads):
                thread = threading.Thread(target=self._loop, name=f"job-runner-{n}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the runners to stop after their current job and wait a little for them."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def submit(self, job_id: str, indices: range | list[int] = range(1)) -> None:
        """The job's rows are committed: hand its requests to a runner here (runners elsewhere poll)."""
        self.start()
        if self._threads:
            self._submitted.extend((job_id, index) for index in indices)
        self._wake.set()

    def health(self) -> tuple[bool, str | None]:
        """Always reachable: the queue is the database."""
        return True, None

    def _loop(self) -> None:
        settings = self.service.settings
        settle_at = 0.0
        ran = False
        while not self._stop.is_set():
            items: list[tuple[str, int]] = []
            if not ran:  # idle: nothing was runnable when it last looked, so a request just submitted is the oldest
                try:
                    items = [self._submitted.popleft()]
                except IndexError:
                    pass
            submitted = bool(items)
            if not items:
                self._submitted.clear()  # the scan finds them, in the database's order (oldest job first)
                try:
                    # Cancelled jobs whose runner died: once a poll, not on every wake (a write transaction).
                    if time.monotonic() >= settle_at:
                        library.jobs.settle_abandoned(self.service.db, stale_s=settings.job_stale_s)
                        settle_at = time.monotonic() + POLL_S
                    items = library.jobs.runnable_items(self.service.db, stale_s=settings.job_stale_s)
                except Exception as exc:  # database down: try again later
                    log.error("job runner cannot read the queue: %s", exc)
            ran = False
            for job_id, index in items:
                if self._stop.is_set():
                    return
                try:
                    ran = run_item(self.service, job_id, index, worker=worker_name()) != "skipped" or ran
                except Exception:
                    log.exception("job %s request %d failed unexpectedly", job_id, index)
                    _fail(self.service, job_id)
            if not ran and not submitted:  # (a submitted request another runner took: look again at once)
                self._wake.wait(POLL_S)
                self._wake.clear()


def _fail(service: TrackService, job_id: str, reason: str = "internal error while running the job") -> Any:
    try:
        library.jobs.fail_job(service.db, job_id, reason)
    except Exception:
        log.exception("cannot mark job %s failed", job_id)
