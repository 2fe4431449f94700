"""The track library over HTTP: list, show, delete, and serving a track's stored files.

Views parse, call one library or service function with the request's owner, serialise. A
track of another key is answered exactly like a track that does not exist (404).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request
from werkzeug.http import parse_range_header
from werkzeug.wsgi import wrap_file

from .. import library
from ..encode.audio import AUDIO_FORMATS
from ..service import TrackService
from ..store import FILE_ID_RE
from ..styles import STYLE_NAMES
from .auth import authenticate, current_owner
from .errors import ApiError, invalid
from .schemas import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, TrackList, TrackResponse, dump

bp = Blueprint("tracks", __name__)
bp.before_request(authenticate)

DOWNLOAD_MAX_AGE_S = 3600
LIST_PARAMS = ("style", "limit", "cursor")


def service() -> TrackService:
    """The app's track service."""
    return current_app.extensions["aimusic"]  # type: ignore[no-any-return]


def _iso(info: library.TrackInfo) -> str:
    return info.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def track_body(info: library.TrackInfo, *, full: bool = False) -> dict[str, Any]:
    """The JSON of a track: generate's response (plus ``request`` and ``sections`` when ``full``)."""
    root = request.script_root
    main = info.file(info.format) or info.file("wav")   # the file of the asked format, made with the track
    filename = main.filename if main else f"{info.style}_{info.id}.wav"
    download = f"{root}/api/download/{filename}"
    base = f"{root}/api/tracks/{info.id}"
    fields: dict[str, Any] = dict(
        id=info.id, filename=filename, download_url=download, style=info.style, duration=info.duration_s,
        tempo=info.tempo, key=info.key, seed=info.seed, temperature=info.temperature,
        sample_rate=info.sample_rate, channels=info.channels, bars=info.bars,
        time_signature=info.time_signature, model=info.model_name, generation_time_ms=info.generation_ms,
        format=info.format, created_at=_iso(info),
        links={"self": base, "audio": {fmt: f"{base}/audio.{fmt}" for fmt in AUDIO_FORMATS},
               "download": download, "midi": f"{base}/score.mid", "score": f"{base}/score.json",
               "stems": f"{base}/stems.zip"},
    )
    if info.request.get("loop") is True:
        fields["loop"] = True
    lineage = info.plan.get("variation")
    if lineage:
        fields.update(variation_of=lineage["of"], vary=lineage["layers"][-1][1])
        fields["links"]["original"] = f"{root}/api/tracks/{lineage['of']}"
    if not full:
        return fields
    fields.update(request=info.request, sections=info.plan.get("sections", []))
    return dump(TrackResponse.model_validate(fields))


def _track_id(track_id: str) -> str:
    if not FILE_ID_RE.fullmatch(track_id):
        raise ApiError(404, "no such track")
    return track_id


def _page_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise invalid("limit", f"must be an integer between 1 and {MAX_PAGE_SIZE}")
    return int(raw)


@bp.get("/api/tracks")
def list_tracks() -> Response:
    """The owner's tracks, newest first, a page at a time (``style``, ``limit``, ``cursor``)."""
    for name in request.args:
        if name not in LIST_PARAMS:
            raise invalid(name, "is not a known parameter (style, limit, cursor)")
    style = request.args.get("style")
    if style is not None:
        style = style.strip().lower()
        if style not in STYLE_NAMES:
            raise invalid("style", "must be one of " + ", ".join(STYLE_NAMES))
    limit = _page_size(request.args.get("limit"))
    cursor = request.args.get("cursor")
    try:
        page = library.tracks_for(service().db, current_owner(), style=style, limit=limit, cursor=cursor)
    except library.BadCursor as exc:
        raise invalid("cursor", str(exc)) from None
    body = TrackList(tracks=[TrackResponse.model_validate(track_body(t, full=True)) for t in page.tracks],
                     next_cursor=page.next_cursor)
    response = current_app.json.response(body.model_dump(mode="json", exclude_none=False))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/tracks/<track_id>")
def show_track(track_id: str) -> Response:
    """One track with the request as given and its sections."""
    info = library.get_track(service().db, _track_id(track_id), owner=current_owner())
    if info is None:
        raise ApiError(404, "no such track")
    response = current_app.json.response(track_body(info, full=True))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/api/tracks/<track_id>")
def delete_track(track_id: str) -> tuple[str, int]:
    """Delete a track and all its files; 204, then 404 for it."""
    if not service().delete(_track_id(track_id), owner=current_owner()):
        raise ApiError(404, "no such track")
    return "", 204


def range_environ(environ: dict[str, Any]) -> dict[str, Any]:
    """``environ`` without a ``Range`` this service ignores: one it cannot parse, or several ranges.

    RFC 9110 section 14.2 lets a server ignore a Range it does not support and send the whole file
    (200): a multipart answer to several ranges is not supported, and a malformed header or another
    unit than bytes is not a range of ours. A single well-formed range that misses the file is still 416.
    """
    header = environ.get("HTTP_RANGE")
    if header is None:
        return environ
    parsed = parse_range_header(header)
    if parsed is not None and parsed.units == "bytes" and len(parsed.ranges) == 1:
        return environ
    return {k: v for k, v in environ.items() if k != "HTTP_RANGE"}


def send_store_file(filename: str, *, owner: int | None) -> Response:
    """A file the library records for a track ``owner`` may see, with Range, ETag and Last-Modified.

    The name is looked up in the library first, so only files the service recorded are served;
    the store then opens it without following links and checks it is a plain single-link file.
    """
    svc = service()
    found = library.track_for_file(svc.db, filename, owner=owner)
    if found is None:
        raise ApiError(404, "no such file")
    _, file = found
    opened = svc.store.open_file(filename)
    if opened is None:
        raise ApiError(404, "no such file")
    response = Response(wrap_file(request.environ, opened.handle), mimetype=file.media_type,
                        direct_passthrough=True)
    response.content_length = opened.size
    response.last_modified = opened.mtime  # type: ignore[assignment]
    response.set_etag(f"{filename}-{opened.size}-{int(opened.mtime * 1e6)}")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.cache_control.public = True
    response.cache_control.max_age = DOWNLOAD_MAX_AGE_S
    try:
        response = response.make_conditional(range_environ(request.environ), accept_ranges=True,
                                             complete_length=opened.size)
    except Exception:
        opened.handle.close()
        raise
    return response
