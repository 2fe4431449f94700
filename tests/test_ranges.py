"""Range on every file route: one byte range is served (206), anything else is the whole file (200)."""
from __future__ import annotations

import json
from typing import Any

import pytest


def fetch(client, url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    """Status, headers and body of a GET, the file handle behind it closed."""
    response = client.get(url, headers=headers or {})
    try:
        return response.status_code, response.headers, response.get_data()
    finally:
        response.close()


@pytest.fixture
def track(client):
    made = client.post("/api/generate", json={"style": "ambient", "duration": 1, "seed": 3})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    status, _, whole = fetch(client, body["download_url"])
    assert status == 200
    return body, whole


IGNORED = ["bytes=-774,350-", "bytes=abc", "bytes=0-1,5-6", "bytes=5-1", "items=0-1", "bytes=", "bytes=--1",
           "bytes=0-99,", "bytes=1-2-3", "   "]


@pytest.mark.parametrize("header", IGNORED)
@pytest.mark.parametrize("which", ["download", "audio"])
def test_a_range_not_served_is_ignored_and_the_whole_file_sent(client, track, header, which):
    body, whole = track
    url = body["download_url"] if which == "download" else body["links"]["audio"]["wav"]
    status, headers, data = fetch(client, url, {"Range": header})
    assert status == 200
    assert data == whole
    assert "Content-Range" not in headers
    assert headers["Accept-Ranges"] == "bytes"


def test_one_range_is_still_served_and_one_beyond_the_end_is_416(client, track):
    body, whole = track
    status, _, data = fetch(client, body["download_url"], {"Range": "bytes=10-19"})
    assert status == 206 and data == whole[10:20]
    status, _, data = fetch(client, body["download_url"], {"Range": f"bytes={len(whole)}-"})
    assert status == 416
    assert json.loads(data)["error"]["code"] == "range_not_satisfiable"
