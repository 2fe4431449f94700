"""API keys: created once and shown once, stored as SHA-256, looked up on every request.

A key is 32 random bytes (``am_`` + URL-safe base64). With that much entropy a plain SHA-256
is the right hash: nothing to brute-force, and a lookup is one indexed equality. The prefix
(the first characters) is kept so a person can tell keys apart in ``keys list``.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from .database import Database
from .models import ApiKey
from .tracks import utc_now

KEY_PREFIX = "am_"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LAST_USED_RESOLUTION = timedelta(seconds=60)  # last use is written at most once a minute per key


class KeyNameError(ValueError):
    """A key name that is invalid, taken or unknown."""


@dataclass(frozen=True)
class KeyInfo:
    """What ``keys list`` shows of a key: never the key itself."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(row.id, row.name, row.prefix, _aware(row.created_at), _aware(row.last_used_at),  # type: ignore[arg-type]
                   _aware(row.revoked_at))


def create_key(db: Database, name: str) -> tuple[KeyInfo, str]:
    """Create a key called ``name``; the key's record and the key (the only time it is known)."""
    if not NAME_RE.fullmatch(name):
        raise KeyNameError("a key name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with db.write() as session:
        if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
            raise KeyNameError(f"a key named {name!r} already exists")
        row = ApiKey(name=name, key_hash=hash_key(key), prefix=key[:8], created_at=utc_now())
        session.add(row)
        session.flush()
        info = _info(row)
    return info, key


def list_keys(db: Database) -> list[KeyInfo]:
    """Every key, oldest first, revoked ones included."""
    with db.read() as session:
        return [_info(r) for r in session.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke_key(db: Database, name: str) -> KeyInfo:
    """Revoke the key called ``name`` (its tracks stay, unreachable by anyone else)."""
    with db.write() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.name == name))
        if row is None:
            raise KeyNameError(f"no key named {name!r}")
        if row.revoked_at is None:
            row.revoked_at = utc_now()
        return _info(row)


def owner_of(db: Database, key: str) -> int | None:
    """The id of the live key ``key``, or None; notes its last use (at most once a minute)."""
    if not key.startswith(KEY_PREFIX) or len(key) > 128:
        return None
    digest = hash_key(key)
    with db.read() as session:
        row = session.execute(select(ApiKey.id, ApiKey.last_used_at, ApiKey.revoked_at)
                              .where(ApiKey.key_hash == digest)).first()
    if row is None or row.revoked_at is not None:
        return None
    now = utc_now()
    last = _aware(row.last_used_at)
    if last is None or now - last >= LAST_USED_RESOLUTION:
        with db.write() as session:
            session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
    return int(row.id)
