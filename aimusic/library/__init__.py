"""The track library: the one package that owns the database (models, migrations, queries).

``Library(url)`` opens the database; its functions live in modules named for what they hold
(:mod:`.tracks`, :mod:`.keys`, :mod:`.usage`) and take the :class:`Database` first, so a view
or a worker calls a named query (``tracks_for(db, owner, style=…, limit=…, cursor=…)``) and
never writes SQL. Nothing outside this package imports SQLAlchemy.
"""
from __future__ import annotations

from .database import Database, DatabaseError
from . import jobs
from .jobs import JobInfo
from .keys import KeyInfo, KeyNameError, create_key, list_keys, owner_of, revoke_key
from .tracks import (
    BadCursor, FileInfo, TrackInfo, TrackPage, add_file, all_file_names, count_tracks, delete_track, forget_files,
    forget_tracks, get_track, prune_tracks, record_track, track_for_file, tracks_by_id, tracks_for, utc_now,
)
from .usage import Refusal, check_and_count, usage_today

__all__ = [
    "JobInfo", "jobs", "BadCursor", "Database", "DatabaseError", "FileInfo", "KeyInfo", "KeyNameError", "Refusal", "TrackInfo",
    "TrackPage", "add_file", "all_file_names", "check_and_count", "count_tracks", "create_key", "delete_track",
    "forget_files", "forget_tracks", "get_track", "list_keys", "owner_of", "prune_tracks", "record_track",
    "revoke_key", "track_for_file", "tracks_by_id", "tracks_for", "usage_today", "utc_now",
]


def open_library(url: str, *, migrate: bool = True) -> Database:
    """Open the database at ``url`` and bring its schema up to date (the migrations run on start)."""
    db = Database(url)
    if migrate:
        try:
            db.upgrade()
        except Exception as exc:  # the driver's own errors vary: report them as one
            db.dispose()
            raise DatabaseError(f"cannot open the library at {db.describe()}: {exc}") from exc
    return db
