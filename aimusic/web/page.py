"""The web page: plain HTML, CSS and JavaScript served by the app itself (no CDN)."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, request, send_file

STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE_FILE = STATIC_DIR / "index.html"

# Everything the page needs comes from this origin: scripts, styles, the API and the audio
# (with keys on, audio fetched with the key plays from a blob: URL the page made itself).
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")

bp = Blueprint("page", __name__, static_folder="static", static_url_path="/static")


def prefers_html() -> bool:
    """Whether the client's ``Accept`` header ranks HTML above JSON (a browser does, curl does not)."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and request.accept_mimetypes["text/html"] > request.accept_mimetypes[
        "application/json"]


def page_response() -> Response:
    """The single-page UI, never cached stale, locked to this origin by its CSP."""
    response = send_file(PAGE_FILE, mimetype="text/html", conditional=True, max_age=0)
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.vary.add("Accept")
    return response
