"""The musical controls over HTTP: /api/styles lists them, generate validates and applies them."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import soundfile as sf

from aimusic.meters import meter_names
from aimusic.styles import STYLE_NAMES

JSON_TYPE = "application/json; charset=utf-8"


def _error(response, field: str) -> dict:
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == JSON_TYPE
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request"
    assert field in [d["field"] for d in error["details"]], error
    assert error["message"].startswith(field + " ")
    return error


def test_styles_list_their_time_signatures_default_first(client) -> None:
    styles = {s["name"]: s for s in client.get("/api/styles").get_json()["styles"]}
    assert set(styles) == set(STYLE_NAMES)
    for name, info in styles.items():
        assert info["time_signatures"] == meter_names(name)
        assert info["time_signatures"][0] == info["time_signature"]
    assert "12/8" in styles["blues"]["time_signatures"] and "3/4" in styles["jazz"]["time_signatures"]


@pytest.mark.parametrize("body", [{"style": "rock", "time_signature": "3/4"},
                                  {"style": "jazz", "time_signature": "7/8"},
                                  {"style": "blues", "time_signature": "12-8"}])
def test_a_meter_the_style_lacks_is_a_400_naming_the_field(client, body) -> None:
    error = _error(client.post("/api/generate", json=body), "time_signature")
    assert body["style"] in error["message"]


def test_a_track_in_three_four_says_so(client) -> None:
    response = client.post("/api/generate", json={"style": "jazz", "duration": 4, "seed": 1,
                                                   "time_signature": "3/4"})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["time_signature"] == "3/4"
    with client.get(body["links"]["score"]) as served:
        score = served.get_json()
    assert (score["meter"]["numerator"], score["meter"]["denominator"]) == (3, 4)
    track = client.get(body["links"]["self"]).get_json()
    assert track["request"]["time_signature"] == "3/4"


def test_styles_list_energy_and_each_parts_instruments(client) -> None:
    styles = {s["name"]: s for s in client.get("/api/styles").get_json()["styles"]}
    for info in styles.values():
        assert 0.0 <= info["energy"] <= 1.0
        assert info["parts"] and all(p["instruments"] for p in info["parts"])
    jazz = {p["name"]: p["instruments"] for p in styles["jazz"]["parts"]}
    assert "sax" in jazz["melody"] and "organ" in jazz["harmony"]


@pytest.mark.parametrize("instruments, field", [({"kazoo": "sax"}, "instruments.kazoo"),
                                                ({"melody": "theremin"}, "instruments.melody"),
                                                ({"melody": 3}, "instruments.melody")])
def test_an_unknown_part_or_instrument_is_a_400_naming_it(client, instruments, field) -> None:
    _error(client.post("/api/generate", json={"style": "jazz", "instruments": instruments}), field)


@pytest.mark.parametrize("energy", [-0.1, 1.5, "high"])
def test_energy_outside_zero_to_one_is_a_400(client, energy) -> None:
    _error(client.post("/api/generate", json={"style": "rock", "energy": energy}), "energy")


def test_the_chosen_instruments_are_in_the_score_json(client) -> None:
    response = client.post("/api/generate", json={"style": "jazz", "duration": 4, "seed": 2, "energy": 0.8,
                                                   "instruments": {"melody": "sax", "harmony": "organ"}})
    assert response.status_code == 201, response.get_data(as_text=True)
    with client.get(response.get_json()["links"]["score"]) as served:
        parts = {p["role"]: p["instrument"] for p in served.get_json()["parts"]}
    assert parts["melody"] == "sax" and parts["harmony"] == "organ"


def _melody_stem(client, instrument: str) -> tuple[np.ndarray, int, list[dict]]:
    response = client.post("/api/generate", json={"style": "jazz", "duration": 6, "seed": 4,
                                                   "instruments": {"melody": instrument}})
    assert response.status_code == 201, response.get_data(as_text=True)
    links = response.get_json()["links"]
    with client.get(links["stems"]) as served:
        archive = zipfile.ZipFile(io.BytesIO(served.get_data()))
    with client.get(links["score"]) as served:
        notes = next(p for p in served.get_json()["parts"] if p["role"] == "melody")["notes"]
    audio, sr = sf.read(io.BytesIO(archive.read("melody.wav")))
    return audio.mean(axis=1), sr, notes


def _overtone_share(stem: np.ndarray, sr: int, notes: list[dict]) -> float:
    """Median over the melody's notes of the energy at harmonics 2-8 against the fundamental's."""
    shares = []
    for note in notes:
        a, b = int(note["start_s"] * sr), int(min(note["end_s"], note["start_s"] + 0.4) * sr)
        if b - a < sr // 20:
            continue
        spectrum = np.abs(np.fft.rfft(stem[a:b] * np.hanning(b - a))) ** 2
        freqs = np.fft.rfftfreq(b - a, 1.0 / sr)
        f0 = 440.0 * 2 ** ((note["pitch"] - 69) / 12)
        band = lambda k: spectrum[np.abs(freqs - k * f0) < 0.03 * k * f0].sum()   # noqa: E731
        shares.append(sum(band(k) for k in range(2, 9)) / max(band(1), 1e-12))
    return float(np.median(shares))


def test_the_chosen_melody_instrument_is_heard_in_its_stem(client) -> None:
    flute, sr, notes = _melody_stem(client, "flute")
    shares = {"flute": _overtone_share(flute, sr, notes)}
    for instrument in ("violin", "clean_guitar"):
        stem, _, same_notes = _melody_stem(client, instrument)
        assert [n["pitch"] for n in same_notes] == [n["pitch"] for n in notes], "the same notes, another instrument"
        assert 20 * np.log10(np.sqrt(np.mean(stem ** 2))) > -40.0, "the melody stem is audible"
        shares[instrument] = _overtone_share(stem, sr, notes)
    # A flute is nearly a pure tone; a bowed string and a plucked one are rich in overtones.
    assert shares["violin"] > 3 * shares["flute"] and shares["clean_guitar"] > 10 * shares["flute"], shares
