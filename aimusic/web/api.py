"""The HTTP API of API.md: views parse, call one service function, serialise."""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import ValidationError

from ..config import MAX_BODY_BYTES
from ..service import Refused, Unavailable
from ..store import is_store_name
from ..energy import STYLE_ENERGY
from ..instrument_choices import PART_CHOICES, spoken
from ..meters import meter_names
from ..styles import STYLES, STYLE_NAMES
from .auth import authenticate, current_owner
from .errors import ApiError, invalid, refused, unavailable
from .openapi import build_openapi
from .page import page_response, prefers_html
from .schemas import (
    MAX_PAGE_SIZE, MAX_TEMPERATURE, MAX_TEMPO, MIN_DURATION, MIN_TEMPERATURE, MIN_TEMPO, GenerateRequest,
    PartChoices, RequestLimits, HealthResponse, StyleInfo, StylesResponse, SystemInfo, describe_validation_errors, dump,
    generate_request_model,
)
from .tracks import send_store_file, service, track_body

bp = Blueprint("api", __name__)
api = Blueprint("generate", __name__)  # the /api/ routes of this module: they need a key when keys are on
api.before_request(authenticate)

SERVICE_NAME = "AI Music Generation System"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_json_object() -> dict[str, Any]:
    """The request body as a JSON object, or an :class:`ApiError` saying what is wrong with it."""
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise ApiError(413, "request body is larger than 64 KiB")
    raw = request.get_data(cache=False)  # bounded by MAX_CONTENT_LENGTH for chunked bodies too
    if length is None and len(raw) >= MAX_BODY_BYTES:
        # A chunked body is cut at the limit rather than refused: reaching it means too large.
        raise ApiError(413, "request body is larger than 64 KiB")
    if not raw.strip():
        raise invalid("body", "must be a JSON object, got an empty body")
    if not request.is_json:
        raise ApiError(415, "request body must be application/json")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise invalid("body", "is not valid JSON") from None
    if not isinstance(data, dict):
        raise invalid("body", f"must be a JSON object, got {type(data).__name__}")
    return data


def parse_generate_request(data: dict[str, Any], max_duration: float) -> GenerateRequest:
    """Validate a decoded body against the request model; 400 naming every bad field."""
    model = generate_request_model(max_duration)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = describe_validation_errors(exc, model)
        first = details[0]
        raise ApiError(400, f"{first['field']} {first['message']}", details=details) from None


@bp.get("/")
def index() -> Response:
    """System information (JSON) for API clients; the web page for browsers."""
    if prefers_html():
        return page_response()
    health = service().health()
    info = SystemInfo(
        name=SERVICE_NAME, version=service().version, status=health["status"], styles=list(STYLE_NAMES),
        endpoints={
            "health": "GET /health",
            "styles": "GET /api/styles",
            "generate": "POST /api/generate",
            "download": "GET /api/download/<filename>",
            "tracks": "GET /api/tracks",
            "track": "GET|DELETE /api/tracks/<id>",
            "track_files": "GET /api/tracks/<id>/audio.<wav|flac|mp3|ogg>, score.mid, score.json, stems.zip",
            "jobs": "POST|GET /api/jobs",
            "openapi": "GET /openapi.json",
            "page": "GET / (Accept: text/html)",
        },
        auth=service().settings.auth,
        limits=RequestLimits(duration=(MIN_DURATION, service().settings.max_duration), tempo=(MIN_TEMPO, MAX_TEMPO),
                             temperature=(MIN_TEMPERATURE, MAX_TEMPERATURE), page_size=(1, MAX_PAGE_SIZE)),
    )
    response = jsonify(dump(info))
    response.vary.add("Accept")
    return response


@bp.get("/health")
def health() -> tuple[Response, int]:
    """Liveness and readiness: 200 when generations can be served, 503 when degraded."""
    status = service().health()
    jobs = current_app.extensions["aimusic_jobs"]
    jobs_ok, jobs_reason = jobs.health()
    status["jobs"] = {"backend": jobs.backend, "ok": jobs_ok}
    if not jobs_ok:
        status["status"] = "degraded"
        status["reason"] = status.get("reason") or jobs_reason
    body = HealthResponse.model_validate(status)
    return jsonify(dump(body)), 200 if body.status == "ok" else 503


@api.get("/api/styles")
def styles() -> Response:
    """The six styles and their parameters."""
    body = StylesResponse(styles=[
        StyleInfo(name=s.name, description=s.description, default_tempo=s.default_tempo,
                  tempo_range=s.tempo_range, time_signature=s.time_signature, instruments=s.instruments,
                  time_signatures=meter_names(s.name), energy=STYLE_ENERGY[s.name],
                  parts=[PartChoices(name=part, instruments=[spoken(i) for i in choices])
                         for part, choices in PART_CHOICES[s.name].items()])
        for s in STYLES.values()
    ])
    return jsonify(dump(body))


@api.post("/api/generate")
def generate_track() -> tuple[Response, int, dict[str, str]]:
    """Compose, render and record one track synchronously; 201 with the track and Location."""
    svc = service()
    data = read_json_object()
    params = parse_generate_request(data, svc.settings.max_duration)
    try:
        svc.admit(g.subject)
        info = svc.make_track(params, owner=current_owner(), request=data)
    except Refused as exc:
        raise refused(exc) from None
    except Unavailable as exc:
        raise unavailable(exc) from None
    body = track_body(info)
    return jsonify(body), 201, {"Location": body["download_url"]}


@api.get("/api/download/<filename>")
def download(filename: str) -> Response:
    """A file the service recorded for a track, with Range, ETag and Last-Modified support."""
    if not is_store_name(filename):
        raise ApiError(404, "no such file")
    return send_store_file(filename, owner=current_owner())


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document, generated from the request and response models."""
    settings = service().settings
    return jsonify(build_openapi(max_duration=settings.max_duration, version=service().version, auth=settings.auth))
