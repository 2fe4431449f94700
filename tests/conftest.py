"""Shared fixtures: a seeded rng, an app on a temporary folder, and a real gunicorn server.

The server is started once per session from the project's own ``gunicorn.conf.py`` on a
free port with a temporary OUTPUT_DIR (everything else at its defaults, MELODY_ENGINE
included), and stopped when the session ends.
"""
from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Iterator

import aimusic  # noqa: F401  (first: it pins the numeric kernels before NumPy loads)
import numpy as np
import pytest

from .servers import PostgresServer, free_port, postgres_server

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SERVER_START_TIMEOUT_S = 120.0


@dataclass
class HttpResponse:
    """Status, headers and body of one raw HTTP exchange."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http_request(host: str, port: int, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 120.0) -> HttpResponse:
    """Send one request with ``path`` exactly as given (no normalisation or re-encoding)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        all_headers = dict(headers or {})
        if body is not None and "Content-Length" not in all_headers:
            all_headers["Content-Length"] = str(len(body))
        for name, value in all_headers.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        return HttpResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


@dataclass
class LiveServer:
    """A running server: where it listens and where it writes."""

    host: str
    port: int
    output_dir: Path
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 120.0) -> HttpResponse:
        return http_request(self.host, self.port, method, path, body, headers, timeout)

    def get(self, path: str, headers: dict[str, str] | None = None) -> HttpResponse:
        return self.request("GET", path, headers=headers)

    def post_json(self, path: str, payload: Any, headers: dict[str, str] | None = None) -> HttpResponse:
        return self.request("POST", path, json.dumps(payload).encode(),
                            {"Content-Type": "application/json", **(headers or {})})

    def log_tail(self, n: int = 40) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])


def server_env(output_dir: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment a test server runs with: ours, minus service settings, plus these."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("HOST", "PORT", "OUTPUT_DIR", "MAX_DURATION", "RATE_LIMIT_PER_MINUTE", "DAILY_QUOTA",
                        "MAX_CONCURRENT_GENERATIONS", "KEEP_FILES", "KEEP_TRACKS", "MELODY_ENGINE", "MODEL_PATH",
                        "WARM_UP", "DATABASE_URL", "AUTH", "BROKER_URL", "JOB_TIME_LIMIT_S", "JOB_STALE_S",
                        "JOB_THREADS", "WORKER_THREADS")}
    env.update(HOST="127.0.0.1", PORT=str(port), OUTPUT_DIR=str(output_dir), WEB_CONCURRENCY="1",
               GUNICORN_THREADS="4", OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def wait_until_healthy(proc: subprocess.Popen, host: str, port: int, log_path: Path) -> None:
    """Poll /health until it answers; fail with the server's log if it dies or never does."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            if http_request(host, port, "GET", "/health", timeout=5).status in (200, 503):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not answer /health:\n{log_path.read_text(errors='replace')}")


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it does not stop."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``gunicorn -c gunicorn.conf.py ai_music_system:app`` on a free port, once per session."""
    base = tmp_path_factory.mktemp("server")
    output_dir = base / "output"
    log_path = base / "server.log"
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "-c", str(PROJECT_ROOT / "gunicorn.conf.py"), "ai_music_system:app"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=server_env(output_dir, port), stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(proc, "127.0.0.1", port, log_path)
        yield LiveServer("127.0.0.1", port, output_dir, log_path)
    finally:
        stop_process(proc)


@pytest.fixture(scope="session")
def melodist_info():
    """The default melody writer, loaded once for every app the unit tests build."""
    from aimusic.config import Settings
    from aimusic.melodists import load_melodist

    settings = Settings.from_env({})
    return load_melodist(settings.melody_engine, settings.model_path)


@pytest.fixture
def make_app(tmp_path: Path, melodist_info):
    """Build an app on a temporary output folder with default settings plus ``overrides``."""
    from aimusic.config import Settings
    from aimusic.web import create_app

    def build(**overrides: Any):
        overrides.setdefault("output_dir", tmp_path / "output")
        overrides.setdefault("warm_up", False)    # rendered once per app: tests build many apps
        return create_app(Settings.from_env({}, **overrides), melodist=melodist_info)

    return build


@pytest.fixture
def app(make_app):
    """An app with default settings writing into a temporary folder."""
    return make_app()


@pytest.fixture
def client(app):
    """The app's test client."""
    return app.test_client()


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so a test's random inputs are the same on every run."""
    return np.random.default_rng(20240601)


@contextmanager
def captured_logs(name: str) -> Iterator[list[logging.LogRecord]]:
    """Records emitted on logger ``name`` while the block runs (the app's loggers need not propagate)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


# -- databases ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server of our own on a free port, for the whole session."""
    with postgres_server() as server:
        yield server


def fresh_database_url(kind: str, tmp_path: Path, server: PostgresServer | None) -> str:
    """A new empty database of ``kind`` (``sqlite`` or ``postgresql``) for one test."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'library.sqlite3'}"
    import secrets

    assert server is not None
    name = "t_" + secrets.token_hex(6)
    server.admin(f"CREATE DATABASE {name}")
    return server.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path) -> str:
    """An empty database URL, once on SQLite and once on a real PostgreSQL server."""
    server = request.getfixturevalue("postgres") if request.param == "postgresql" else None
    return fresh_database_url(request.param, tmp_path, server)
