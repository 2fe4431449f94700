"""Every error the service answers, as the JSON of API.md, from one place.

Views raise :class:`ApiError` (or let an HTTP exception or a library error through);
the handlers registered here turn each into ``{"error": {code, message, details,
request_id}}`` with the right status. Unexpected exceptions are logged with their
traceback and the request id, and answered 500 without any internals.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Iterable

from flask import Flask, Response, g, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import ModelError, ParameterError

if TYPE_CHECKING:
    from ..service import Refused, Unavailable

try:   # the body stream of gunicorn raises these for a malformed body (a bad chunk size, a cut body)
    from gunicorn.http.errors import NoMoreData, ParseException
    BODY_ERRORS: tuple[type[BaseException], ...] = (ParseException, NoMoreData)
except ImportError:   # pragma: no cover - served by another WSGI server
    BODY_ERRORS = ()

log = logging.getLogger("aimusic.web")

# On every response, the app's and the HTTP server's own alike.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}

HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

HTTP_MESSAGES = {
    400: "the request is malformed",
    401: "an API key is required",
    404: "no such resource",
    405: "method not allowed on this resource",
    412: "precondition failed",
    413: "request body is larger than 64 KiB",
    415: "request body must be application/json",
    416: "requested range is not satisfiable",
    429: "too many requests",
    500: "internal error",
    503: "the service is unavailable",
}


class ApiError(Exception):
    """An error a view answers on purpose: status, code, message and field details."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 details: Iterable[dict[str, str]] = (), headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or HTTP_CODES.get(status, "http_error")
        self.message = message
        self.details = list(details)
        self.headers = dict(headers or {})


def invalid(field: str, message: str) -> ApiError:
    """A 400 naming ``field`` both in the message and in ``details``."""
    return ApiError(400, f"{field} {message}", details=[{"field": field, "message": message}])


def unavailable(exc: "Unavailable") -> ApiError:
    """The 503 for a service that cannot take the request now (with Retry-After when it knows when)."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
    return ApiError(503, exc.reason, headers=headers)


def refused(exc: "Refused") -> ApiError:
    """The 429 for a request over its key's quota or rate, with the Retry-After it was given."""
    return ApiError(429, str(exc), headers={"Retry-After": str(exc.refusal.retry_after)})


def error_response(status: int, message: str, *, code: str | None = None,
                   details: Iterable[dict[str, str]] = (), headers: dict[str, str] | None = None) -> Response:
    """Build the JSON error response of API.md."""
    body = {"code": code or HTTP_CODES.get(status, "http_error"), "message": message,
            "details": list(details), "request_id": g.get("request_id")}
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _handle_api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.message, code=exc.code, details=exc.details, headers=exc.headers)


def _handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    # Keep protocol headers such as Allow (405) and Content-Range (416); the body is ours.
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return error_response(status, HTTP_MESSAGES.get(status, exc.name.lower()), headers=headers)


def _handle_parameter_error(exc: ParameterError) -> Response:
    return error_response(400, f"{exc.field} {exc.message}", details=[{"field": exc.field, "message": exc.message}])


def _handle_model_error(exc: ModelError) -> Response:
    log.error("melody model failed [request %s]: %s", g.get("request_id"), exc)
    return error_response(503, "the melody model is unavailable", headers={"Retry-After": "30"})


def _handle_unexpected(exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return _handle_http_exception(exc)
    if isinstance(exc, BODY_ERRORS):   # the client's malformed body, met while reading it: not a bug
        log.warning("malformed request body [request %s]: %s", g.get("request_id"), exc)
        return error_response(400, f"the request body is malformed: {str(exc)[:200]}",
                              headers={"Connection": "close"})   # the rest of the stream cannot be parsed
    log.exception("unhandled error [request %s]", g.get("request_id"))
    return error_response(500, "internal error; quote the request id when reporting it")


def register_error_handlers(app: Flask) -> None:
    """Install the JSON error handlers on ``app``."""
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(ParameterError, _handle_parameter_error)
    app.register_error_handler(ModelError, _handle_model_error)
    app.register_error_handler(Exception, _handle_unexpected)
