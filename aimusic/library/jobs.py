"""Queries on jobs and their items: create, claim, heartbeat, finish, cancel, list.

A job's state lives here, so any web process answers for any job and any runner can take over
an item. Claiming is one conditional UPDATE: an item is taken only if it is queued, or running
with a heartbeat older than ``stale_s`` (its runner died), and its job is neither cancelled nor
ended; so two runners never make the same track at once. A job's status and progress follow
from its items: it ends when the last item does.

The statements a job runs through (create, claim, heartbeat, finish) are built once and run
on the session's connection, with RETURNING rather than ORM loads: they are the transactions
between a submission and its finished track, where building and loading cost more than the
database does. A finished item records its track in the same transaction.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, insert, or_, select, update

from .database import Database
from .models import Job, JobItem
from .tracks import TrackInfo, insert_track, utc_now

TERMINAL = ("done", "failed", "cancelled")


@dataclass(frozen=True)
class JobInfo:
    """A job as the library holds it, with what its items say."""

    id: str
    owner_id: int | None
    status: str
    progress: float
    requests: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    track_ids: dict[str, str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    reason: str | None
    cancel_requested: bool

    @property
    def finished(self) -> bool:
        """Whether the job has ended (done, failed or cancelled)."""
        return self.status in TERMINAL


@dataclass(frozen=True)
class ItemClaim:
    """An item a runner has taken: the job's owner, the request and its seed, and the attempt."""

    job_id: str
    index: int
    owner_id: int | None
    request: dict[str, Any]
    attempts: int
    started_at: datetime


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _info(row: Job, items: list[JobItem]) -> JobInfo:
    n = max(1, len(row.requests))
    # A finished request counts whole, a running one by its progress, a cancelled one not at
    # all: a cancelled job shows how far it got.
    done = sum(1.0 if i.status in ("done", "failed") else 0.0 if i.status == "cancelled" else float(i.progress)
               for i in items)
    progress = 1.0 if row.status == "done" else min(1.0, done / n)
    errors = [{"index": i.idx, "error": i.error} for i in items if i.error is not None]
    tracks = {str(i.idx): i.track_id for i in items if i.track_id is not None}
    return JobInfo(id=row.id, owner_id=row.owner_id, status=row.status, progress=round(progress, 4),
                   requests=list(row.requests), errors=errors, track_ids=tracks, created_at=_aware(row.created_at),  # type: ignore[arg-type]
                   started_at=_aware(row.started_at), finished_at=_aware(row.finished_at), reason=row.reason,
                   cancel_requested=bool(row.cancel_requested))


def _load(session, job_id: str, owner: int | None = None) -> JobInfo | None:  # noqa: ANN001 - a Session
    stmt = select(Job).where(Job.id == job_id)
    if owner is not None:
        stmt = stmt.where(Job.owner_id == owner)
    row = session.scalar(stmt)
    if row is None:
        return None
    items = list(session.scalars(select(JobItem).where(JobItem.job_id == job_id).order_by(JobItem.idx)))
    return _info(row, items)


def create_job(db: Database, job_id: str, *, owner: int | None, requests: list[dict[str, Any]]) -> JobInfo:
    """Insert a queued job of ``requests`` (``[{"given": {...}, "seed": n}]``) and one item per request."""
    now, created = time.time(), utc_now()
    with db.write() as session:
        conn = session.connection()
        conn.execute(_INSERT_JOB, {"id": job_id, "owner_id": owner, "status": "queued", "progress": 0.0,
                                   "requests": requests, "errors": [], "track_ids": {}, "created_at": created,
                                   "attempts": 0, "cancel_requested": False})
        conn.execute(_INSERT_ITEM, [{"job_id": job_id, "idx": i, "status": "queued", "progress": 0.0,
                                     "enqueued_at": now, "attempts": 0} for i in range(len(requests))])
    return JobInfo(id=job_id, owner_id=owner, status="queued", progress=0.0, requests=list(requests), errors=[],
                   track_ids={}, created_at=created, started_at=None, finished_at=None, reason=None,
                   cancel_requested=False)


def get_job(db: Database, job_id: str, *, owner: int | None = None) -> JobInfo | None:
    """The job if ``owner`` (None: anyone) may see it."""
    with db.read() as session:
        return _load(session, job_id, owner)


def jobs_for(db: Database, owner: int | None, *, limit: int = 20) -> list[JobInfo]:
    """The owner's newest jobs."""
    stmt = select(Job.id).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if owner is not None:
        stmt = stmt.where(Job.owner_id == owner)
    with db.read() as session:
        return [j for j in (_load(session, job_id) for job_id in session.scalars(stmt)) if j is not None]


def delete_job_row(db: Database, job_id: str) -> None:
    """Forget a job that could not be queued (its messages never reached the broker)."""
    with db.write() as session:
        row = session.get(Job, job_id)
        if row is not None:
            session.query(JobItem).filter(JobItem.job_id == job_id).delete()
            session.delete(row)


def _claimable(silent_since):  # noqa: ANN001, ANN202 - a time (or a parameter), and an SQL condition
    """An item a runner may take: its job live, and the item queued or its runner silent since ``silent_since``."""
    live_job = JobItem.job_id.in_(select(Job.id).where(Job.cancel_requested.is_(False),
                                                        Job.status.in_(("queued", "running"))).scalar_subquery())
    return and_(live_job, or_(JobItem.status == "queued",
                              and_(JobItem.status == "running", JobItem.heartbeat_at < silent_since)))


# The job path's statements, built once (parameters are named p_*: a column's own name is taken).
_ITEM = and_(JobItem.job_id == bindparam("p_job"), JobItem.idx == bindparam("p_idx"))
_OURS = and_(_ITEM, JobItem.worker == bindparam("p_worker"), JobItem.status == "running")
_INSERT_JOB = insert(Job)
_INSERT_ITEM = insert(JobItem)
_CLAIM = (update(JobItem).where(_ITEM, _claimable(bindparam("p_silent_since", type_=JobItem.heartbeat_at.type)))
          .values(status="running", worker=bindparam("p_worker"), heartbeat_at=bindparam("p_now"), progress=0.0,
                  attempts=JobItem.attempts + 1)
          .returning(JobItem.attempts))
# Only a job's first claim writes its row (queued -> running, started_at), as the ORM did.
_START = (update(Job).where(Job.id == bindparam("p_job"), or_(Job.status == "queued", Job.started_at.is_(None)))
          .values(status=case((Job.status == "queued", "running"), else_=Job.status),
                  started_at=func.coalesce(Job.started_at, bindparam("p_started", type_=Job.started_at.type)))
          .returning(Job.owner_id, Job.requests, Job.started_at))
_CLAIMED_JOB = select(Job.owner_id, Job.requests, Job.started_at).where(Job.id == bindparam("p_job"))
_BEAT = (update(JobItem).where(_OURS)
         .values(heartbeat_at=bindparam("p_now"), progress=bindparam("p_progress", type_=JobItem.progress.type)))
_JOB_STATE = select(Job.status, Job.cancel_requested).where(Job.id == bindparam("p_job"))
_FINISH = (update(JobItem).where(_OURS)
           .values(status=bindparam("p_status", type_=JobItem.status.type),
                   track_id=bindparam("p_track", type_=JobItem.track_id.type),
                   error=bindparam("p_error", type_=JobItem.error.type), progress=1.0))
_LOCK_JOB = (select(Job.status, Job.cancel_requested, Job.reason, Job.progress).where(Job.id == bindparam("p_job"))
             .with_for_update())
_OPEN_ITEM = exists().where(JobItem.job_id == bindparam("p_job"), JobItem.status.in_(("queued", "running")))
_END_JOB = (update(Job).where(Job.id == bindparam("p_job"), ~_OPEN_ITEM)
            .values(status=bindparam("p_status", type_=Job.status.type),
                    progress=bindparam("p_progress", type_=Job.progress.type),
                    reason=bindparam("p_reason", type_=Job.reason.type),
                    finished_at=bindparam("p_finished", type_=Job.finished_at.type)))


def claim_item(db: Database, job_id: str, index: int, *, worker: str, stale_s: float) -> ItemClaim | None:
    """Take item ``index`` of the job for ``worker`` if it is free; the claim, or None."""
    now = time.time()
    with db.write() as session:
        conn = session.connection()
        attempts = conn.execute(_CLAIM, {"p_job": job_id, "p_idx": index, "p_silent_since": now - stale_s,
                                         "p_worker": worker, "p_now": now}).scalar_one_or_none()
        if attempts is None:
            return None
        row = conn.execute(_START, {"p_job": job_id, "p_started": utc_now()}).one_or_none()
        if row is None:
            row = conn.execute(_CLAIMED_JOB, {"p_job": job_id}).one()
        owner_id, requests, started_at = row
        return ItemClaim(job_id, index, owner_id, dict(requests[index]), int(attempts),
                         _aware(started_at))  # type: ignore[arg-type]


def runnable_items(db: Database, *, stale_s: float, limit: int = 20) -> list[tuple[str, int]]:
    """Items a runner could take now, oldest job first: queued ones and those whose runner went silent."""
    stmt = (select(JobItem.job_id, JobItem.idx).join(Job, Job.id == JobItem.job_id)
            .where(_claimable(time.time() - stale_s)).order_by(Job.created_at, JobItem.job_id, JobItem.idx)
            .limit(limit))
    with db.read() as session:
        return [(job_id, int(idx)) for job_id, idx in session.execute(stmt)]


def unsent_items(db: Database, *, older_than_s: float, stale_s: float) -> list[tuple[str, int]]:
    """Items whose message may be lost: queued and sent long ago, or running with a silent runner."""
    now = time.time()
    stmt = select(JobItem.job_id, JobItem.idx).where(_claimable(now - stale_s), or_(
        JobItem.status == "running", JobItem.enqueued_at < now - older_than_s))
    with db.read() as session:
        return [(job_id, int(idx)) for job_id, idx in session.execute(stmt)]


def mark_enqueued(db: Database, items: list[tuple[str, int]]) -> None:
    """Note that messages for these items were sent again just now."""
    if not items:
        return
    now = time.time()
    with db.write() as session:
        for job_id, idx in items:
            session.execute(update(JobItem).where(JobItem.job_id == job_id, JobItem.idx == idx)
                            .values(enqueued_at=now))


def heartbeat(db: Database, job_id: str, index: int, *, worker: str, progress: float) -> str:
    """Keep the claim alive and store progress; ``"ok"``, ``"cancelled"``, ``"ended"`` or ``"lost"``."""
    with db.write() as session:
        conn = session.connection()
        result = conn.execute(_BEAT, {"p_job": job_id, "p_idx": index, "p_worker": worker, "p_now": time.time(),
                                      "p_progress": round(float(progress), 4)})
        job = conn.execute(_JOB_STATE, {"p_job": job_id}).one_or_none()
        if job is None or job.status in TERMINAL:
            return "ended"
        if job.cancel_requested:
            return "cancelled"
        return "ok" if result.rowcount == 1 else "lost"


def finish_item(db: Database, job_id: str, index: int, *, worker: str, status: str, track_id: str | None = None,
                error: dict[str, Any] | None = None, track: TrackInfo | None = None) -> None:
    """Store the outcome of an item (its track, or its error), then end the job if it was the last.

    With ``track`` the track itself (its files already in the store) is recorded in the same
    transaction: a track id is unique, so an item taken over after its runner recorded it fails
    here as a whole, and the caller finishes it with the ``track_id`` alone.
    """
    with db.write() as session:
        if track is not None:
            insert_track(session, track)
            track_id = track.id
        session.connection().execute(_FINISH, {"p_job": job_id, "p_idx": index, "p_worker": worker,
                                               "p_status": status, "p_track": track_id, "p_error": error})
        _settle(session, job_id)


def _settle(session, job_id: str) -> None:  # noqa: ANN001 - a Session
    """End the job once none of its items is queued or running.

    The job's row is locked before its items are looked at (by the next statement, which sees
    whatever was committed before it): of two runners finishing a job's last two items at once,
    the second looks after the first committed, so one of them ends the job.
    """
    conn = session.connection()
    job = conn.execute(_LOCK_JOB, {"p_job": job_id}).one_or_none()
    if job is None or job.status in TERMINAL:
        return
    cancelled = bool(job.cancel_requested)
    conn.execute(_END_JOB, {"p_job": job_id, "p_status": "cancelled" if cancelled else "done",
                            "p_progress": job.progress if cancelled else 1.0,
                            "p_reason": (job.reason or "cancelled") if cancelled else job.reason,
                            "p_finished": utc_now()})


def fail_job(db: Database, job_id: str, reason: str) -> None:
    """End a job as failed (its time limit ran out): its open items will not run."""
    with db.write() as session:
        _fail(session, job_id, reason)


def fail_item_and_job(db: Database, job_id: str, index: int, *, worker: str, error: dict[str, Any],
                      reason: str) -> None:
    """Fail item ``index`` with ``error`` and its job with ``reason``, in one transaction.

    Together, so the job is never seen failed without the item's error, and the job's last
    item, once failed, cannot end the job as done before the failure is written.
    """
    with db.write() as session:
        session.connection().execute(_FINISH, {"p_job": job_id, "p_idx": index, "p_worker": worker,
                                               "p_status": "failed", "p_track": None, "p_error": error})
        _fail(session, job_id, reason)


def _fail(session, job_id: str, reason: str) -> None:  # noqa: ANN001 - a Session
    """Mark the job failed (unless it has ended) and cancel its queued items, in ``session``."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.status in TERMINAL:
        return
    job.status, job.reason, job.finished_at = "failed", reason[:200], utc_now()
    session.execute(update(JobItem).where(JobItem.job_id == job_id, JobItem.status == "queued")
                    .values(status="cancelled"))


def cancel_job(db: Database, job_id: str, *, owner: int | None = None) -> JobInfo | None:
    """Cancel a job: its queued items at once, its running ones at their runner's next step."""
    with db.write() as session:
        stmt = select(Job).where(Job.id == job_id)
        if owner is not None:
            stmt = stmt.where(Job.owner_id == owner)
        job = session.scalar(stmt.with_for_update())
        if job is None:
            return None
        if job.status not in TERMINAL:
            job.cancel_requested = True
            job.reason = "cancelled"
            session.execute(update(JobItem).where(JobItem.job_id == job_id, JobItem.status == "queued")
                            .values(status="cancelled"))
            session.flush()
            _settle(session, job_id)
            session.expire_all()  # _settle wrote the job's row past the session: read it afresh
        return _load(session, job_id)


def settle_abandoned(db: Database, *, stale_s: float) -> int:
    """Items still "running" in a cancelled job whose runner went silent: end them (and their job)."""
    now = time.time()
    with db.write() as session:
        rows = session.execute(select(JobItem.job_id, JobItem.idx).join(Job, Job.id == JobItem.job_id).where(
            Job.cancel_requested.is_(True), JobItem.status == "running", JobItem.heartbeat_at < now - stale_s)).all()
        for job_id, idx in rows:
            session.execute(update(JobItem).where(JobItem.job_id == job_id, JobItem.idx == idx)
                            .values(status="cancelled"))
        for job_id in {r[0] for r in rows}:
            _settle(session, job_id)
        return len(rows)
