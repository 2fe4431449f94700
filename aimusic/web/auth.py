"""Who is asking: with ``AUTH=keys`` every ``/api/`` route needs ``Authorization: Bearer <key>``.

The owner (a key id, or None with keys off) is put on ``flask.g`` for the views, which pass it
to every library query, so one key never sees another's tracks. Rate limits and quotas are
counted per owner (per client address with keys off), in the database, across all workers.
"""
from __future__ import annotations

from flask import current_app, g, request

from .. import library
from ..config import Settings
from .errors import ApiError

CHALLENGE = 'Bearer realm="aimusic"'


def _settings() -> Settings:
    return current_app.config["AIMUSIC_SETTINGS"]  # type: ignore[no-any-return]


def unauthorized(message: str, error: str = "invalid_token") -> ApiError:
    """A 401 with the ``WWW-Authenticate`` challenge of RFC 6750."""
    challenge = CHALLENGE if error == "" else f'{CHALLENGE}, error="{error}"'
    return ApiError(401, message, headers={"WWW-Authenticate": challenge})


def authenticate() -> None:
    """``before_request`` of the API: set ``g.owner`` and ``g.subject`` or answer 401."""
    g.owner = None
    g.subject = "ip:" + (request.remote_addr or "unknown")
    if _settings().auth != "keys":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise unauthorized("an API key is required: send Authorization: Bearer <key>", error="")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("the Authorization header must be 'Bearer <key>'", error="invalid_request")
    db = current_app.extensions["aimusic"].db
    try:
        owner = library.owner_of(db, token.strip())
    except Exception:
        raise ApiError(503, "database unavailable", headers={"Retry-After": "5"}) from None
    if owner is None:
        raise unauthorized("the API key is not valid (unknown or revoked)")
    g.owner = owner
    g.subject = f"key:{owner}"


def current_owner() -> int | None:
    """The owner of this request (None with keys off: every track is visible)."""
    return g.get("owner")
