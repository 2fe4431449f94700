"""The web layer: ``create_app(settings)`` builds the Flask app of API.md.

Nothing is configured at import time: each call builds a fresh app with its own
settings, service and output folder, so tests can run several side by side. The factory is
cheap: it opens (and migrates) the library but loads no model and renders nothing; a server
calls :func:`aimusic.runtime.build_app`, which also loads the model and warms the caches once,
before gunicorn forks its workers.
"""
from __future__ import annotations

import dataclasses
import logging
import re
import sys
import time
import uuid

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .. import library
from ..config import MAX_BODY_BYTES, Settings
from ..melodists import MelodistInfo
from ..service import TrackService
from ..jobs import make_queue
from . import api, jobs, page, tracks, variations
from . import files
from .errors import SECURITY_HEADERS, register_error_handlers

access_log = logging.getLogger("aimusic.access")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


def configure_logging(level: str) -> None:
    """Log the package at ``level`` (LOG_LEVEL) to stderr, unless the host already routes logs.

    Under gunicorn the root logger has no handler, so one stderr handler is added (once);
    where the root logger is already set up (an embedding app, pytest), records propagate to it.
    """
    logger = logging.getLogger("aimusic")
    logger.setLevel(level.upper())
    ours = [h for h in logger.handlers if getattr(h, "_aimusic", False)]
    if not ours and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_LOG_FORMAT))
        handler._aimusic = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False


def _start_request() -> None:
    g.started = time.perf_counter()
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex


def _finish_request(response: Response) -> Response:
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers["X-Request-ID"] = request_id
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1e3
    if response.status_code == 413:
        response.headers["Connection"] = "close"  # the unread body must not be parsed as a next request
    path = request.path[:200].encode("unicode_escape").decode("ascii")  # no control characters in logs
    access_log.info("%s %s %d %.1fms id=%s", request.method, path, response.status_code, elapsed_ms, request_id)
    return response


def create_app(settings: Settings | None = None, *, melodist: MelodistInfo | None = None,
               db: library.Database | None = None, **overrides: object) -> Flask:
    """Build the Flask app.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to :meth:`Settings.from_env`.
    melodist : MelodistInfo, optional
        An already loaded melodist to share; loaded on first use otherwise.
    db : Database, optional
        An open library; opened (and migrated) from ``settings.resolved_database_url`` otherwise.
    **overrides
        Settings fields to replace, e.g. ``output_dir=tmp_path``.

    Returns
    -------
    Flask
        The app; its :class:`TrackService` is ``app.extensions["aimusic"]``.
    """
    if settings is None:
        settings = Settings.from_env(**overrides)
    elif overrides:
        if "keep_files" in overrides:  # the older name of keep_tracks
            overrides.setdefault("keep_tracks", overrides.pop("keep_files"))
        settings = dataclasses.replace(settings, **overrides)  # type: ignore[arg-type]
    configure_logging(settings.log_level)
    if db is None:
        try:
            db = library.open_library(settings.resolved_database_url)
        except library.DatabaseError as exc:  # serve /health as degraded; migrations retried on use
            logging.getLogger("aimusic.library").error("%s", exc)
            db = library.Database(settings.resolved_database_url)

    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    if settings.proxy_hops:  # behind a trusted reverse proxy: the client's address is in X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops)  # type: ignore[method-assign]
    app.config["AIMUSIC_SETTINGS"] = settings
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.mimetype = "application/json; charset=utf-8"  # type: ignore[attr-defined]
    app.extensions["aimusic"] = TrackService(settings, db, melodist)
    # Runner threads of the embedded queue start on the first job request, or after a server forks
    # its workers (gunicorn.conf.py post_worker_init): never in the factory.
    app.extensions["aimusic_jobs"] = make_queue(app.extensions["aimusic"])

    app.before_request(_start_request)
    app.after_request(_finish_request)
    register_error_handlers(app)
    app.register_blueprint(page.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(api.api)
    app.register_blueprint(tracks.bp)
    app.register_blueprint(variations.bp)
    app.register_blueprint(files.bp)
    app.register_blueprint(jobs.bp)
    return app
