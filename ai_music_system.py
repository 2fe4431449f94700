"""Entry point of the AI Music Generation System.

- ``gunicorn -c gunicorn.conf.py ai_music_system:app``: production server (``app`` is built on
  first access, once, in the gunicorn master when ``preload_app`` is on).
- ``python ai_music_system.py [serve]``: the same gunicorn server on HOST:PORT (default 0.0.0.0:5001).
- ``python ai_music_system.py generate --style jazz --duration 30 --seed 7 -o jazz.wav``: write one
  track and print the metadata the API returns.
- ``python ai_music_system.py keys create|list|revoke [NAME]``: API keys (``AUTH=keys``).
- ``python ai_music_system.py db upgrade|current``: the library's schema (every start upgrades it too).
- ``python ai_music_system.py worker``: run background jobs from Redis (``BROKER_URL``), on any machine.
- ``python ai_music_system.py batch --style jazz --count 20 -o DIR``: tracks into a folder, with a progress bar.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def __getattr__(name: str) -> Any:
    """Build ``app`` lazily so that importing this module (e.g. for the CLI) loads no model."""
    if name == "app":
        from aimusic.runtime import build_app

        globals()["app"] = build_app()
        return globals()["app"]
    raise AttributeError(name)


def serve(argv: list[str]) -> int:
    """Run gunicorn with ``gunicorn.conf.py`` (bind from HOST/PORT) on this module's ``app``."""
    from gunicorn.app.wsgiapp import WSGIApplication

    sys.argv = ["gunicorn", "-c", str(HERE / "gunicorn.conf.py"), *argv, "ai_music_system:app"]
    WSGIApplication("%(prog)s [OPTIONS]").run()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``serve`` (default), ``generate``, ``keys``, ``db``, ``worker`` or ``batch``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("generate", "keys", "db", "worker", "batch"):
        from aimusic.cli import COMMANDS

        return COMMANDS[argv[0]](argv[1:])
    if argv and argv[0] == "serve":
        argv = argv[1:]
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main())
