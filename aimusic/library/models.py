"""The library's tables as SQLAlchemy 2 models: keys, tracks, their files, jobs, usage counters.

The schema is created and changed only by the Alembic revisions in ``migrations/``; these
models describe it for queries. Times are stored as timezone-aware UTC datetimes.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Declarative base of the library's models."""

    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class ApiKey(Base):
    """A client's key: only its SHA-256 is stored; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_used_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]


class Track(Base):
    """One generated track: what was asked, what was planned and made, by whom, when."""

    __tablename__ = "tracks"
    __table_args__ = (
        Index("ix_tracks_owner_seq", "owner_id", "seq"),
        Index("ix_tracks_style_seq", "style", "seq"),
    )

    # seq orders the library (newest first) and makes cursors that new tracks never shift.
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    id: Mapped[str] = mapped_column(String(12), unique=True)
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    style: Mapped[str] = mapped_column(String(16))
    duration_s: Mapped[float] = mapped_column(Float)
    tempo: Mapped[int]
    key: Mapped[str] = mapped_column(String(16))
    time_signature: Mapped[str] = mapped_column(String(8))
    bars: Mapped[int]
    seed: Mapped[int] = mapped_column(BigInteger)
    temperature: Mapped[float] = mapped_column(Float)
    sample_rate: Mapped[int]
    channels: Mapped[int]
    format: Mapped[str] = mapped_column(String(8))
    model_name: Mapped[str] = mapped_column(String(64))
    model_hash: Mapped[Optional[str]] = mapped_column(String(64))
    service_version: Mapped[str] = mapped_column(String(32))
    generation_ms: Mapped[int]
    request: Mapped[dict[str, Any]]
    plan: Mapped[dict[str, Any]]
    timings: Mapped[dict[str, Any]]

    files: Mapped[list["TrackFile"]] = relationship(back_populates="track", cascade="all, delete-orphan",
                                                    passive_deletes=True, lazy="selectin",
                                                    order_by="TrackFile.id")


class TrackFile(Base):
    """A file the store holds for a track: the mix in a format, the MIDI, the stems."""

    __tablename__ = "track_files"
    __table_args__ = (UniqueConstraint("track_seq", "kind", name="uq_track_files_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_seq: Mapped[int] = mapped_column(ForeignKey("tracks.seq", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "wav", "flac", "mp3", "ogg", "midi", "score", "stems"
    filename: Mapped[str] = mapped_column(String(64), unique=True)
    media_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]

    track: Mapped[Track] = relationship(back_populates="files")


class Job(Base):
    """A background job of one or more generate requests: what was asked, by whom, how it ended.

    ``requests`` holds ``[{"given": {...}, "seed": n}]``, the seed fixed at submission so any
    retry makes the same bytes. The work is in its :class:`JobItem` rows, one per request.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_owner_created", "owner_id", "created_at"),
                      Index("ix_jobs_status", "status"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed, cancelled
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    requests: Mapped[Any] = mapped_column(JSON)
    errors: Mapped[Any] = mapped_column(JSON)
    track_ids: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime]
    started_at: Mapped[Optional[datetime]]
    finished_at: Mapped[Optional[datetime]]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[Optional[str]] = mapped_column(String(200))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)


class JobItem(Base):
    """One request of a job: the unit a runner claims, so a batch spreads over every worker.

    A runner takes an item only if it is queued, or running with a heartbeat older than the
    staleness limit (its runner died): two runners never make the same track at once.
    """

    __tablename__ = "job_items"
    __table_args__ = (Index("ix_job_items_status", "status", "heartbeat_at"),)

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed, cancelled
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    worker: Mapped[Optional[str]] = mapped_column(String(120))
    heartbeat_at: Mapped[Optional[float]] = mapped_column(Float)
    enqueued_at: Mapped[Optional[float]] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    track_id: Mapped[Optional[str]] = mapped_column(String(12))
    error: Mapped[Optional[Any]] = mapped_column(JSON)


class RateSubject(Base):
    """One row per rate-limited subject (a key or a client address): its row lock serialises its hits."""

    __tablename__ = "rate_subjects"

    subject: Mapped[str] = mapped_column(String(80), primary_key=True)
    touched_at: Mapped[float] = mapped_column(Float)


class RateHit(Base):
    """One counted request of a subject, kept for the length of the rate window."""

    __tablename__ = "rate_hits"
    __table_args__ = (Index("ix_rate_hits_subject_at", "subject", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(80))
    at: Mapped[float] = mapped_column(Float)


class DailyUsage(Base):
    """Generations counted per subject and UTC day, for the daily quota."""

    __tablename__ = "daily_usage"

    subject: Mapped[str] = mapped_column(String(80), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD
    count: Mapped[int] = mapped_column(Integer, default=0)
