"""The OpenAPI 3.1 document, generated from the pydantic models the views use.

OpenAPI 3.1 schemas are JSON Schema 2020-12, which is what pydantic emits, so the
component schemas are the models' own schemas: a limit changed in a model changes here.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .schemas import (
    FILE_ID_PATTERN, FILENAME_PATTERN, MAX_PAGE_SIZE, ErrorResponse, GenerateResponse, HealthResponse,
    StylesResponse, SystemInfo, TrackList, TrackResponse, generate_request_model,
)
from ..encode.audio import AUDIO_FORMATS, MEDIA_TYPES
from ..encode.score_json import ScoreDocument
from ..styles import STYLE_NAMES
from .job_schemas import BatchRequest, JobList, JobResponse
from .variation_schema import VariationRequest

REF = "#/components/schemas/{model}"


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    texts = {
        400: "Invalid request: malformed JSON, wrong types, out-of-range values or unknown fields",
        401: "No valid API key (keys are on): see WWW-Authenticate",
        404: "Not found",
        405: "Method not allowed",
        412: "Precondition failed",
        413: "Request body over 64 KiB",
        415: "Body is not application/json",
        416: "Range not satisfiable",
        429: "Rate limited (see Retry-After)",
        500: "Internal error (the body carries the request id)",
        503: "Unavailable: output folder not writable, or all generation slots busy (see Retry-After)",
    }
    return {str(s): _json(ErrorResponse, texts[s]) for s in statuses}


_REQUEST_ID_HEADER = {"X-Request-ID": {"description": "Id of this request, also in logs and error bodies",
                                       "schema": {"type": "string"}}}


def _track_paths(wav: dict[str, Any]) -> dict[str, Any]:
    track_id = {"name": "track_id", "in": "path", "required": True,
                "schema": {"type": "string", "pattern": FILE_ID_PATTERN}}
    list_params = [
        {"name": "style", "in": "query", "required": False, "schema": {"type": "string", "enum": list(STYLE_NAMES)},
         "description": "Only tracks of this style (case-insensitive)."},
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 20}},
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "next_cursor of the previous page (opaque; stable while tracks are added)."},
    ]
    return {
        "/api/tracks": {"get": {
            "summary": "The library: tracks, newest first, cursor-paginated", "operationId": "listTracks",
            "parameters": list_params,
            "responses": {"200": _json(TrackList, "A page of tracks"), **_errors(400, 401)},
        }},
        "/api/tracks/{track_id}": {
            "get": {"summary": "One track: its metadata, the request as given, its sections and links",
                    "operationId": "getTrack", "parameters": [track_id],
                    "responses": {"200": _json(TrackResponse, "The track"), **_errors(401, 404)}},
            "delete": {"summary": "Delete a track and all its files", "operationId": "deleteTrack",
                       "parameters": [track_id],
                       "responses": {"204": {"description": "Deleted; later requests for it answer 404"},
                                     **_errors(401, 404)}},
        },
        "/api/tracks/{track_id}/audio.{ext}": {"get": {
            "summary": "The mix as WAV, FLAC, MP3 or Ogg Vorbis, made on its first request "
                       "(supports Range and conditional requests)",
            "operationId": "getTrackAudio",
            "parameters": [track_id, {"name": "ext", "in": "path", "required": True,
                                      "schema": {"type": "string", "enum": list(AUDIO_FORMATS)}}],
            "responses": {"200": {"description": "The whole file", "content": _media(*AUDIO_FORMATS)},
                          "206": {"description": "The requested byte range", "content": _media(*AUDIO_FORMATS)},
                          "304": {"description": "Not modified"}, **_errors(401, 404, 412, 416, 503)},
        }},
        "/api/tracks/{track_id}/variations": {"post": {
            "summary": "A new track on the same plan (key, tempo, meter, form, chords), new notes; it links to "
                       "its original", "operationId": "createVariation", "parameters": [track_id],
            "requestBody": {"required": False, "content": {"application/json": {"schema": _ref(VariationRequest)}}},
            "responses": {"201": {**_json(GenerateResponse, "The variation"),
                                  "headers": {"Location": {"description": "The new track's URL",
                                                           "schema": {"type": "string"}}}},
                          **_errors(400, 401, 404, 413, 415, 429, 503)},
        }},
        **_score_paths(track_id),
    }


def _media(*exts: str) -> dict[str, Any]:
    return {MEDIA_TYPES[e]: {"schema": {"type": "string", "contentMediaType": MEDIA_TYPES[e]}} for e in exts}


def _score_paths(track_id: dict[str, Any]) -> dict[str, Any]:
    """The Score and stems of a track: made on their first request, then served like any stored file."""
    def file_operation(summary: str, operation_id: str, content: dict[str, Any]) -> dict[str, Any]:
        return {"get": {"summary": summary, "operationId": operation_id, "parameters": [track_id],
                        "responses": {"200": {"description": "The whole file", "content": content},
                                      "206": {"description": "The requested byte range", "content": content},
                                      "304": {"description": "Not modified"}, **_errors(401, 404, 412, 416, 503)}}}

    return {
        "/api/tracks/{track_id}/score.mid": file_operation(
            "The Score as a type-1 Standard MIDI File: tempo map, meter, key, one named track per part",
            "getTrackMidi", _media("mid")),
        "/api/tracks/{track_id}/score.json": file_operation(
            "The Score as JSON: tempo map, meter, key, sections, chords and every part's notes",
            "getTrackScore", {"application/json": {"schema": _ref(ScoreDocument)}}),
        "/api/tracks/{track_id}/stems.zip": file_operation(
            "One 24-bit WAV per part, the mix's length and aligned with it, and stems.json", "getTrackStems",
            _media("zip")),
    }


def _job_paths(request_model: type[BaseModel]) -> dict[str, Any]:
    job_id = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{24}$"}}
    located = {"Location": {"description": "The job's URL", "schema": {"type": "string"}}}
    return {
        "/api/jobs": {
            "post": {"summary": "Queue one generate request or a batch of 1-50, generated in the background",
                     "operationId": "createJob",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "oneOf": [_ref(request_model), _ref(BatchRequest)]}}}},
                     "responses": {"202": {**_json(JobResponse, "Queued"), "headers": located},
                                   **_errors(400, 401, 413, 415, 429, 503)}},
            "get": {"summary": "The newest jobs", "operationId": "listJobs",
                    "parameters": [{"name": "limit", "in": "query", "required": False,
                                    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}],
                    "responses": {"200": _json(JobList, "Jobs, newest first"), **_errors(400, 401)}},
        },
        "/api/jobs/{job_id}": {
            "get": {"summary": "A job's status, progress, finished tracks and errors", "operationId": "getJob",
                    "parameters": [job_id], "responses": {"200": _json(JobResponse, "The job"), **_errors(401, 404)}},
            "delete": {"summary": "Cancel a job", "operationId": "cancelJob", "parameters": [job_id],
                       "responses": {"202": _json(JobResponse, "Cancelled, or cancelling at its next step"),
                                     **_errors(401, 404)}},
        },
        "/api/jobs/{job_id}/events": {"get": {
            "summary": "The job as Server-Sent Events (event 'job' on each change, 'end' when it ends)",
            "operationId": "jobEvents", "parameters": [job_id],
            "responses": {"200": {"description": "An event stream",
                                  "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                          **_errors(401, 404)},
        }},
    }


@lru_cache(maxsize=8)
def _document(max_duration: float, version: str, auth: str) -> dict[str, Any]:
    request_model = generate_request_model(max_duration)
    _, defs = models_json_schema(
        [(request_model, "validation"), (GenerateResponse, "serialization"), (StylesResponse, "serialization"),
         (HealthResponse, "serialization"), (SystemInfo, "serialization"), (ErrorResponse, "serialization"),
         (TrackResponse, "serialization"), (VariationRequest, "validation"), (TrackList, "serialization"), (ScoreDocument, "serialization"), (JobResponse, "serialization"),
         (JobList, "serialization"), (BatchRequest, "validation")],
        ref_template=REF,
    )
    wav = {"audio/wav": {"schema": {"type": "string", "contentMediaType": "audio/wav"}}}
    filename_param = {"name": "filename", "in": "path", "required": True,
                      "schema": {"type": "string", "pattern": FILENAME_PATTERN}}
    paths: dict[str, Any] = {
        "/": {"get": {
            "summary": "System information (JSON), or the web page when the client prefers text/html",
            "operationId": "index",
            "responses": {"200": {"description": "System information or the web page",
                                  "content": {"application/json": {"schema": _ref(SystemInfo)},
                                              "text/html": {"schema": {"type": "string"}}}}},
        }},
        "/health": {"get": {
            "summary": "Liveness and readiness", "operationId": "health",
            "responses": {"200": _json(HealthResponse, "Ready"),
                          "503": _json(HealthResponse, "Degraded: cannot serve generations")},
        }},
        "/api/styles": {"get": {
            "summary": "The six styles and their parameters", "operationId": "listStyles",
            "responses": {"200": _json(StylesResponse, "The styles")},
        }},
        "/api/generate": {"post": {
            "summary": "Compose and render one track, synchronously", "operationId": "generate",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(request_model)}}},
            "responses": {
                "201": {**_json(GenerateResponse, "Generated"),
                        "headers": {"Location": {"description": "The download URL", "schema": {"type": "string"}},
                                    **_REQUEST_ID_HEADER}},
                **_errors(400, 401, 413, 415, 429, 500, 503),
            },
        }},
        "/api/download/{filename}": {"get": {
            "summary": "A generated file (supports Range and conditional requests)", "operationId": "download",
            "parameters": [filename_param,
                           {"name": "Range", "in": "header", "required": False, "schema": {"type": "string"},
                            "example": "bytes=0-1023"}],
            "responses": {
                "200": {"description": "The whole file", "content": wav},
                "206": {"description": "The requested byte range", "content": wav},
                "304": {"description": "Not modified (If-None-Match / If-Modified-Since)"},
                **_errors(401, 404, 412, 416),
            },
        }},
        **_track_paths(wav),
        **_job_paths(request_model),
        "/openapi.json": {"get": {
            "summary": "This document", "operationId": "openapi",
            "responses": {"200": {"description": "OpenAPI 3.1 document",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}},
        }},
        "/static/{filename}": {"get": {
            "summary": "Assets of the web page (HTML, CSS, JavaScript)", "operationId": "staticAsset",
            "parameters": [{"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The asset"}, **_errors(404)},
        }},
    }
    for path, item in paths.items():
        for operation in item.values():
            operation["responses"].setdefault("405", _json(ErrorResponse, "Method not allowed"))
            if auth == "keys" and path.startswith("/api/"):
                operation["security"] = [{"apiKey": []}]
    components: dict[str, Any] = {"schemas": defs.get("$defs", {})}
    if auth == "keys":
        components["securitySchemes"] = {"apiKey": {
            "type": "http", "scheme": "bearer",
            "description": "A key from `python ai_music_system.py keys create NAME`."}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "AI Music Generation System", "version": version,
                 "description": "Compose and render original instrumental music in six styles as 44.1 kHz WAV."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": components,
    }


def build_openapi(*, max_duration: float, version: str, auth: str = "off") -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API for a service limited to ``max_duration`` seconds.

    With ``auth="keys"`` every ``/api/`` operation carries the bearer security scheme.
    """
    return copy.deepcopy(_document(float(max_duration), version, auth))
