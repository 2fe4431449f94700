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
from aimusic.web.limits import GenerationSlots, Overloaded, RateLimiter

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


def test_service_looks_up_only_its_own_names(app, tmp_path):
    service = app.extensions["aimusic"]
    outside = service.output_dir.parent / OUTSIDE_NAME
    write_wav(outside, np.zeros((10, 2), np.float32), sr=44100)
    for name in ("../" + OUTSIDE_NAME, str(outside), OUTSIDE_NAME + "\x00", "..\\" + OUTSIDE_NAME,
                 " " + OUTSIDE_NAME, OUTSIDE_NAME + "\n"):
        assert service.find_download(name) is None
    assert service.find_download(OUTSIDE_NAME) is None  # not in the output folder
    shutil.copy(outside, service.output_dir / OUTSIDE_NAME)
    assert service.find_download(OUTSIDE_NAME) == service.output_dir / OUTSIDE_NAME


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
    for _ in range(2):
        assert client.post("/api/generate", json={"style": "nope"}).status_code == 400
    limited = client.post("/api/generate", json={"style": "jazz"})
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert client.get("/health").status_code == 200, "only generation is rate limited"


def test_rate_limiter_window_slides():
    now = [1000.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    assert limiter.hit("a") == 60
    assert limiter.hit("b") is None, "clients are counted separately"
    now[0] += 30.5
    assert limiter.hit("a") == 30
    now[0] += 30.0
    assert limiter.hit("a") is None
    assert RateLimiter(0).hit("a") is None


def test_output_folder_keeps_only_the_newest_files(make_app):
    app = make_app(keep_files=2)
    service = app.extensions["aimusic"]
    names = [f"rock_{i:012x}.wav" for i in range(4)]
    for age, name in enumerate(reversed(names)):
        path = service.output_dir / name
        write_wav(path, np.zeros((10, 2), np.float32), sr=44100)
        stamp = 1_700_000_000 - age * 100
        os.utime(path, (stamp, stamp))
    keep = service.output_dir / "notes.txt"
    keep.write_text("not ours")
    created = app.test_client().post("/api/generate", json={"style": "rock", "duration": 1.5, "seed": 2}).get_json()
    remaining = sorted(p.name for p in service.output_dir.glob("*.wav"))
    assert remaining == sorted([names[3], created["filename"]])
    assert keep.exists()


def test_keep_files_zero_keeps_everything(make_app):
    service = make_app(keep_files=0).extensions["aimusic"]
    for i in range(3):
        write_wav(service.output_dir / f"jazz_{i:012x}.wav", np.zeros((10, 2), np.float32), sr=44100)
    assert service.prune() == 0
    assert len(service.generated_files()) == 3


def test_security_headers_on_every_response(client):
    for response in (client.get("/health"), client.get("/nowhere"), client.post("/api/generate", data=b"x")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
