"""The library over HTTP (API.md: The track library, Keys and owners), on SQLite and PostgreSQL."""
from __future__ import annotations

import io

import pytest
import soundfile as sf

from aimusic import library

from .test_api import assert_error

ID_ROUTES = ["/api/tracks/{id}", "/api/tracks/{id}/audio.wav", "/api/download/{filename}"]


@pytest.fixture
def lib_app(make_app, database_url):
    return make_app(database_url=database_url)


@pytest.fixture
def keyed(make_app, database_url):
    """An app with AUTH=keys and two keys, alice and bob."""
    app = make_app(database_url=database_url, auth="keys")
    db = app.extensions["aimusic"].db
    keys = {name: library.create_key(db, name)[1] for name in ("alice", "bob")}
    return app, keys


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def make(client, headers=None, **payload):
    payload.setdefault("style", "jazz")
    payload.setdefault("duration", 1)
    response = client.post("/api/generate", json=payload, headers=headers or {})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_generate_records_the_track_and_the_library_lists_it(lib_app):
    client = lib_app.test_client()
    sent = {"style": "Blues", "duration": 1.5, "seed": 42, "key": "E minor"}
    created = make(client, **sent)
    assert created["created_at"].endswith("Z")
    assert created["links"]["self"] == f"/api/tracks/{created['id']}"
    shown = client.get(created["links"]["self"])
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    track = shown.get_json()
    assert {k: track[k] for k in created} == created
    assert track["request"] == sent, "the request is kept exactly as given"
    assert track["sections"] and track["sections"][0]["start_s"] == 0.0
    starts = [s["start_s"] for s in track["sections"]]
    assert starts == sorted(starts) and starts[-1] < track["duration"]
    listed = client.get("/api/tracks").get_json()
    assert [t["id"] for t in listed["tracks"]] == [created["id"]] and listed["next_cursor"] is None
    for url in (created["download_url"], created["links"]["audio"]["wav"]):
        with client.get(url) as response:
            assert response.status_code == 200 and response.mimetype == "audio/wav"
            info = sf.info(io.BytesIO(response.get_data()))
        assert info.frames / info.samplerate == pytest.approx(created["duration"], abs=1e-3)


def test_listing_pages_newest_first_and_filters_by_style(lib_app):
    client = lib_app.test_client()
    made = [make(client, style=style, seed=i)["id"] for i, style in enumerate(["jazz", "rock", "jazz", "rock"])]
    page = client.get("/api/tracks?limit=3").get_json()
    assert [t["id"] for t in page["tracks"]] == made[::-1][:3]
    newer = make(client, style="rock", seed=9)["id"]
    rest = client.get(f"/api/tracks?limit=3&cursor={page['next_cursor']}").get_json()
    assert [t["id"] for t in rest["tracks"]] == [made[0]] and rest["next_cursor"] is None
    rock = client.get("/api/tracks?style=ROCK").get_json()
    assert [t["id"] for t in rock["tracks"]] == [newer, made[3], made[1]]


@pytest.mark.parametrize(("query", "field"), [("limit=0", "limit"), ("limit=101", "limit"), ("limit=x", "limit"),
                                              ("limit=-1", "limit"), ("style=polka", "style"),
                                              ("cursor=abc", "cursor"), ("sort=asc", "sort")])
def test_bad_listing_parameters_are_400_naming_them(lib_app, query, field):
    assert_error(lib_app.test_client().get(f"/api/tracks?{query}"), 400, "invalid_request", field)


def test_delete_removes_the_track_and_its_files(lib_app):
    client = lib_app.test_client()
    created = make(client)
    path = lib_app.extensions["aimusic"].output_dir / created["filename"]
    assert path.is_file()
    deleted = client.delete(created["links"]["self"])
    assert deleted.status_code == 204 and deleted.get_data() == b""
    assert not path.exists()
    for url in (created["links"]["self"], created["download_url"], created["links"]["audio"]["wav"]):
        assert_error(client.get(url), 404, "not_found")
    assert_error(client.delete(created["links"]["self"]), 404, "not_found")
    assert client.get("/api/tracks").get_json()["tracks"] == []


@pytest.mark.parametrize("track_id", ["0123456789ab", "../etc", "ABCDEF012345", "x" * 100])
def test_unknown_tracks_are_404(lib_app, track_id):
    client = lib_app.test_client()
    for url in (f"/api/tracks/{track_id}", f"/api/tracks/{track_id}/audio.wav"):
        assert_error(client.get(url), 404, "not_found")
    assert_error(client.delete(f"/api/tracks/{track_id}"), 404, "not_found")


def test_keys_are_required_on_every_api_route(keyed):
    app, keys = keyed
    client = app.test_client()
    for method, url in [("GET", "/api/styles"), ("GET", "/api/tracks"), ("POST", "/api/generate"),
                        ("GET", "/api/tracks/0123456789ab"), ("DELETE", "/api/tracks/0123456789ab"),
                        ("GET", "/api/download/jazz_0123456789ab.wav")]:
        for headers in ({}, {"Authorization": "Basic YTpi"}, bearer("am_wrong"), bearer(keys["alice"] + "x")):
            response = client.open(url, method=method, headers=headers, json={"style": "jazz"})
            assert_error(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for url in ("/", "/health", "/openapi.json"):
        assert client.get(url, headers={"Accept": "application/json"}).status_code == 200, url
    spec = client.get("/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert spec["paths"]["/api/tracks"]["get"]["security"] == [{"apiKey": []}]
    assert "security" not in spec["paths"]["/health"]["get"]


def test_a_key_sees_only_its_own_tracks(keyed):
    app, keys = keyed
    client = app.test_client()
    alice = make(client, bearer(keys["alice"]), seed=1)
    bob = make(client, bearer(keys["bob"]), seed=2)
    listed = client.get("/api/tracks", headers=bearer(keys["alice"])).get_json()["tracks"]
    assert [t["id"] for t in listed] == [alice["id"]]
    for route in ID_ROUTES:
        url = route.format(id=bob["id"], filename=bob["filename"])
        assert_error(client.get(url, headers=bearer(keys["alice"])), 404, "not_found")
        with client.get(url, headers=bearer(keys["bob"])) as response:
            assert response.status_code == 200, url
    assert_error(client.delete(f"/api/tracks/{bob['id']}", headers=bearer(keys["alice"])), 404, "not_found")
    assert client.get(f"/api/tracks/{bob['id']}", headers=bearer(keys["bob"])).status_code == 200
    db = app.extensions["aimusic"].db
    library.revoke_key(db, "bob")
    assert_error(client.get("/api/tracks", headers=bearer(keys["bob"])), 401, "unauthorized")


def test_rate_limit_and_quota_are_per_key(make_app, database_url):
    app = make_app(database_url=database_url, auth="keys", rate_limit_per_minute=1)
    db = app.extensions["aimusic"].db
    keys = {name: library.create_key(db, name)[1] for name in ("alice", "bob")}
    client = app.test_client()
    make(client, bearer(keys["alice"]))
    limited = client.post("/api/generate", json={"style": "jazz", "duration": 1}, headers=bearer(keys["alice"]))
    assert_error(limited, 429, "rate_limited")
    make(client, bearer(keys["bob"]))
