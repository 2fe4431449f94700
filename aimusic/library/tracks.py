"""Queries on tracks and their files: record, look up, list by cursor, delete, retain.

Every function takes a :class:`~aimusic.library.database.Database` and returns plain frozen
dataclasses, never ORM objects, so callers cannot lazily reach back into a closed session.
``owner`` is a key id, or None for "every track" (keys off).
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, func, insert, select

from .database import Database
from .models import Track, TrackFile


class BadCursor(ValueError):
    """A listing cursor that this service did not hand out."""


@dataclass(frozen=True)
class FileInfo:
    """One file of a track in the store."""

    kind: str
    filename: str
    media_type: str
    size_bytes: int


@dataclass(frozen=True)
class TrackInfo:
    """A track as the library holds it."""

    id: str
    owner_id: int | None
    created_at: datetime
    style: str
    duration_s: float
    tempo: int
    key: str
    time_signature: str
    bars: int
    seed: int
    temperature: float
    sample_rate: int
    channels: int
    format: str
    model_name: str
    model_hash: str | None
    service_version: str
    generation_ms: int
    request: dict[str, Any]
    plan: dict[str, Any]
    timings: dict[str, Any]
    files: tuple[FileInfo, ...] = field(default_factory=tuple)

    def file(self, kind: str) -> FileInfo | None:
        """The file of ``kind`` (``"wav"``, …) if the track has it."""
        return next((f for f in self.files if f.kind == kind), None)


@dataclass(frozen=True)
class TrackPage:
    """One page of a listing and the cursor of the next (None on the last page)."""

    tracks: list[TrackInfo]
    next_cursor: str | None


_TRACK_FIELDS = [name for name in TrackInfo.__dataclass_fields__ if name != "files"]


def _info(row: Track) -> TrackInfo:
    created = row.created_at
    if created.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
        created = created.replace(tzinfo=timezone.utc)
    values = {name: getattr(row, name) for name in _TRACK_FIELDS}
    values["created_at"] = created
    files = tuple(FileInfo(f.kind, f.filename, f.media_type, int(f.size_bytes)) for f in row.files)
    return TrackInfo(**values, files=files)


def utc_now() -> datetime:
    """The current time, timezone-aware UTC, to the microsecond."""
    return datetime.now(timezone.utc)


_INSERT_TRACK = insert(Track).returning(Track.seq)
_INSERT_FILE = insert(TrackFile)


def insert_track(session, info: TrackInfo) -> None:  # noqa: ANN001 - a Session
    """Insert a track and its files in the caller's transaction (the files must already be in the store).

    Plain statements built once, on the session's connection: a job records its track in the
    transaction that finishes it, on the path a client waits through.
    """
    conn = session.connection()
    seq = conn.execute(_INSERT_TRACK, {name: getattr(info, name) for name in _TRACK_FIELDS}).scalar_one()
    if info.files:
        conn.execute(_INSERT_FILE, [{"track_seq": seq, "kind": f.kind, "filename": f.filename,
                                     "media_type": f.media_type, "size_bytes": f.size_bytes,
                                     "created_at": info.created_at} for f in info.files])


def record_track(db: Database, info: TrackInfo) -> TrackInfo:
    """Insert a track and its files in one transaction (the files must already be in the store)."""
    with db.write() as session:
        insert_track(session, info)
    return info


def add_file(db: Database, track_id: str, file: FileInfo) -> bool:
    """Record another file of an existing track; False when the track is gone (delete it then)."""
    with db.write() as session:
        seq = session.scalar(select(Track.seq).where(Track.id == track_id))
        if seq is None:
            return False
        session.add(TrackFile(track_seq=seq, kind=file.kind, filename=file.filename, media_type=file.media_type,
                              size_bytes=file.size_bytes, created_at=utc_now()))
    return True


def _owned(stmt, owner: int | None):  # noqa: ANN001, ANN202 - a Select
    return stmt if owner is None else stmt.where(Track.owner_id == owner)


def get_track(db: Database, track_id: str, *, owner: int | None = None) -> TrackInfo | None:
    """The track ``track_id`` if ``owner`` may see it, else None (another key's track is not there)."""
    with db.read() as session:
        row = session.scalar(_owned(select(Track).where(Track.id == track_id), owner))
        return _info(row) if row is not None else None


def tracks_by_id(db: Database, track_ids: list[str]) -> dict[str, TrackInfo]:
    """The tracks of these ids that still exist, in one query (a job's finished tracks)."""
    if not track_ids:
        return {}
    with db.read() as session:
        return {row.id: _info(row) for row in session.scalars(select(Track).where(Track.id.in_(track_ids)))}


def track_for_file(db: Database, filename: str, *, owner: int | None = None) -> tuple[TrackInfo, FileInfo] | None:
    """The track owning store file ``filename`` and that file, if ``owner`` may see it."""
    with db.read() as session:
        row = session.scalar(_owned(select(Track).join(TrackFile).where(TrackFile.filename == filename), owner))
        if row is None:
            return None
        info = _info(row)
    file = next((f for f in info.files if f.filename == filename), None)
    return (info, file) if file is not None else None


def encode_cursor(seq: int) -> str:
    """An opaque cursor: the position after which the next page starts."""
    return base64.urlsafe_b64encode(json.dumps({"before": int(seq)}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The position a cursor of :func:`encode_cursor` holds; :class:`BadCursor` otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)["before"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadCursor("is not a cursor this service gave out") from None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BadCursor("is not a cursor this service gave out")
    return value


def tracks_for(db: Database, owner: int | None, *, style: str | None = None, limit: int = 20,
               cursor: str | None = None) -> TrackPage:
    """A page of ``owner``'s tracks, newest first, optionally of one ``style``.

    The cursor names the last track of the previous page by its position in the library, so
    tracks added meanwhile never shift or repeat the pages that follow.
    """
    stmt = _owned(select(Track), owner)
    if style is not None:
        stmt = stmt.where(Track.style == style)
    if cursor is not None:
        stmt = stmt.where(Track.seq < decode_cursor(cursor))
    stmt = stmt.order_by(Track.seq.desc()).limit(limit + 1)
    with db.read() as session:
        rows = list(session.scalars(stmt))
        more = len(rows) > limit
        rows = rows[:limit]
        tracks = [_info(r) for r in rows]
        last_seq = rows[-1].seq if rows else None
    return TrackPage(tracks, encode_cursor(last_seq) if more and last_seq is not None else None)


def delete_track(db: Database, track_id: str, *, owner: int | None = None) -> list[str] | None:
    """Remove the track's rows; the names of its files (for the store to delete), or None if not there.

    Rows go before files, so no listed track ever points at a deleted file.
    """
    with db.write() as session:
        row = session.scalar(_owned(select(Track).where(Track.id == track_id), owner))
        if row is None:
            return None
        names = [f.filename for f in row.files]
        session.delete(row)
    return names


def prune_tracks(db: Database, keep: int) -> list[str]:
    """Delete the oldest tracks beyond the newest ``keep`` (rows first); the file names to delete."""
    if keep <= 0:
        return []
    with db.write() as session:
        boundary = session.scalar(select(Track.seq).order_by(Track.seq.desc()).offset(keep).limit(1))
        if boundary is None:
            return []
        old = select(Track.seq).where(Track.seq <= boundary)
        names = list(session.scalars(select(TrackFile.filename).where(TrackFile.track_seq.in_(old))))
        session.execute(delete(TrackFile).where(TrackFile.track_seq.in_(old)))
        session.execute(delete(Track).where(Track.seq <= boundary))
    return names


def count_tracks(db: Database, owner: int | None = None) -> int:
    """How many tracks ``owner`` (None: everyone) has."""
    with db.read() as session:
        return int(session.scalar(_owned(select(func.count()).select_from(Track), owner)) or 0)


def all_file_names(db: Database) -> dict[str, str]:
    """Every recorded file name and the id of its track (for reconciling with the store)."""
    with db.read() as session:
        return dict(session.execute(select(TrackFile.filename, Track.id).join(Track)).all())


def forget_tracks(db: Database, track_ids: list[str]) -> list[str]:
    """Delete these tracks' rows (their main file is lost); the names of the files they listed."""
    if not track_ids:
        return []
    with db.write() as session:
        seqs = select(Track.seq).where(Track.id.in_(track_ids))
        names = list(session.scalars(select(TrackFile.filename).where(TrackFile.track_seq.in_(seqs))))
        session.execute(delete(TrackFile).where(TrackFile.track_seq.in_(seqs)))
        session.execute(delete(Track).where(Track.id.in_(track_ids)))
    return names


def forget_files(db: Database, filenames: list[str]) -> None:
    """Delete the rows of files that are no longer in the store (a track's extra formats)."""
    if filenames:
        with db.write() as session:
            session.execute(delete(TrackFile).where(TrackFile.filename.in_(filenames)))
