"""Downloads stay inside the output folder; limits, overload and failures answer proper JSON."""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil

import numpy as np
import pytest

from aimusic.audio_io import write_wav
from aimusic.config import Settings
from aimusic.slots import GenerationSlots, Overloaded

from .conftest import captured_logs

OUTSIDE_NAME = "jazz_0123456789ab.wav"

TRAVERSALS = [
    "/api/download/..",
    "/api/download/../" + OUTSIDE_NAME,
    "/api/download/..%2f" + OUTSIDE_NAME,
    "/api/download/..%2F" + OUTSIDE_NAME,
    "/api/download/%2e%2e%2f" + OUTSIDE_NAME,
    "/api/download/%2E%2E/" + OUTSIDE_NAME,
    "/api/download/..%5c" + OUTSIDE_NAME,
    "/api/download/..\\" + OUTSIDE_NAME,
    "/api/download/%2Fetc%2Fpasswd",
    "/api/download//etc/passwd",
    "/api/download/%2F{outside}",
    "/api/download/{outside_encoded}",
    "/api/download/" + OUTSIDE_NAME + "%00.txt",
    "/api/download/%00" + OUTSIDE_NAME,
    "/api/download/" + OUTSIDE_NAME + "/",
    "/api/download/./" + OUTSIDE_NAME,
    "/api/download/" + "a" * 4000 + ".wav",
    "/api/download/JAZZ_0123456789AB.wav",
    "/api/download/polka_0123456789ab.wav",
    "/api/download/jazz_0123456789ab.wav.tmp",
    "/api/download/.locks",
    "/api/download/.locks%2Fslot-0.lock",
]


@pytest.fixture(scope="module")
def planted(server):
    """A WAV with a valid-looking name just outside the server's output folder."""
    outside = server.output_dir.parent / OUTSIDE_NAME
    write_wav(outside, np.zeros((441, 2), np.float32), sr=44100)
    yield outside
    outside.unlink(missing_ok=True)


@pytest.mark.parametrize("path", TRAVERSALS)
def test_download_never_leaves_the_output_folder(server, planted, path):
    path = path.format(outside=str(planted).lstrip("/").replace("/", "%2F"),
                       outside_encoded=str(planted).replace("/", "%2F"))
    response = server.get(path)
    assert response.status == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"
    assert b"RIFF" not in response.body


def test_only_files_the_service_recorded_are_served(client, app):
    service = app.extensions["aimusic"]
    created = client.post("/api/generate", json={"style": "jazz", "duration": 1, "seed": 3}).get_json()
    outside = service.output_dir.parent / OUTSIDE_NAME
    write_wav(outside, np.zeros((10, 2), np.float32), sr=44100)
    # A file of our own pattern that the library does not know is not served, wherever it came from.
    shutil.copy(outside, service.output_dir / OUTSIDE_NAME)
    assert client.get("/api/download/" + OUTSIDE_NAME).status_code == 404
    for name in ("../" + OUTSIDE_NAME, str(outside), OUTSIDE_NAME + "\x00", "..\\" + OUTSIDE_NAME,
                 " " + OUTSIDE_NAME, OUTSIDE_NAME + "\n"):
        assert service.store.open_file(name) is None
    with client.get(created["download_url"]) as response:
        assert response.status_code == 200


@pytest.mark.parametrize("plant", ["symlink", "hardlink"])
def test_a_link_planted_under_a_track_name_is_never_followed(client, app, tmp_path, plant):
    service = app.extensions["aimusic"]
    created = client.post("/api/generate", json={"style": "jazz", "duration": 1, "seed": 3}).get_json()
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n" * 40)
    target = service.output_dir / created["filename"]
    target.unlink()
    (os.symlink if plant == "symlink" else os.link)(secret, target)
    for url in (created["download_url"], created["links"]["audio"]["wav"]):
        response = client.get(url)
        # Never served; the track route may try to remake the file and refuse to replace the link.
        assert response.status_code in (404, 503)
        assert response.is_json and b"root:x" not in response.get_data()


def test_a_directory_named_like_a_track_breaks_nothing(client, app):
    service = app.extensions["aimusic"]
    squatter = service.output_dir / "jazz_00000000abcd.wav"
    squatter.mkdir(parents=True)
    for seed in (1, 2):
        assert client.post("/api/generate", json={"style": "jazz", "duration": 1, "seed": seed}).status_code == 201
    assert client.get("/api/download/" + squatter.name).status_code == 404
    assert squatter.is_dir()
    assert service.prune() == 0


def test_files_being_written_are_never_served(client, app):
    service = app.extensions["aimusic"]
    partial = service.output_dir / ".partial-abc123.tmp"
    write_wav(partial, np.zeros((10, 2), np.float32), sr=44100)
    for name in (partial.name, "jazz_0123456789ab.wav.tmp", "jazz_0123456789ab.wav"):
        assert client.get(f"/api/download/{name}").status_code == 404


def test_oversized_body_is_413_without_being_read(server):
    # Announce 100 MB and send nothing: the answer must come from the header alone.
    response = server.request("POST", "/api/generate", body=b"",
                              headers={"Content-Type": "application/json", "Content-Length": str(100_000_000)},
                              timeout=30)
    assert response.status == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_body_just_over_64_kib_is_413(server, client):
    payload = json.dumps({"style": "jazz", "key": "x" * (64 * 1024)}).encode()
    assert len(payload) > 64 * 1024
    response = server.request("POST", "/api/generate", payload, {"Content-Type": "application/json"})
    assert response.status == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert client.post("/api/generate", data=payload, content_type="application/json").status_code == 413


def test_chunked_body_over_64_kib_is_413(server):
    payload = json.dumps({"style": "jazz", "key": "C" * (70 * 1024)}).encode()
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.request("POST", "/api/generate", body=iter([payload[:1000], payload[1000:]]),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        response = conn.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"]["code"] == "payload_too_large"
    finally:
        conn.close()


def test_bugs_answer_500_json_with_request_id_and_no_internals(make_app):
    app = make_app()

    def broken():
        raise RuntimeError("secret internal detail /etc/shadow")

    app.add_url_rule("/broken", view_func=broken)
    with captured_logs("aimusic.web") as records:
        response = app.test_client().get("/broken")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "secret" not in text and "Traceback" not in text and "RuntimeError" not in text
    error = response.get_json()["error"]
    assert error["code"] == "internal_error"
    assert error["request_id"] == response.headers["X-Request-ID"]
    logged = [r for r in records if r.exc_info]
    assert logged and error["request_id"] in logged[0].getMessage()


def test_unwritable_output_folder_degrades_to_503(make_app, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    client = make_app(output_dir=blocker / "output").test_client()
    health = client.get("/health")
    assert health.status_code == 503
    body = health.get_json()
    assert body["status"] == "degraded"
    assert body["output_dir"]["writable"] is False
    assert "not writable" in body["reason"]
    assert client.get("/", headers={"Accept": "application/json"}).get_json()["status"] == "degraded"
    response = client.post("/api/generate", json={"style": "jazz", "duration": 2})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
    assert int(response.headers["Retry-After"]) > 0


def test_generations_beyond_the_limit_are_503_not_queued(make_app):
    app = make_app(max_concurrent_generations=1)
    service = app.extensions["aimusic"]
    client = app.test_client()
    with service.slots.acquire():
        response = client.post("/api/generate", json={"style": "jazz", "duration": 2, "seed": 1})
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "unavailable"
        assert int(response.headers["Retry-After"]) > 0
    assert not list(service.output_dir.glob("*.wav"))
    assert client.get("/api/tracks").get_json()["tracks"] == []
    assert client.post("/api/generate", json={"style": "jazz", "duration": 2, "seed": 1}).status_code == 201


def test_the_limit_holds_across_processes(server):
    # This test process takes every slot of the running server: its workers must turn work away.
    health = server.get("/health").json()
    assert health["status"] == "ok"
    count = Settings().max_concurrent_generations  # the server runs with the default
    slots = GenerationSlots(server.output_dir / ".locks", count)
    with contextlib.ExitStack() as held:
        for _ in range(count):
            held.enter_context(slots.acquire())
        busy = server.post_json("/api/generate", {"style": "blues", "duration": 2, "seed": 8})
        assert busy.status == 503
        assert busy.json()["error"]["code"] == "unavailable"
        assert int(busy.headers["retry-after"]) > 0
    assert server.post_json("/api/generate", {"style": "blues", "duration": 2, "seed": 8}).status == 201


def test_slots_are_shared_across_instances_and_released(tmp_path):
    first, second = GenerationSlots(tmp_path, 2), GenerationSlots(tmp_path, 2)
    with first.acquire(), second.acquire():
        with pytest.raises(Overloaded), first.acquire():
            pass
    with first.acquire() as index:
        assert index == 0


def test_rate_limit_answers_429_with_retry_after(make_app):
    client = make_app(rate_limit_per_minute=2).test_client()
    assert client.post("/api/generate", json={"style": "nope"}).status_code == 400, "bad requests are not counted"
    for seed in (1, 2):
        assert client.post("/api/generate", json={"style": "jazz", "duration": 1, "seed": seed}).status_code == 201
    limited = client.post("/api/generate", json={"style": "jazz", "duration": 1})
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert "2 per minute" in limited.get_json()["error"]["message"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert client.get("/health").status_code == 200, "only generation is rate limited"
    assert client.get("/api/tracks").status_code == 200, "only generation is rate limited"


def test_daily_quota_answers_429_until_midnight(make_app):
    client = make_app(daily_quota=1).test_client()
    assert client.post("/api/generate", json={"style": "rock", "duration": 1, "seed": 1}).status_code == 201
    over = client.post("/api/generate", json={"style": "rock", "duration": 1, "seed": 2})
    assert over.status_code == 429
    assert "1 per day" in over.get_json()["error"]["message"]
    assert 1 <= int(over.headers["Retry-After"]) <= 86400


def test_retention_deletes_the_oldest_tracks_rows_and_files_together(make_app):
    app = make_app(keep_files=2)  # the older name still works
    service = app.extensions["aimusic"]
    client = app.test_client()
    keep = service.output_dir / "notes.txt"
    keep.write_text("not ours")
    made = [client.post("/api/generate", json={"style": "rock", "duration": 1, "seed": s}).get_json()
            for s in range(3)]
    listed = [t["id"] for t in client.get("/api/tracks").get_json()["tracks"]]
    assert listed == [made[2]["id"], made[1]["id"]]
    assert sorted(p.name for p in service.output_dir.glob("*.wav")) == sorted(m["filename"] for m in made[1:])
    assert client.get(f"/api/tracks/{made[0]['id']}").status_code == 404
    assert client.get(made[0]["download_url"]).status_code == 404
    assert keep.exists()


def test_keep_tracks_zero_keeps_everything(make_app):
    app = make_app(keep_tracks=0)
    client = app.test_client()
    for seed in range(3):
        client.post("/api/generate", json={"style": "jazz", "duration": 1, "seed": seed})
    assert app.extensions["aimusic"].prune() == 0
    assert len(client.get("/api/tracks").get_json()["tracks"]) == 3


def test_security_headers_on_every_response(client):
    for response in (client.get("/health"), client.get("/nowhere"), client.post("/api/generate", data=b"x")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
