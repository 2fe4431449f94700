"""The HTTP API of API.md: views parse, call one service function, serialise."""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_file
from pydantic import ValidationError

from ..config import MAX_BODY_BYTES
from ..styles import STYLES, STYLE_NAMES
from .errors import ApiError, invalid
from .openapi import build_openapi
from .page import page_response, prefers_html
from .schemas import (
    GenerateRequest, HealthResponse, StyleInfo, StylesResponse, SystemInfo, describe_validation_errors, dump,
    generate_request_model,
)
from .service import GenerationService, Unavailable

bp = Blueprint("api", __name__)

SERVICE_NAME = "AI Music Generation System"
DOWNLOAD_MAX_AGE_S = 3600


def service() -> GenerationService:
    """The app's generation service."""
    return current_app.extensions["aimusic"]  # type: ignore[no-any-return]


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


def _unavailable(exc: Unavailable) -> ApiError:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
    return ApiError(503, exc.reason, headers=headers)


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
            "openapi": "GET /openapi.json",
            "page": "GET / (Accept: text/html)",
        },
    )
    response = jsonify(dump(info))
    response.vary.add("Accept")
    return response


@bp.get("/health")
def health() -> tuple[Response, int]:
    """Liveness and readiness: 200 when generations can be served, 503 when degraded."""
    body = HealthResponse.model_validate(service().health())
    return jsonify(dump(body)), 200 if body.status == "ok" else 503


@bp.get("/api/styles")
def styles() -> Response:
    """The six styles and their parameters."""
    body = StylesResponse(styles=[
        StyleInfo(name=s.name, description=s.description, default_tempo=s.default_tempo,
                  tempo_range=s.tempo_range, time_signature=s.time_signature, instruments=s.instruments)
        for s in STYLES.values()
    ])
    return jsonify(dump(body))


@bp.post("/api/generate")
def generate_track() -> tuple[Response, int, dict[str, str]]:
    """Compose and render one track synchronously; 201 with its metadata and Location."""
    svc = service()
    wait = svc.rate_limiter.hit(request.remote_addr or "unknown")
    if wait is not None:
        raise ApiError(429, f"too many requests: at most {svc.rate_limiter.per_minute} per minute",
                       headers={"Retry-After": str(wait)})
    params = parse_generate_request(read_json_object(), svc.settings.max_duration)
    try:
        result = svc.generate(params, download_prefix=request.script_root + "/api/download/")
    except Unavailable as exc:
        raise _unavailable(exc) from None
    return jsonify(dump(result)), 201, {"Location": result.download_url}


@bp.get("/api/download/<filename>")
def download(filename: str) -> Response:
    """A finished file from the output folder, with Range, ETag and Last-Modified support."""
    path = service().find_download(filename)
    if path is None:
        raise ApiError(404, "no such file")
    try:
        response = send_file(path, mimetype="audio/wav", as_attachment=True, download_name=filename,
                             conditional=True, etag=True, max_age=DOWNLOAD_MAX_AGE_S)
    except FileNotFoundError:  # pruned between the lookup and the open
        raise ApiError(404, "no such file") from None
    response.headers["Accept-Ranges"] = "bytes"
    return response


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document, generated from the request and response models."""
    return jsonify(build_openapi(max_duration=service().settings.max_duration, version=service().version))
