"""A primer over HTTP, and POST /api/tracks/<id>/variations: same plan, new notes, a link to the original."""
from __future__ import annotations

import base64
import io

import mido
import pytest

from aimusic import library

from .midi_files import TUNE, midi_bytes
from .test_api import assert_error


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _make(client, headers=None, **fields) -> dict:
    response = client.post("/api/generate", json={"style": "jazz", "duration": 8, "seed": 4, **fields},
                           headers=headers or {})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _score(client, track: dict, headers=None) -> dict:
    with client.get(track["links"]["score"], headers=headers or {}) as served:
        assert served.status_code == 200
        return served.get_json()


def _notes(score: dict) -> dict[str, list[tuple[float, int]]]:
    return {p["name"]: [(n["start_beat"], n["pitch"]) for n in p["notes"]] for p in score["parts"]}


def _vary(client, track: dict, headers=None, **body):
    return client.post(f"/api/tracks/{track['id']}/variations", json=body, headers=headers or {})


def test_a_primer_opens_the_melody_of_the_track_its_score_and_its_midi(client) -> None:
    track = _make(client, duration=20, primer={"midi": _b64(midi_bytes(TUNE, qpm=96, key="G"))})
    assert (track["tempo"], track["key"]) == (96, "G major")
    score = _score(client, track)
    melody = next(p for p in score["parts"] if p["role"] == "melody")["notes"]
    offset = melody[0]["start_beat"]
    assert [(n["start_beat"] - offset, n["pitch"]) for n in melody[:len(TUNE)]] == [(s, p) for s, _, p in TUNE]
    with client.get(track["links"]["midi"]) as served:
        midi = mido.MidiFile(file=io.BytesIO(served.get_data()))
    named = next(t for t in midi.tracks if any(m.type == "track_name" and m.name.lower().startswith("melody")
                                                  for m in t))
    tick, onsets = 0, []
    for msg in named:
        tick += msg.time
        if msg.type == "note_on" and msg.velocity:
            onsets.append((tick / midi.ticks_per_beat, msg.note))
    assert [(round(t - onsets[0][0], 4), p) for t, p in onsets[:len(TUNE)]] == [(s, p) for s, _, p in TUNE]
    shown = client.get(track["links"]["self"]).get_json()
    assert shown["request"]["primer"]["midi"] == _b64(midi_bytes(TUNE, qpm=96, key="G"))


@pytest.mark.parametrize("midi, words", [
    ("%%%not base64%%%" * 3, "base64"),
    ("TVRoZA==", "too short"),
    (_b64(b"RIFF....WAVEfmt " * 4), "not a Standard MIDI File"),
    (_b64(midi_bytes(drums=[(0, 1, 36)])), "no melody"),
    (_b64(midi_bytes([(i, 1, 60) for i in range(80)])), "at most 64"),
])
def test_a_primer_it_cannot_use_is_a_400_saying_which(client, midi: str, words: str) -> None:
    error = assert_error(client.post("/api/generate", json={"style": "jazz", "primer": {"midi": midi}}),
                         400, "invalid_request", "primer.midi")
    assert words in error["message"]


@pytest.mark.parametrize("primer, field", [({}, "primer.midi"), ({"midi": 3}, "primer.midi"),
                                           ({"midi": _b64(midi_bytes(TUNE)), "tempo": 3}, "primer.tempo"), ("abc", "primer")])
def test_a_malformed_primer_field_is_a_400_naming_it(client, primer, field: str) -> None:
    assert_error(client.post("/api/generate", json={"style": "jazz", "primer": primer}), 400, "invalid_request", field)


def test_a_variation_shares_the_plan_and_differs_in_notes(client) -> None:
    original = _make(client)
    response = _vary(client, original, seed=9)
    assert response.status_code == 201, response.get_data(as_text=True)
    variation = response.get_json()
    assert response.headers["Location"] == variation["links"]["self"]
    assert variation["variation_of"] == original["id"] and variation["vary"] == "all"
    assert variation["links"]["original"] == f"/api/tracks/{original['id']}"
    for field in ("style", "tempo", "key", "bars", "time_signature", "duration"):
        assert variation[field] == original[field], field
    a, b = _score(client, original), _score(client, variation)
    assert a["chords"] == b["chords"] and a["sections"] == b["sections"]
    assert [p["instrument"] for p in a["parts"]] == [p["instrument"] for p in b["parts"]]
    notes_a, notes_b = _notes(a), _notes(b)
    assert all(notes_a[name] != notes_b[name] for name in notes_a if notes_a[name]), "a part kept its notes"
    shown = client.get(variation["links"]["self"]).get_json()
    assert shown["variation_of"] == original["id"] and shown["seed"] == 9


@pytest.mark.parametrize("vary", ["melody", "arrangement"])
def test_vary_names_the_parts_written_anew(client, vary: str) -> None:
    original = _make(client)
    response = _vary(client, original, seed=9, vary=vary)
    assert response.status_code == 201, response.get_data(as_text=True)
    a = {p["name"]: (p["role"], p["notes"]) for p in _score(client, original)["parts"]}
    b = {p["name"]: p["notes"] for p in _score(client, response.get_json())["parts"]}
    for name, (role, notes) in a.items():
        changed = notes != b[name]
        assert changed == ((role == "melody") == (vary == "melody")), (name, role)


def test_the_same_variation_gives_the_same_bytes_and_a_variation_of_one_keeps_the_plan(client) -> None:
    original = _make(client, duration=4)
    first = _vary(client, original, seed=12, vary="melody").get_json()
    second = _vary(client, original, seed=12, vary="melody").get_json()
    with client.get(first["links"]["audio"]["wav"]) as a, client.get(second["links"]["audio"]["wav"]) as b:
        assert a.get_data() == b.get_data()
    deeper = _vary(client, first, seed=13, vary="arrangement")
    assert deeper.status_code == 201
    deeper = deeper.get_json()
    assert deeper["variation_of"] == first["id"]
    s1, s2 = _score(client, first), _score(client, deeper)
    assert s1["chords"] == s2["chords"]
    melody = next(p["name"] for p in s1["parts"] if p["role"] == "melody")
    assert _notes(s1)[melody] == _notes(s2)[melody]     # the melody of the variation it varies, kept


def test_a_variation_of_a_primed_track_keeps_the_primer(client) -> None:
    original = _make(client, duration=20, primer={"midi": _b64(midi_bytes(TUNE, key="G"))})
    variation = _vary(client, original, vary="melody").get_json()
    def opening(track):
        melody = next(p for p in _score(client, track)["parts"] if p["role"] == "melody")["notes"]
        return [(n["start_beat"], n["pitch"]) for n in melody[:len(TUNE)]]
    assert opening(variation) == opening(original)


def test_the_body_is_optional_and_validated(client) -> None:
    original = _make(client, duration=3)
    bare = client.post(f"/api/tracks/{original['id']}/variations")
    assert bare.status_code == 201 and bare.get_json()["vary"] == "all"
    assert_error(_vary(client, original, vary="rhythm"), 400, "invalid_request", "vary")
    assert_error(_vary(client, original, seed=-1), 400, "invalid_request", "seed")
    assert_error(_vary(client, original, tempo=90), 400, "invalid_request", "tempo")
    assert_error(client.post(f"/api/tracks/{original['id']}/variations", data="vary=all",
                             content_type="application/x-www-form-urlencoded"), 415, "unsupported_media_type")
    assert_error(client.post("/api/tracks/000000000000/variations", json={}), 404, "not_found")
    assert_error(client.post("/api/tracks/..%2fetc/variations", json={}), 404, "not_found")


def test_a_key_cannot_vary_another_keys_track(make_app) -> None:
    app = make_app(auth="keys")
    db = app.extensions["aimusic"].db
    alice, bob = ({"Authorization": f"Bearer {library.create_key(db, name)[1]}"} for name in ("alice", "bob"))
    client = app.test_client()
    track = _make(client, alice, duration=3)
    assert_error(_vary(client, track, bob), 404, "not_found")
    assert_error(_vary(client, track), 401, "unauthorized")
    mine = _vary(client, track, alice)
    assert mine.status_code == 201
    assert client.get(mine.get_json()["links"]["self"], headers=bob).status_code == 404


def test_the_openapi_document_describes_variations_and_the_primer(client) -> None:
    doc = client.get("/openapi.json").get_json()
    operation = doc["paths"]["/api/tracks/{track_id}/variations"]["post"]
    assert "201" in operation["responses"] and "404" in operation["responses"]
    schemas = doc["components"]["schemas"]
    assert set(schemas["VariationRequest"]["properties"]) == {"seed", "vary"}
    assert "midi" in schemas["PrimerFile"]["properties"]
