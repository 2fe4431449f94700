"""The files of a track over HTTP: the mix in every format, the MIDI, the score JSON and the stems.

A file the track does not have yet is made on this first request (see
:mod:`aimusic.track_files`), kept, and served like every stored file: with its media type,
``Range``, ``ETag`` and ``Last-Modified``. A track of another key is answered like a track
that does not exist (404).
"""
from __future__ import annotations

from flask import Blueprint, Response

from .. import library
from ..encode.audio import AUDIO_FORMATS
from ..slots import Overloaded
from ..store import StoreError
from ..track_files import TrackFiles, TrackGone
from .auth import authenticate, current_owner
from .errors import ApiError
from .tracks import _track_id, send_store_file, service

bp = Blueprint("files", __name__)
bp.before_request(authenticate)

BUSY_RETRY_S = 5


def serve_kind(track_id: str, kind: str) -> Response:
    """The file of ``kind`` of the owner's track ``track_id``, made first if it is not there yet."""
    svc = service()
    owner = current_owner()
    info = library.get_track(svc.db, _track_id(track_id), owner=owner)
    if info is None:
        raise ApiError(404, "no such track")
    try:
        file = TrackFiles(svc).ensure(info, kind)
    except TrackGone:
        raise ApiError(404, "no such track") from None
    except (Overloaded, TimeoutError) as exc:
        raise ApiError(503, f"server busy: {exc}", headers={"Retry-After": str(BUSY_RETRY_S)}) from None
    except StoreError as exc:
        raise ApiError(503, f"output folder is not writable: {exc.strerror or exc}",
                       headers={"Retry-After": "60"}) from None
    return send_store_file(file.filename, owner=owner)


@bp.get("/api/tracks/<track_id>/audio.<ext>")
def track_audio(track_id: str, ext: str) -> Response:
    """The mix as WAV, FLAC, MP3 or Ogg Vorbis."""
    if ext not in AUDIO_FORMATS:
        raise ApiError(404, "no such format: audio." + ext[:16] + " (wav, flac, mp3, ogg)")
    return serve_kind(track_id, ext)


@bp.get("/api/tracks/<track_id>/score.mid")
def track_midi(track_id: str) -> Response:
    """The Score as a type-1 Standard MIDI File."""
    return serve_kind(track_id, "midi")


@bp.get("/api/tracks/<track_id>/score.json")
def track_score(track_id: str) -> Response:
    """The Score as JSON (``ScoreDocument`` in /openapi.json)."""
    return serve_kind(track_id, "score")


@bp.get("/api/tracks/<track_id>/stems.zip")
def track_stems(track_id: str) -> Response:
    """One WAV per part, aligned with the mix, in a zip."""
    return serve_kind(track_id, "stems")
