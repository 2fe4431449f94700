"""The HTTP contract of API.md, measured on a real gunicorn server and on the app itself."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
import soundfile as sf

from aimusic.styles import STYLES, STYLE_NAMES
from aimusic.theory import parse_key
from aimusic.web.api import parse_generate_request
from aimusic.web.errors import ApiError

JSON_TYPE = "application/json; charset=utf-8"
RESPONSE_FIELDS = ["id", "filename", "download_url", "style", "duration", "tempo", "key", "seed", "temperature",
                   "sample_rate", "channels", "bars", "time_signature", "model", "generation_time_ms", "format",
                   "created_at", "links"]
_GENERATED: dict[tuple, tuple] = {}


def generate_and_download(server, **payload):
    """POST /api/generate then GET the file; cached per request within the session."""
    cache_key = tuple(sorted(payload.items()))
    if cache_key not in _GENERATED:
        created = server.post_json("/api/generate", payload)
        assert created.status == 201, created.body
        meta = created.json()
        downloaded = server.get(meta["download_url"])
        assert downloaded.status == 200
        _GENERATED[cache_key] = (created, meta, downloaded)
    return _GENERATED[cache_key]


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    """An error of API.md's shape; when ``field`` is given, it is named in message and details."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == JSON_TYPE
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    if field is not None:
        assert error["message"].startswith(field + " ")
        assert field in [d["field"] for d in error["details"]]
    return error


def test_root_serves_json_to_api_clients(client):
    response = client.get("/", headers={"Accept": "*/*"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == JSON_TYPE
    body = response.get_json()
    assert body["name"] == "AI Music Generation System"
    assert body["status"] == "ok"
    assert body["styles"] == list(STYLE_NAMES)
    assert {"health", "styles", "generate", "download", "openapi"} <= set(body["endpoints"])
    assert "Accept" in response.headers["Vary"]


def test_root_serves_the_page_to_browsers(client):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    with client.get("/", headers={"Accept": accept}) as response:
        html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "<audio" in html and 'id="generate"' in html
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_styles_lists_the_six_styles_with_their_parameters(client):
    response = client.get("/api/styles")
    assert response.status_code == 200
    styles = response.get_json()["styles"]
    assert [s["name"] for s in styles] == list(STYLE_NAMES)
    for item in styles:
        spec = STYLES[item["name"]]
        low, high = item["tempo_range"]
        assert low <= item["default_tempo"] <= high
        assert (low, high) == tuple(spec.tempo_range)
        assert re.fullmatch(r"\d+/\d+", item["time_signature"])
        assert item["instruments"] and all(isinstance(i, str) and i for i in item["instruments"])
        assert item["description"]


def test_health_reports_model_and_output_folder(server):
    response = server.get("/health")
    assert response.status == 200
    assert response.headers["content-type"] == JSON_TYPE
    body = response.json()
    assert body["status"] == "ok"
    assert body["output_dir"]["writable"] is True
    assert body["output_dir"]["free_bytes"] > 0
    model = body["model"]
    assert model["name"]
    assert isinstance(model["loaded"], bool)
    if model["loaded"] and model["name"] != "markov-order2":
        assert model["parameters"] > 0
    if not model["loaded"]:
        assert model["error"] and body["warnings"]
    assert body["uptime_s"] >= 0


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_generate_each_style_writes_the_wav_it_describes(server, style):
    duration = 3.0
    created, meta, downloaded = generate_and_download(server, style=style.upper(), duration=duration, seed=11)
    assert created.headers["content-type"] == JSON_TYPE
    assert list(meta) == RESPONSE_FIELDS
    assert created.headers["location"] == meta["download_url"]
    assert re.fullmatch(r"[0-9a-f]{12}", meta["id"])
    assert meta["filename"] == f"{style}_{meta['id']}.wav"
    assert meta["download_url"] == f"/api/download/{meta['filename']}"
    assert meta["style"] == style
    assert meta["seed"] == 11 and meta["temperature"] == 1.0
    spec = STYLES[style]
    assert meta["tempo"] == spec.default_tempo
    assert meta["time_signature"] == spec.time_signature
    assert meta["bars"] >= 1
    assert parse_key(meta["key"]).name == meta["key"]
    assert meta["model"]
    assert meta["generation_time_ms"] >= 0

    info = sf.info(io.BytesIO(downloaded.body))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (44100, 2, "PCM_16", "WAV")
    assert (meta["sample_rate"], meta["channels"]) == (44100, 2)
    true_length = info.frames / info.samplerate
    assert true_length == pytest.approx(duration, rel=0.01)
    assert meta["duration"] == pytest.approx(true_length, abs=1e-3)
    pcm, _ = sf.read(io.BytesIO(downloaded.body), dtype="int16")
    peak = int(np.abs(pcm.astype(np.int32)).max())
    assert 0 < peak < 32767, "audible, and no sample at full scale"
    assert (server.output_dir / meta["filename"]).stat().st_size == len(downloaded.body)


def test_generate_honours_tempo_key_and_temperature(server):
    created, meta, downloaded = generate_and_download(server, style="blues", duration=4, tempo=100,
                                                      key="a minor", seed=5, temperature=0.5)
    assert (meta["tempo"], meta["key"], meta["seed"], meta["temperature"]) == (100, "A minor", 5, 0.5)
    assert sf.info(io.BytesIO(downloaded.body)).frames / 44100 == pytest.approx(4.0, rel=0.01)


def test_same_request_and_seed_give_byte_identical_files(server):
    payload = {"style": "rock", "duration": 2.5, "seed": 4242}
    first = server.post_json("/api/generate", payload).json()
    second = server.post_json("/api/generate", payload).json()
    other = server.post_json("/api/generate", {**payload, "seed": 4243}).json()
    assert first["id"] != second["id"]
    a, b, c = (server.get(m["download_url"]).body for m in (first, second, other))
    assert a == b
    assert a != c
    assert first["key"] == second["key"] and first["bars"] == second["bars"]


def test_seed_is_chosen_and_reported_when_omitted(server):
    created = server.post_json("/api/generate", {"style": "ambient", "duration": 2})
    assert created.status == 201
    assert 0 <= created.json()["seed"] <= 2**32 - 1


def test_download_headers(server):
    _, meta, downloaded = generate_and_download(server, style="jazz", duration=3.0, seed=11)
    headers = downloaded.headers
    assert headers["content-type"] == "audio/wav"
    assert headers["content-disposition"].startswith("attachment")
    assert meta["filename"] in headers["content-disposition"]
    assert int(headers["content-length"]) == len(downloaded.body)
    assert headers["etag"] and headers["last-modified"]
    assert headers["accept-ranges"] == "bytes"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])


def test_download_ranges_and_conditional_requests(server):
    _, meta, downloaded = generate_and_download(server, style="jazz", duration=3.0, seed=11)
    url, body, size = meta["download_url"], downloaded.body, len(downloaded.body)

    head = server.get(url, {"Range": "bytes=0-99"})
    assert head.status == 206
    assert head.body == body[:100]
    assert head.headers["content-range"] == f"bytes 0-99/{size}"
    assert int(head.headers["content-length"]) == 100

    tail = server.get(url, {"Range": "bytes=-10"})
    assert tail.status == 206 and tail.body == body[-10:]

    middle = server.get(url, {"Range": f"bytes=1000-{size - 1}"})
    assert middle.status == 206 and middle.body == body[1000:]

    beyond = server.get(url, {"Range": f"bytes={size}-"})
    assert beyond.status == 416
    assert beyond.json()["error"]["code"] == "range_not_satisfiable"
    assert beyond.headers["content-range"] == f"bytes */{size}"

    etag = downloaded.headers["etag"]
    assert server.get(url, {"If-None-Match": etag}).status == 304
    assert server.get(url, {"If-Modified-Since": downloaded.headers["last-modified"]}).status == 304
    assert server.get(url, {"If-None-Match": '"something-else"'}).status == 200


def test_unknown_routes_and_methods_answer_json(client):
    missing = client.get("/api/nothing-here")
    assert_error(missing, 404, "not_found")
    wrong = client.put("/api/generate", json={"style": "jazz"})
    assert_error(wrong, 405, "method_not_allowed")
    assert "POST" in wrong.headers["Allow"]
    assert_error(client.post("/health"), 405, "method_not_allowed")


BAD_BODIES = [
    ({"duration": 5}, "style"),
    ({"style": "polka"}, "style"),
    ({"style": 3}, "style"),
    ({"style": "jazz", "tempo": "fast"}, "tempo"),
    ({"style": "jazz", "tempo": True}, "tempo"),
    ({"style": "jazz", "tempo": 120.5}, "tempo"),
    ({"style": "jazz", "tempo": 39}, "tempo"),
    ({"style": "jazz", "tempo": 241}, "tempo"),
    ({"style": "jazz", "duration": "30"}, "duration"),
    ({"style": "jazz", "duration": 0.5}, "duration"),
    ({"style": "jazz", "duration": 300.5}, "duration"),
    ({"style": "jazz", "duration": None}, "duration"),
    ({"style": "jazz", "seed": -1}, "seed"),
    ({"style": "jazz", "seed": 2**32}, "seed"),
    ({"style": "jazz", "seed": 1.5}, "seed"),
    ({"style": "jazz", "temperature": 0.05}, "temperature"),
    ({"style": "jazz", "temperature": 2.5}, "temperature"),
    ({"style": "jazz", "temperature": "hot"}, "temperature"),
    ({"style": "jazz", "key": "H major"}, "key"),
    ({"style": "jazz", "key": "C# dorian-ish"}, "key"),
    ({"style": "jazz", "key": 5}, "key"),
    ({"style": "jazz", "tempoo": 120}, "tempoo"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_invalid_fields_are_rejected_naming_the_field(client, body, field):
    assert_error(client.post("/api/generate", json=body), 400, "invalid_request", field)


def test_range_errors_say_the_limits(client):
    error = assert_error(client.post("/api/generate", json={"style": "jazz", "tempo": 500}), 400,
                         "invalid_request", "tempo")
    assert error["message"] == "tempo must be between 40 and 240"
    assert error["details"] == [{"field": "tempo", "message": "must be between 40 and 240"}]


def test_every_bad_field_is_listed(client):
    error = assert_error(client.post("/api/generate", json={"style": "x", "tempo": 1, "foo": 2}), 400,
                         "invalid_request")
    assert {d["field"] for d in error["details"]} == {"style", "tempo", "foo"}


@pytest.mark.parametrize("raw", [b"", b"   ", b"{not json", b"[1, 2]", b'"jazz"', b"null", b"42",
                                 b'{"style": "jazz", "duration": NaN}', b"\xff\xfe\x00",
                                 b"[" * 30000 + b"]" * 30000])
def test_bodies_that_are_not_a_json_object_are_400(client, raw):
    response = client.post("/api/generate", data=raw, content_type="application/json")
    assert_error(response, 400, "invalid_request", "body")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "audio/wav", None])
def test_wrong_content_type_is_415(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/api/generate", data=b'{"style": "jazz"}', headers=headers)
    assert_error(response, 415, "unsupported_media_type")


def test_valid_edges_are_accepted_and_normalised():
    params = parse_generate_request({"style": " JaZz ", "duration": 1, "tempo": 40, "key": "f#m", "seed": 2**32 - 1,
                                     "temperature": 2.0}, 300.0)
    assert (params.style, params.duration, params.tempo, params.key, params.seed) == ("jazz", 1.0, 40, "F# minor",
                                                                                      2**32 - 1)
    defaults = parse_generate_request({"style": "ambient"}, 300.0)
    assert (defaults.duration, defaults.tempo, defaults.key, defaults.seed, defaults.temperature) == (
        30.0, None, None, None, 1.0)
    nulls = parse_generate_request({"style": "rock", "tempo": None, "key": None, "seed": None}, 300.0)
    assert nulls.tempo is None and nulls.seed is None
    with pytest.raises(ApiError) as exc:
        parse_generate_request({"style": "rock", "duration": 300.001}, 300.0)
    assert exc.value.details[0]["field"] == "duration"


def test_request_id_is_echoed_when_safe_and_replaced_otherwise(client):
    assert client.get("/health", headers={"X-Request-ID": "abc-123.X_y"}).headers["X-Request-ID"] == "abc-123.X_y"
    for bad in ("has space", "x" * 65, "semi;colon", "new\\nline"):
        replaced = client.get("/health", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", replaced)
    error = client.get("/missing", headers={"X-Request-ID": "trace-42"}).get_json()["error"]
    assert error["request_id"] == "trace-42"
