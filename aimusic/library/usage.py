"""Per-subject rate limit and daily quota, counted in the database so they hold across every
worker process and machine that shares it.

A subject is ``key:<id>`` with keys on, or ``ip:<address>`` with keys off. Each check is one
write transaction that first touches the subject's own row: on PostgreSQL that row lock, on
SQLite the database write lock, serialises concurrent checks of one subject, so the count read
is the count written and the limit is exact, a sliding 60-second window, not per process.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, func, insert, select, update

from .database import Database
from .models import DailyUsage, RateHit, RateSubject

WINDOW_S = 60.0


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused: ``"rate"`` or ``"quota"``, and the seconds until it may retry."""

    reason: str
    retry_after: int
    limit: int


def _ensure_subject(session, subject: str, now: float) -> None:  # noqa: ANN001 - a Session
    touched = session.execute(update(RateSubject).where(RateSubject.subject == subject).values(touched_at=now))
    if touched.rowcount == 0:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert
            stmt = pg_insert(RateSubject).values(subject=subject, touched_at=now).on_conflict_do_nothing()
            session.execute(stmt)
            session.execute(update(RateSubject).where(RateSubject.subject == subject).values(touched_at=now))
        else:  # SQLite holds the database write lock already: no one else can insert meanwhile
            session.execute(insert(RateSubject).values(subject=subject, touched_at=now))


def _seconds_to_midnight(now: float) -> int:
    moment = datetime.fromtimestamp(now, timezone.utc)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() + 86400
    return max(1, math.ceil(midnight - now))


def check_and_count(db: Database, subject: str, *, per_minute: int, per_day: int, cost: int = 1,
                    now: float | None = None) -> Refusal | None:
    """Count ``cost`` generations for ``subject`` unless that breaks a limit; the refusal, or None.

    Parameters
    ----------
    per_minute : int
        Requests allowed in any 60 s window (0: no limit). A request counts 1 however many
        tracks it asks for.
    per_day : int
        Generations allowed per UTC day (0: no quota); a batch counts each of its tracks.
    cost : int
        Tracks this request will generate.
    """
    if per_minute <= 0 and per_day <= 0:
        return None
    now = time.time() if now is None else now
    day = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")
    with db.write() as session:
        _ensure_subject(session, subject, now)
        if per_minute > 0:
            session.execute(delete(RateHit).where(RateHit.subject == subject, RateHit.at <= now - WINDOW_S))
            recent = session.execute(select(func.count(), func.min(RateHit.at))
                                     .where(RateHit.subject == subject)).one()
            if recent[0] >= per_minute:
                return Refusal("rate", max(1, math.ceil(recent[1] + WINDOW_S - now)), per_minute)
        if per_day > 0:
            used = session.scalar(select(DailyUsage.count).where(DailyUsage.subject == subject,
                                                                 DailyUsage.day == day))
            if (used or 0) + cost > per_day:
                return Refusal("quota", _seconds_to_midnight(now), per_day)
            if used is None:
                session.add(DailyUsage(subject=subject, day=day, count=cost))
            else:
                session.execute(update(DailyUsage).where(DailyUsage.subject == subject, DailyUsage.day == day)
                                .values(count=DailyUsage.count + cost))
        if per_minute > 0:
            session.add(RateHit(subject=subject, at=now))
    return None


def usage_today(db: Database, subject: str, *, now: float | None = None) -> int:
    """Generations counted for ``subject`` today (UTC)."""
    now = time.time() if now is None else now
    day = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")
    with db.read() as session:
        return int(session.scalar(select(DailyUsage.count).where(DailyUsage.subject == subject,
                                                                 DailyUsage.day == day)) or 0)
