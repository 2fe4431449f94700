"""Start-up of a serving process group: settings → library → model → warm caches → app.

Run once, in the gunicorn master before it forks (``preload_app``), so the workers share the
loaded model and the warm caches, and the library is migrated and reconciled exactly once.
"""
from __future__ import annotations

from flask import Flask

from .config import Settings
from .web import create_app


def build_app(settings: Settings | None = None) -> Flask:
    """The app a server runs: migrated library, loaded model, warm caches, store reconciled."""
    settings = settings or Settings.from_env()
    app = create_app(settings)
    app.extensions["aimusic"].prepare()
    return app
