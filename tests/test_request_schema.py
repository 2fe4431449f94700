"""What /openapi.json declares for generate is what the server enforces, value for value."""
from __future__ import annotations

import re

import pytest

from aimusic.styles import STYLES
from aimusic.web.api import parse_generate_request
from aimusic.web.errors import ApiError

STYLE_SAMPLES = ["jazz", " JaZz ", "\tambient\n", "ROCK", "polka", "jazzz", "ja zz", "", "classical!", "blues\u00a0"]
KEY_SAMPLES = ["A minor", "Eb major", "F#m", "c", "g MAJ", " b-flat", "Bb", "c# min", "f\u266f minor", "H",
               "Cm7", "C dorian", "", "Ebm", "e-minor", "A  minor  ", "minor", "#", "Abminor", "D mi"]


def generate_schema(client) -> dict:
    return client.get("/openapi.json").get_json()["components"]["schemas"]["GenerateRequest"]["properties"]


def accepted(field: str, value) -> bool:
    try:
        parse_generate_request({"style": "jazz", field: value}, 300.0)
    except ApiError:
        return False
    return True


@pytest.mark.parametrize(("field", "samples"), [("style", STYLE_SAMPLES), ("key", KEY_SAMPLES)])
def test_declared_pattern_is_what_the_server_accepts(client, field, samples):
    declared = generate_schema(client)[field]
    pattern = declared["pattern"] if "pattern" in declared else next(
        s["pattern"] for s in declared["anyOf"] if "pattern" in s)
    for value in samples:
        assert bool(re.search(pattern, value)) == accepted(field, value), value


def test_the_style_pattern_names_every_style(client):
    pattern = generate_schema(client)["style"]["pattern"]
    for name in STYLES:
        assert re.search(pattern, name) and re.search(pattern, name.upper())


@pytest.mark.parametrize(("field", "value", "expected"), [("tempo", 120.0, 120), ("seed", 7.0, 7),
                                                         ("tempo", 40.0, 40), ("seed", 0.0, 0)])
def test_integral_numbers_are_integers(field, value, expected):
    params = parse_generate_request({"style": "jazz", field: value}, 300.0)
    assert getattr(params, field) == expected and type(getattr(params, field)) is int


@pytest.mark.parametrize(("field", "value", "message"), [
    ("tempo", 120.5, "must be an integer"), ("seed", 7.25, "must be an integer"),
    ("tempo", float("inf"), "must be an integer"), ("seed", 1e300, "must be between 0 and 4294967295"),
    ("seed", 2**32, "must be between 0 and 4294967295"), ("seed", -1, "must be between 0 and 4294967295"),
    ("tempo", 240.5, "must be an integer"), ("tempo", 241.0, "must be between 40 and 240"),
    ("duration", 0.5, "must be between 1 and 300"), ("temperature", 3, "must be between 0.1 and 2"),
])
def test_bad_numbers_are_refused_with_the_limits(field, value, message):
    with pytest.raises(ApiError) as exc:
        parse_generate_request({"style": "jazz", field: value}, 300.0)
    assert exc.value.details == [{"field": field, "message": message}]


def test_integral_float_over_http_gives_the_same_track_as_the_integer(client):
    as_float = client.post("/api/generate", json={"style": "blues", "duration": 1, "tempo": 100.0, "seed": 7.0})
    assert as_float.status_code == 201, as_float.get_json()
    body = as_float.get_json()
    assert (body["tempo"], body["seed"]) == (100, 7)


def test_a_style_range_is_a_suggestion_and_the_limits_are_declared(client):
    styles = client.get("/api/styles").get_json()
    assert styles["tempo_limits"] == [40, 240]
    jazz = next(s for s in styles["styles"] if s["name"] == "jazz")
    assert jazz["tempo_range"][0] > 40
    slow = client.post("/api/generate", json={"style": "jazz", "duration": 1, "tempo": 40, "seed": 1})
    assert slow.status_code == 201 and slow.get_json()["tempo"] == 40
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    assert "suggestion" in schemas["StyleInfo"]["properties"]["tempo_range"]["description"]
    assert schemas["StylesResponse"]["properties"]["tempo_limits"]["description"]
    assert "40 to 240" in schemas["GenerateRequest"]["properties"]["tempo"]["description"]
