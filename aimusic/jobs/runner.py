"""Running one request of a job: claim it, make its track, report progress, honour cancel and time limit.

The same :func:`run_item` runs in the embedded queue's threads and in distributed workers; it
works only from the job's rows, so whoever runs it, and however often it is started, the result
is the same. Each request of a job has a track id fixed by the job id and its index, and a seed
fixed at submission: a request taken over after its runner died makes a byte-identical track
and records it once (a track already recorded is not made again).

Besides its job's creation, a request costs two transactions on its way to a finished track:
the claim (its first heartbeat) and the finish, which records the track with the item's
outcome; in between, the render beats only as often as the staleness limit needs.
"""
from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
from typing import Any

from pydantic import ValidationError

from .. import library
from ..config import Settings
from ..errors import AIMusicError
from ..service import TrackService, Unavailable

log = logging.getLogger("aimusic.jobs")

SLOT_WAIT_S = 3600.0  # a job waits for a generation slot rather than failing when the service is busy


class JobStopped(Exception):
    """The job was cancelled, lost its claim, or ran over its time limit."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def job_track_id(job_id: str, index: int) -> str:
    """The track id of request ``index`` of job ``job_id`` (the same on every attempt)."""
    return hashlib.sha256(f"{job_id}:{index}".encode()).hexdigest()[:12]


def worker_name() -> str:
    """Who runs a job: host, process and thread, for the job row and the logs."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


class _Progress:
    """One attempt at one item: heartbeats with progress, and the reasons to stop."""

    def __init__(self, db: library.Database, claim: library.jobs.ItemClaim, worker: str, settings: Settings) -> None:
        self.db, self.claim, self.worker = db, claim, worker
        elapsed = (library.utc_now() - claim.started_at).total_seconds()
        self.deadline = time.monotonic() + settings.job_time_limit_s - max(0.0, elapsed)
        self.time_limit = settings.job_time_limit_s
        self.interval = max(0.25, min(2.0, settings.job_stale_s / 4))
        self.last_beat = time.monotonic()  # the claim was the first heartbeat; the finish is the last

    def __call__(self, fraction: float) -> None:
        """Called as the track renders: keep the claim alive, store progress, stop if told to."""
        if time.monotonic() > self.deadline:
            raise JobStopped("failed", f"time limit of {self.time_limit:g} s exceeded")
        now = time.monotonic()
        if now - self.last_beat < self.interval:  # the end of a render too: the finish stores 1.0 with the track
            return
        self.last_beat = now
        state = library.jobs.heartbeat(self.db, self.claim.job_id, self.claim.index, worker=self.worker,
                                       progress=fraction)
        if state == "cancelled":
            raise JobStopped("cancelled", "cancelled while running")
        if state in ("ended", "lost"):
            raise JobStopped(state, "the job ended or another runner took this request over")


def _validate(service: TrackService, item: dict[str, Any]) -> Any:
    from ..web.schemas import generate_request_model

    model = generate_request_model(service.settings.max_duration)
    return model.model_validate({**item["given"], "seed": item["seed"]})


def run_item(service: TrackService, job_id: str, index: int, *, worker: str | None = None) -> str:
    """Make the track of request ``index`` of a job if it can be claimed; how the item ended.

    ``"skipped"`` when another runner has it or the job has ended. A track already recorded
    under the item's id (its earlier runner died after recording) is not made again.
    """
    worker = worker or worker_name()
    db, settings = service.db, service.settings
    claim = library.jobs.claim_item(db, job_id, index, worker=worker, stale_s=settings.job_stale_s)
    if claim is None:
        return "skipped"
    if claim.attempts > 1:
        log.warning("job %s request %d taken over (attempt %d) by %s", job_id, index, claim.attempts, worker)
    track_id = job_track_id(job_id, index)
    progress = _Progress(db, claim, worker, settings)
    finished = False

    def finish_with(track: library.TrackInfo) -> None:
        """Record the track and finish the item in one transaction."""
        nonlocal finished
        library.jobs.finish_item(db, job_id, index, worker=worker, status="done", track=track)
        finished = True

    status, error = "done", None
    try:
        progress(0.0)
        # Only an earlier attempt can have recorded this track (its runner died before finishing).
        if claim.attempts == 1 or library.get_track(db, track_id) is None:
            try:
                params = _validate(service, claim.request)
                service.make_track(params, owner=claim.owner_id, request=claim.request["given"], track_id=track_id,
                                   progress=progress, wait_s=SLOT_WAIT_S, recorder=finish_with)
            except ValidationError as exc:
                status, error = "failed", {"code": "invalid_request", "message": str(exc.errors()[0]["msg"])}
            except Unavailable as exc:
                status, error = "failed", {"code": "unavailable", "message": exc.reason}
            except AIMusicError as exc:
                status, error = "failed", {"code": "invalid_request", "message": str(exc)}
    except JobStopped as stop:
        if stop.status == "failed":  # the item's error and the job's failure together
            library.jobs.fail_item_and_job(db, job_id, index, worker=worker, reason=stop.reason,
                                           error={"code": "time_limit", "message": stop.reason})
        elif stop.status == "cancelled":
            library.jobs.finish_item(db, job_id, index, worker=worker, status="cancelled")
        log.warning("job %s request %d stopped: %s", job_id, index, stop.reason)
        return stop.status
    if finished:
        return "done"
    # No track made here: it failed, or an earlier attempt had recorded it (then it is this item's).
    library.jobs.finish_item(db, job_id, index, worker=worker, status=status,
                             track_id=track_id if status == "done" else None, error=error)
    return status
