"""A track's files over HTTP: every format, the MIDI, the score JSON and the stems, made once, kept, owned."""
from __future__ import annotations

import io
import json
import threading
import zipfile

import mido
import numpy as np
import pytest
import soundfile as sf

from aimusic import library
from aimusic.audio_io import to_pcm16
from aimusic.pipeline import generate
from aimusic.track_files import stored_request

from .test_api import assert_error
from .test_tracks_api import bearer, make

MEDIA = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg"}


class Fetched:
    """A finished response: read and closed (a file response holds its file open until closed)."""

    def __init__(self, response) -> None:
        with response:
            self.status_code = response.status_code
            self.mimetype = response.mimetype
            self.headers = response.headers
            self.data = response.get_data()
            self.response = response

    def get_data(self) -> bytes:
        return self.data

    def get_json(self):
        return json.loads(self.data)


def get(client, url: str, headers: dict[str, str] | None = None) -> Fetched:
    return Fetched(client.get(url, headers=headers or {}))


def file_urls(created: dict) -> dict[str, str]:
    links = created["links"]
    return {**links["audio"], "midi": links["midi"], "score": links["score"], "stems": links["stems"]}


@pytest.fixture
def files_app(make_app):
    return make_app()


def test_links_list_every_file_and_each_is_made_once_then_kept(files_app):
    client = files_app.test_client()
    created = make(client, duration=3, seed=5)
    urls = file_urls(created)
    base = f"/api/tracks/{created['id']}"
    assert urls == {"wav": f"{base}/audio.wav", "flac": f"{base}/audio.flac", "mp3": f"{base}/audio.mp3",
                    "ogg": f"{base}/audio.ogg", "midi": f"{base}/score.mid", "score": f"{base}/score.json",
                    "stems": f"{base}/stems.zip"}
    svc = files_app.extensions["aimusic"]
    types = {**MEDIA, "midi": "audio/midi", "score": "application/json", "stems": "application/zip"}
    for kind, url in urls.items():
        first = get(client, url)
        assert first.status_code == 200 and first.mimetype == types[kind], (url, first.status_code)
        again = get(client, url)
        assert again.get_data() == first.get_data() and again.headers["ETag"] == first.headers["ETag"]
        part = get(client, url, headers={"Range": "bytes=10-109"})
        assert part.status_code == 206 and part.get_data() == first.get_data()[10:110]
        assert get(client, url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    info = library.get_track(svc.db, created["id"])
    assert sorted(f.kind for f in info.files) == sorted(urls)
    assert sorted(svc.store.names()) == sorted(f.filename for f in info.files)
    for f in info.files:   # /api/download serves every file a track owns
        assert get(client, f"/api/download/{f.filename}").mimetype == f.media_type


@pytest.mark.parametrize("fmt", ["flac", "mp3", "ogg"])
def test_format_chooses_the_file_behind_download_url(files_app, fmt):
    client = files_app.test_client()
    response = client.post("/api/generate", json={"style": "rock", "duration": 2, "seed": 3, "format": fmt.upper()})
    assert response.status_code == 201
    created = response.get_json()
    assert created["format"] == fmt and created["filename"].endswith("." + fmt)
    assert response.headers["Location"] == created["download_url"] == f"/api/download/{created['filename']}"
    downloaded = get(client, created["download_url"])
    assert downloaded.mimetype == MEDIA[fmt]
    assert get(client, created["links"]["audio"][fmt]).get_data() == downloaded.get_data()
    info = library.get_track(files_app.extensions["aimusic"].db, created["id"])
    assert {f.kind for f in info.files} == {"wav", fmt}, "the WAV master is kept beside the asked format"
    shown = get(client, created["links"]["self"]).get_json()
    assert shown["format"] == fmt and shown["download_url"] == created["download_url"]


def test_files_made_later_match_the_stored_mix_bit_for_bit(files_app):
    client = files_app.test_client()
    created = make(client, style="blues", duration=4, seed=77)
    wav, sr = sf.read(io.BytesIO(get(client, created["links"]["audio"]["wav"]).get_data()), dtype="int16")
    flac, _ = sf.read(io.BytesIO(get(client, created["links"]["audio"]["flac"]).get_data()), dtype="int16")
    assert np.array_equal(flac, wav)
    svc = files_app.extensions["aimusic"]
    info = library.get_track(svc.db, created["id"])
    remade = generate(stored_request(info), svc.melodist_info().melodist)
    assert np.array_equal(to_pcm16(remade.audio), wav), "the stored request and seed give the same samples"


def test_stems_made_with_the_track_equal_stems_made_later(files_app):
    client = files_app.test_client()
    now = client.post("/api/generate", json={"style": "electronic", "duration": 3, "seed": 8, "stems": True})
    assert now.status_code == 201
    later = make(client, style="electronic", duration=3, seed=8)
    svc = files_app.extensions["aimusic"]
    assert library.get_track(svc.db, now.get_json()["id"]).file("stems") is not None
    assert library.get_track(svc.db, later["id"]).file("stems") is None
    first = zipfile.ZipFile(io.BytesIO(get(client, now.get_json()["links"]["stems"]).get_data()))
    second = zipfile.ZipFile(io.BytesIO(get(client, later["links"]["stems"]).get_data()))
    wavs = [n for n in first.namelist() if n.endswith(".wav")]
    assert wavs and wavs == [n for n in second.namelist() if n.endswith(".wav")]
    for name in wavs:   # the same bytes; only stems.json differs, by the track's id
        assert first.read(name) == second.read(name), name


def test_stems_zip_has_one_aligned_wav_per_part_and_says_how_they_sum(files_app):
    client = files_app.test_client()
    created = make(client, style="rock", duration=3, seed=4)
    frames = sf.info(io.BytesIO(get(client, created["download_url"]).get_data())).frames
    archive = zipfile.ZipFile(io.BytesIO(get(client, created["links"]["stems"]).get_data()))
    manifest = json.loads(archive.read("stems.json"))
    names = [p["name"] for p in manifest["parts"]]
    assert sorted(archive.namelist()) == sorted([f"{n}.wav" for n in names] + ["stems.json"])
    score = json.loads(get(client, created["links"]["score"]).get_data())
    assert names == list(dict.fromkeys(p["role"] for p in score["parts"]))
    total = None
    for name in names:
        data, sr = sf.read(io.BytesIO(archive.read(f"{name}.wav")), always_2d=True)
        assert sf.info(io.BytesIO(archive.read(f"{name}.wav"))).subtype == "PCM_24"
        assert data.shape == (frames, 2) and sr == 44100
        total = data if total is None else total + data
    mix, _ = sf.read(io.BytesIO(get(client, created["download_url"]).get_data()), always_2d=True)
    corr = np.corrcoef(total.ravel(), mix.ravel())[0, 1]
    assert corr > 0.999 and manifest["sum_vs_mix"]["correlation"] == pytest.approx(corr, abs=1e-4)


def test_midi_and_score_json_describe_the_same_notes(files_app):
    client = files_app.test_client()
    created = make(client, style="jazz", duration=5, seed=12, key="Bb major", tempo=132)
    score = json.loads(get(client, created["links"]["score"]).get_data())
    midi = mido.MidiFile(file=io.BytesIO(get(client, created["links"]["midi"]).get_data()))
    assert score["key"]["name"] == "Bb major" and score["tempo"] == 132 and score["meter"]["numerator"] == 4
    assert [t.name for t in midi.tracks[1:]] == [p["name"] for p in score["parts"]]
    for part, mt in zip(score["parts"], midi.tracks[1:]):
        ons = sorted(m.note for m in mt if m.type == "note_on" and m.velocity > 0)
        assert ons == sorted(n["pitch"] for n in part["notes"])
    shown = get(client, created["links"]["self"]).get_json()
    assert [s["name"] for s in score["sections"]] == [s["label"] for s in shown["sections"]]
    assert [s["start_s"] for s in score["sections"]] == pytest.approx([s["start_s"] for s in shown["sections"]])


def test_loop_track_is_whole_bars_and_says_so(files_app):
    client = files_app.test_client()
    created = make(client, style="electronic", duration=6, seed=2, tempo=128, loop=True)
    bar_s = 4 * 60.0 / 128
    assert created["loop"] is True and created["bars"] == round(6 / bar_s)
    assert created["duration"] == pytest.approx(created["bars"] * bar_s, abs=1e-3)
    frames = sf.info(io.BytesIO(get(client, created["download_url"]).get_data())).frames
    assert frames == round(created["bars"] * bar_s * 44100)
    score = json.loads(get(client, created["links"]["score"]).get_data())
    assert score["loop"] is True and {s["name"][0] for s in score["sections"]} <= {"A", "B"}


@pytest.mark.parametrize("path", ["audio.aac", "audio.WAV", "audio.", "score.midi", "stems.tar", "score.xml"])
def test_unknown_files_are_json_404(files_app, path):
    client = files_app.test_client()
    created = make(client, duration=1)
    assert_error(client.get(f"/api/tracks/{created['id']}/{path}"), 404, "not_found")


@pytest.mark.parametrize("body, field", [({"format": "aac"}, "format"), ({"format": 3}, "format"),
                                         ({"loop": "yes"}, "loop"), ({"stems": 1}, "stems")])
def test_bad_new_fields_are_400(files_app, body, field):
    response = files_app.test_client().post("/api/generate", json={"style": "jazz", **body})
    assert_error(response, 400, "invalid_request", field)


def test_file_routes_refuse_other_methods_with_json_405(files_app):
    client = files_app.test_client()
    created = make(client, duration=1)
    for url in file_urls(created).values():
        assert_error(client.post(url), 405, "method_not_allowed")


def test_concurrent_first_requests_make_one_file_and_one_row(make_app, database_url):
    app = make_app(database_url=database_url)
    client = app.test_client()
    created = make(client, duration=3, seed=6)
    url = created["links"]["audio"]["mp3"]
    bodies: list[bytes] = []
    barrier = threading.Barrier(4)

    def fetch() -> None:
        local = app.test_client()
        barrier.wait()
        response = get(local, url)
        assert response.status_code == 200
        bodies.append(response.get_data())

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(bodies) == 4 and len(set(bodies)) == 1
    svc = app.extensions["aimusic"]
    info = library.get_track(svc.db, created["id"])
    assert [f.kind for f in info.files].count("mp3") == 1
    assert not [p for p in svc.output_dir.iterdir() if p.name.startswith(".partial-")], "no half-written file"


def test_delete_removes_every_made_file(files_app):
    client = files_app.test_client()
    created = make(client, duration=2, seed=1)
    for url in file_urls(created).values():
        assert get(client, url).status_code == 200
    svc = files_app.extensions["aimusic"]
    assert len(svc.store.names()) == 7
    assert client.delete(created["links"]["self"]).status_code == 204
    assert svc.store.names() == []
    for url in file_urls(created).values():
        assert_error(client.get(url), 404, "not_found")


def test_another_keys_track_files_are_404(make_app, database_url):
    app = make_app(database_url=database_url, auth="keys")
    db = app.extensions["aimusic"].db
    keys = {name: library.create_key(db, name)[1] for name in ("alice", "bob")}
    client = app.test_client()
    alice = make(client, bearer(keys["alice"]), duration=1, seed=3)
    svc = app.extensions["aimusic"]
    for url in file_urls(alice).values():
        assert_error(client.get(url, headers=bearer(keys["bob"])), 404, "not_found")
        assert_error(client.get(url), 401, "unauthorized")
    assert svc.store.names() == [alice["filename"]], "nothing was made for the other key"
    for url in file_urls(alice).values():
        assert get(client, url, headers=bearer(keys["alice"])).status_code == 200
    made = library.get_track(db, alice["id"]).files
    for f in made:
        assert_error(client.get(f"/api/download/{f.filename}", headers=bearer(keys["bob"])), 404, "not_found")


def test_under_gunicorn_concurrent_first_requests_get_one_complete_file(server):
    made = server.post_json("/api/generate", {"style": "rock", "duration": 3, "seed": 40})
    assert made.status == 201, made.body
    track = made.json()
    answers: dict[str, list] = {"mp3": [], "stems": []}
    urls = {"mp3": track["links"]["audio"]["mp3"], "stems": track["links"]["stems"]}
    barrier = threading.Barrier(6)

    def fetch(kind: str) -> None:
        barrier.wait()
        answers[kind].append(server.get(urls[kind]))

    threads = [threading.Thread(target=fetch, args=(kind,)) for kind in ("mp3", "stems") for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for kind, got in answers.items():
        assert [a.status for a in got] == [200, 200, 200], [a.body[:200] for a in got]
        assert len({a.body for a in got}) == 1, f"{kind}: every answer is the same complete file"
        assert int(got[0].headers["content-length"]) == len(got[0].body)
    names = sorted(p.name for p in server.output_dir.iterdir() if track["id"] in p.name)
    assert names == sorted([track["filename"], f"rock_{track['id']}.mp3", f"rock_{track['id']}_stems.zip"])
    assert not [p for p in server.output_dir.iterdir() if p.name.startswith(".partial-")]
    ranged = server.get(urls["mp3"], headers={"Range": "bytes=0-15"})
    assert ranged.status == 206 and ranged.body == answers["mp3"][0].body[:16]


def test_a_track_whose_wav_is_gone_answers_404_for_every_file(files_app):
    client = files_app.test_client()
    created = make(client, duration=1, seed=2)
    svc = files_app.extensions["aimusic"]
    svc.store.delete(created["filename"])
    for url in file_urls(created).values():
        assert_error(client.get(url), 404, "not_found")
    assert svc.store.names() == [], "nothing was made from a track without its master"
