"""The library under a real gunicorn with two workers: concurrency, restarts, crashes, limits, keys.

Every test runs on SQLite and on a real PostgreSQL server.
"""
from __future__ import annotations

import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
import soundfile as sf

from aimusic.store import is_store_name

from .conftest import LiveServer
from .deploy import Deployment

pytestmark = pytest.mark.slow

@pytest.fixture
def deployment(tmp_path, database_url) -> Iterator[Deployment]:
    made: list[Deployment] = []

    def build(**env: str) -> Deployment:
        made.append(Deployment(tmp_path, database_url, **env))
        return made[-1]

    yield build  # type: ignore[misc]
    for item in made:
        item.close()


def generate(server: LiveServer, headers: dict[str, str] | None = None, **payload):
    payload.setdefault("style", "jazz")
    payload.setdefault("duration", 1)
    return server.post_json("/api/generate", payload, headers)


def all_tracks(server: LiveServer, headers: dict[str, str] | None = None) -> list[dict]:
    """Every track of the library, following the cursor."""
    tracks, cursor = [], None
    while True:
        page = server.get("/api/tracks?limit=7" + (f"&cursor={cursor}" if cursor else ""), headers).json()
        tracks += page["tracks"]
        cursor = page["next_cursor"]
        if cursor is None:
            return tracks


def store_files(output_dir: Path) -> set[str]:
    return {p.name for p in output_dir.iterdir() if is_store_name(p.name)}


def test_generating_listing_and_deleting_at_once_loses_nothing(deployment):
    app = deployment(MAX_CONCURRENT_GENERATIONS="8", KEEP_TRACKS="0")
    server = app.start()
    created: list[str] = []
    doomed: set[str] = set()
    problems: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + 20.0

    def maker(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop_at:
            r = generate(server, style=rng.choice(["jazz", "rock", "ambient"]), duration=1, seed=rng.randrange(99))
            if r.status != 201:
                problems.append(f"generate {r.status} {r.body[:200]!r}")
                continue
            with lock:
                created.append(r.json()["id"])

    def lister() -> None:
        while time.monotonic() < stop_at:
            for track in server.get("/api/tracks?limit=5").json()["tracks"]:
                got = server.get(track["download_url"])
                with lock:
                    gone = track["id"] in doomed
                if got.status != 200 and not (got.status == 404 and gone):
                    problems.append(f"listed {track['id']} but download was {got.status}")

    def deleter(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop_at:
            tracks = server.get("/api/tracks?limit=10").json()["tracks"]
            if len(tracks) < 3:
                time.sleep(0.05)
                continue
            victim = rng.choice(tracks)["id"]
            with lock:
                doomed.add(victim)
            status = server.request("DELETE", f"/api/tracks/{victim}").status
            if status not in (204, 404):
                problems.append(f"delete {status}")

    threads = ([threading.Thread(target=maker, args=(i,)) for i in range(4)]
               + [threading.Thread(target=lister) for _ in range(2)]
               + [threading.Thread(target=deleter, args=(i,)) for i in range(2)])
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not problems, problems[:5]
    assert len(created) >= 8 and doomed
    listed = [t["id"] for t in all_tracks(server)]
    assert len(listed) == len(set(listed)), "no duplicated row"
    assert set(listed) == set(created) - doomed, "no lost row, every delete took"
    tracks = {t["id"]: t for t in all_tracks(server)}
    assert store_files(server.output_dir) == {t["filename"] for t in tracks.values()}, "no orphan file"
    for track in list(tracks.values())[:10]:
        body = server.get(track["download_url"]).body
        assert sf.info(io.BytesIO(body)).frames == round(track["duration"] * 44100)
    assert b"Traceback" not in app.log_path.read_bytes()


def test_tracks_survive_a_restart_byte_for_byte(deployment):
    app = deployment()
    server = app.start()
    made = [generate(server, style=s, seed=i).json() for i, s in enumerate(["blues", "electronic", "classical"])]
    before = {m["id"]: server.get(m["download_url"]).body for m in made}
    app.stop()
    server = app.start()
    listed = all_tracks(server)
    assert [t["id"] for t in listed] == [m["id"] for m in reversed(made)]
    for track in listed:
        assert server.get(track["download_url"]).body == before[track["id"]]
        assert server.get(track["links"]["self"]).json()["created_at"] == track["created_at"]


@contextmanager
def database_write_lock(url: str) -> Iterator[None]:
    """Hold the lock a track insert needs, from outside the service, for the block."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
    else:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            conn.execute("LOCK TABLE tracks IN ACCESS EXCLUSIVE MODE")
            yield
            conn.rollback()


def test_a_crash_between_file_and_row_is_repaired_at_the_next_start(deployment):
    app = deployment()
    server = app.start()
    kept = generate(server, seed=1).json()
    with database_write_lock(app.database_url):
        # The generation writes its file, then waits for the database: kill everything right there.
        def doomed_request() -> None:
            try:
                generate(server, seed=2, style="rock")
            except OSError:  # the server dies under it: that is the point
                pass

        thread = threading.Thread(target=doomed_request, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not any(n.startswith("rock_") for n in store_files(server.output_dir)):
            assert time.monotonic() < deadline, "the generation never wrote its file"
            time.sleep(0.01)
        orphan = next(n for n in store_files(server.output_dir) if n.startswith("rock_"))
        app.crash()
    # And a row whose file is lost while the service is down.
    lost = kept
    (app.output_dir / lost["filename"]).unlink()
    survivor_server = app.start()
    log = app.log_path.read_text()
    assert orphan not in store_files(app.output_dir)
    assert f"deleted {orphan}, a file without a track" in log
    assert f"forgot track {lost['id']}, whose audio file is missing" in log
    assert all_tracks(survivor_server) == []
    assert survivor_server.get(lost["links"]["self"]).status == 404
    assert generate(survivor_server, seed=3).status == 201


def test_rate_limit_holds_across_servers(deployment):
    # Two servers on one database and folder, as two machines would be: the limit is theirs together.
    servers = [deployment(WEB_CONCURRENCY="1", RATE_LIMIT_PER_MINUTE="4").start()
               for _ in range(2)]
    statuses: list[int] = []

    def client(server: LiveServer) -> None:
        for _ in range(3):
            statuses.append(generate(server, duration=1).status)

    threads = [threading.Thread(target=client, args=(s,)) for s in servers for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 4 + [429] * 8


def test_keys_from_the_command_line_guard_the_server(deployment):
    app = deployment(AUTH="keys")
    created = app.cli("keys", "create", "alice")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("am_") and " " not in key
    other = app.cli("keys", "create", "bob").stdout.strip().splitlines()[-1]
    server = app.start()
    assert generate(server).status == 401
    alice = {"Authorization": f"Bearer {key}"}
    made = generate(server, alice).json()
    assert [t["id"] for t in all_tracks(server, alice)] == [made["id"]]
    assert all_tracks(server, {"Authorization": f"Bearer {other}"}) == []
    listing = app.cli("keys", "list")
    assert "alice" in listing.stdout and "bob" in listing.stdout and key not in listing.stdout
    assert app.cli("keys", "revoke", "alice").returncode == 0
    denied = server.get("/api/tracks", alice)
    assert denied.status == 401 and denied.json()["error"]["code"] == "unauthorized"
    assert json.loads(server.get("/health").body)["auth"] == "keys"
