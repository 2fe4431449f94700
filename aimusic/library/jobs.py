"""Queries on jobs and their items: create, claim, heartbeat, finish, cancel, list.

A job's state lives here, so any web process answers for any job and any runner can take over
an item. Claiming is one conditional UPDATE: an item is taken only if it is queued, or running
with a heartbeat older than ``stale_s`` (its runner died), and its job is neither cancelled nor
ended; so two runners never make the same track at once. A job's status and progress follow
from its items: it ends when the last item does.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from .database import Database
from .models import Job, JobItem
from .tracks import utc_now

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
    now = time.time()
    with db.write() as session:
        session.add(Job(id=job_id, owner_id=owner, status="queued", progress=0.0, requests=requests, errors=[],
                        track_ids={}, created_at=utc_now(), attempts=0, cancel_requested=False))
        session.flush()
        session.add_all([JobItem(job_id=job_id, idx=i, status="queued", progress=0.0, enqueued_at=now, attempts=0)
                         for i in range(len(requests))])
        session.flush()
        return _load(session, job_id)  # type: ignore[return-value]


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


def _claimable(now: float, stale_s: float):  # noqa: ANN202 - an SQL condition
    live_job = JobItem.job_id.in_(select(Job.id).where(Job.cancel_requested.is_(False),
                                                        Job.status.in_(("queued", "running"))).scalar_subquery())
    return and_(live_job, or_(JobItem.status == "queued",
                              and_(JobItem.status == "running", JobItem.heartbeat_at < now - stale_s)))


def claim_item(db: Database, job_id: str, index: int, *, worker: str, stale_s: float) -> ItemClaim | None:
    """Take item ``index`` of the job for ``worker`` if it is free; the claim, or None."""
    now = time.time()
    with db.write() as session:
        taken = session.execute(update(JobItem).where(JobItem.job_id == job_id, JobItem.idx == index,
                                                      _claimable(now, stale_s))
                                .values(status="running", worker=worker, heartbeat_at=now, progress=0.0,
                                        attempts=JobItem.attempts + 1).execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            return None
        job = session.get(Job, job_id)
        if job.status == "queued":
            job.status = "running"
        if job.started_at is None:
            job.started_at = utc_now()
        attempts = session.scalar(select(JobItem.attempts).where(JobItem.job_id == job_id, JobItem.idx == index))
        return ItemClaim(job_id, index, job.owner_id, dict(job.requests[index]), int(attempts),
                         _aware(job.started_at))  # type: ignore[arg-type]


def runnable_items(db: Database, *, stale_s: float, limit: int = 20) -> list[tuple[str, int]]:
    """Items a runner could take now, oldest job first: queued ones and those whose runner went silent."""
    stmt = (select(JobItem.job_id, JobItem.idx).join(Job, Job.id == JobItem.job_id)
            .where(_claimable(time.time(), stale_s)).order_by(Job.created_at, JobItem.job_id, JobItem.idx)
            .limit(limit))
    with db.read() as session:
        return [(job_id, int(idx)) for job_id, idx in session.execute(stmt)]


def unsent_items(db: Database, *, older_than_s: float, stale_s: float) -> list[tuple[str, int]]:
    """Items whose message may be lost: queued and sent long ago, or running with a silent runner."""
    now = time.time()
    stmt = select(JobItem.job_id, JobItem.idx).where(_claimable(now, stale_s), or_(
        JobItem.status == "running", JobItem.enqueued_at < now - older_than_s))
    with db.read() as session:
        return [(job_id, int(idx)) for job_id, idx in session.execute(stmt)]


def mark_enqueued(db: Database, items: list[tuple[str, int]]) -> None:
    """Note that messages for these items were sent again just now."""
    now = time.time()
    with db.write() as session:
        for job_id, idx in items:
            session.execute(update(JobItem).where(JobItem.job_id == job_id, JobItem.idx == idx)
                            .values(enqueued_at=now))


def heartbeat(db: Database, job_id: str, index: int, *, worker: str, progress: float) -> str:
    """Keep the claim alive and store progress; ``"ok"``, ``"cancelled"``, ``"ended"`` or ``"lost"``."""
    with db.write() as session:
        result = session.execute(update(JobItem).where(JobItem.job_id == job_id, JobItem.idx == index,
                                                       JobItem.worker == worker, JobItem.status == "running")
                                 .values(heartbeat_at=time.time(), progress=round(float(progress), 4)))
        job = session.get(Job, job_id)
        if job is None or job.status in TERMINAL:
            return "ended"
        if job.cancel_requested:
            return "cancelled"
        return "ok" if result.rowcount == 1 else "lost"


def finish_item(db: Database, job_id: str, index: int, *, worker: str, status: str, track_id: str | None = None,
                error: dict[str, Any] | None = None) -> None:
    """Store the outcome of an item (its track, or its error), then end the job if it was the last."""
    with db.write() as session:
        session.execute(update(JobItem).where(JobItem.job_id == job_id, JobItem.idx == index,
                                              JobItem.worker == worker, JobItem.status == "running")
                        .values(status=status, track_id=track_id, error=error, progress=1.0))
        _settle(session, job_id)


def _settle(session, job_id: str) -> None:  # noqa: ANN001 - a Session
    """End the job once none of its items is queued or running."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.status in TERMINAL:
        return
    open_items = session.scalar(select(func.count()).select_from(JobItem).where(
        JobItem.job_id == job_id, JobItem.status.in_(("queued", "running"))))
    if open_items:
        return
    job.status = "cancelled" if job.cancel_requested else "done"
    job.progress = 1.0 if job.status == "done" else job.progress
    job.finished_at = utc_now()
    if job.cancel_requested and job.reason is None:
        job.reason = "cancelled"


def fail_job(db: Database, job_id: str, reason: str) -> None:
    """End a job as failed (its time limit ran out): its open items will not run."""
    with db.write() as session:
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
