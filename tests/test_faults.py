"""Faults of the machine change nothing but the status code: 503 with a reason, never 500, and no debris."""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from aimusic.audio_io import TEMP_PREFIX, TEMP_SUFFIX
from aimusic.store import FileStore, StoreError, temp_prefix

from .conftest import LiveServer, wait_until_healthy
from .own_server import own_server


def dead_pid() -> int:
    """The pid of a process that has just exited (the pid of a killed worker)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def during_render(client, body: dict, fault, delay_s: float = 0.5):
    """POST ``body`` and apply ``fault()`` while it renders; the response."""
    timer = threading.Timer(delay_s, fault)
    timer.start()
    try:
        return client.post("/api/generate", json=body)
    finally:
        timer.join()


@pytest.mark.parametrize("extra", [{}, {"format": "flac", "stems": True}])
def test_output_folder_deleted_during_a_render_is_never_500(make_app, tmp_path, extra):
    output = tmp_path / "output"
    client = make_app(output_dir=output, database_url=f"sqlite:///{tmp_path / 'library.sqlite3'}").test_client()
    response = during_render(client, {"style": "rock", "duration": 30, "seed": 4, **extra},
                             lambda: shutil.rmtree(output, ignore_errors=True), delay_s=0.2)
    assert response.status_code in (201, 503), response.get_json()
    if response.status_code == 201:   # the folder was made again, or went after the file was written
        track = response.get_json()
        download = client.get(track["download_url"])
        try:
            body = download.get_data()
            assert download.status_code in (200, 404), body[:300]
            if download.status_code == 200:   # whole: 30 s of audio, compressed at most 8:1
                assert len(body) > 29 * 44100 * 4 // 8
            else:
                assert json.loads(body)["error"]["code"] == "not_found"
        finally:
            download.close()
    assert client.get("/health").status_code == 200
    assert client.post("/api/generate", json={"style": "rock", "duration": 1}).status_code == 201


def chattr(flag: str, path: Path) -> bool:
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


def test_output_folder_made_immutable_during_a_render_is_503(make_app, tmp_path):
    output = tmp_path / "output"
    output.mkdir()
    if not chattr("+i", output):
        pytest.skip("this file system has no immutable attribute (chattr)")
    chattr("-i", output)
    client = make_app(output_dir=output, database_url=f"sqlite:///{tmp_path / 'library.sqlite3'}").test_client()
    try:
        statuses = []
        for duration in (30, 60, 120):   # a render long enough for the fault to come before its write
            chattr("-i", output)
            response = during_render(client, {"style": "jazz", "duration": duration, "seed": 2},
                                     lambda: chattr("+i", output), delay_s=0.2)
            statuses.append(response.status_code)
            if response.status_code != 201:
                break
        assert statuses[-1] == 503 and set(statuses) <= {201, 503}, statuses
        error = response.get_json()["error"]
        assert error["code"] == "unavailable" and "not writable" in error["message"]
        health = client.get("/health")
        assert health.status_code == 503 and "not writable" in health.get_json()["reason"]
    finally:
        chattr("-i", output)
    assert client.get("/health").status_code == 200
    assert not [p for p in output.iterdir() if p.name.startswith(TEMP_PREFIX)], "writable again: nothing left"


def test_a_folder_made_immutable_between_the_write_and_the_rename_is_a_store_error(tmp_path):
    output = tmp_path / "output"
    output.mkdir()
    if not chattr("+i", output):
        pytest.skip("this file system has no immutable attribute (chattr)")
    chattr("-i", output)
    store = FileStore(output)

    def fill(handle) -> None:   # the whole file written, then the folder locked before its rename
        handle.write(b"RIFF" + bytes(4096))
        assert chattr("+i", output)

    try:
        with pytest.raises(StoreError) as caught:
            store.write("jazz_0123456789ab.wav", fill)
        assert caught.value.errno == errno.EPERM and "jazz_0123456789ab.wav" in str(caught.value)
        assert store.discard_stranded() == 1, "the temporary file cannot go while the folder is immutable"
    finally:
        chattr("-i", output)
    assert store.discard_stranded() == 0
    assert list(output.iterdir()) == [], "no half-written file, no temporary file, once the folder is writable"


def test_a_temporary_file_of_a_dead_writer_goes_at_the_next_start(make_app, tmp_path):
    output = tmp_path / "output"
    output.mkdir()
    orphan = output / f"{temp_prefix().rsplit('-', 2)[0]}-{dead_pid()}-abc123{TEMP_SUFFIX}"
    live = output / f"{temp_prefix()}def456{TEMP_SUFFIX}"   # this process is writing it
    for path in (orphan, live):
        path.write_bytes(b"RIFF....")
    app = make_app(output_dir=output)
    service = app.extensions["aimusic"]
    with service.slots.acquire():   # another generation is in flight: only what is certainly dead goes
        assert service.reconcile()["temp_files"] == 1
    assert not orphan.exists() and live.exists()


def test_disk_full_is_503_and_health_says_why(tmp_path):
    with own_server(tmp_path, fsize=1 << 20) as (server, _):   # files of at most 1 MiB: 10 s do not fit
        disk_full_is_503(server)


def disk_full_is_503(server: LiveServer) -> None:
    small = server.post_json("/api/generate", {"style": "ambient", "duration": 1, "seed": 1})
    assert small.status == 201, small.body[:300]
    big = server.post_json("/api/generate", {"style": "ambient", "duration": 10, "seed": 1})
    assert big.status == 503, big.body[:300]
    assert "full" in big.json()["error"]["message"] and int(big.headers["retry-after"]) > 0
    health = server.get("/health")
    assert health.status == 503
    assert health.json()["status"] == "degraded" and "full" in health.json()["reason"]
    assert not [p for p in server.output_dir.iterdir() if p.name.startswith(TEMP_PREFIX)]


def worker_pids(master: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found]


def test_kill_9_of_a_worker_leaves_no_temporary_file(tmp_path):
    with own_server(tmp_path) as (server, master):
        kill_9_leaves_no_temporary_file(server, master)


def kill_9_leaves_no_temporary_file(server: LiveServer, master: subprocess.Popen) -> None:
    (worker,) = worker_pids(master.pid)
    # What the worker leaves when killed between creating its temporary file and renaming it.
    left = server.output_dir / f"{temp_prefix().rsplit('-', 2)[0]}-{worker}-zz9xq1{TEMP_SUFFIX}"
    left.write_bytes(b"RIFF" + bytes(1000))
    os.kill(worker, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (left.exists() or worker_pids(master.pid) in ([], [worker])):
        time.sleep(0.2)
    assert not left.exists()
    wait_until_healthy(master, server.host, server.port, server.log_path)
    assert server.post_json("/api/generate", {"style": "jazz", "duration": 1}).status == 201
