"""The page's musical controls and variations in a real browser against the real server.

Time signature, energy, one instrument per part and a MIDI file to continue (controls.js), and
the Variation button of each track (variations.js). Tracks are 2-4 s long so the tests stay quick.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import mido
import pytest
from playwright import sync_api

from .conftest import LiveServer
from .test_web_page import GENERATE_TIMEOUT_MS, browser, open_page, page, row  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

PRIMER_NOTES = [(72, 1), (76, 1), (79, 1)]  # (pitch, quarter notes): C E G, within the first bar of 4 s


def select_values(page: sync_api.Page, selector: str) -> list[str]:
    return page.eval_on_selector_all(f"{selector} option", "os => os.map(o => o.value)")


def press_generate(page: sync_api.Page) -> tuple[dict[str, Any], sync_api.Response]:
    """Click Generate; the request body the page sent and the API's answer."""
    with page.expect_response(lambda r: r.url.endswith("/api/generate"), timeout=GENERATE_TIMEOUT_MS) as answer:
        page.click("#generate")
    return json.loads(answer.value.request.post_data or "{}"), answer.value


def fill_basics(page: sync_api.Page, style: str, duration: float, seed: int) -> None:
    page.select_option("#style", style)
    page.fill("#duration", str(duration))
    page.fill("#seed", str(seed))


def write_midi(path: Path, notes: list[tuple[int, int]], *, ticks: int = 480) -> Path:
    """A one-track Standard MIDI File in C major, 4/4, 120 BPM, of these notes one after another."""
    midi = mido.MidiFile(type=1, ticks_per_beat=ticks)
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    track.append(mido.MetaMessage("key_signature", key="C", time=0))
    for pitch, beats in notes:
        track.append(mido.Message("note_on", note=pitch, velocity=90, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=beats * ticks))
    midi.tracks.append(track)
    midi.save(str(path))
    return path


# -- the controls follow the style ----------------------------------------------------------------

def test_controls_follow_the_style_are_labelled_and_an_untouched_form_sends_what_it_did(page, server):
    styles = {s["name"]: s for s in server.get("/api/styles").json()["styles"]}
    open_page(page)
    for name in ("classical", "jazz", "rock", "blues"):
        page.select_option("#style", name)
        assert select_values(page, "#time_signature") == styles[name]["time_signatures"]
        assert page.input_value("#time_signature") == styles[name]["time_signatures"][0], "the first is the default"
        parts = page.eval_on_selector_all("#instrument-parts select", "ss => ss.map(s => s.dataset.part)")
        assert parts == [p["name"] for p in styles[name]["parts"]]
        for part in styles[name]["parts"]:
            select = f"#instrument-parts select[data-part='{part['name']}']"
            assert select_values(page, select) == [""] + part["instruments"]
            assert page.input_value(select) == "", "auto until chosen"
        assert page.text_content("#energy-value") == f"auto (the style's {styles[name]['energy']:.2f})"
    assert select_values(page, "#time_signature") != styles["classical"]["time_signatures"]

    # Every control has a name a screen reader announces.
    unnamed = page.eval_on_selector_all(
        "#generate-form input, #generate-form select",
        "els => els.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.id)")
    assert unnamed == []
    assert page.get_by_label("Continue my melody").get_attribute("accept") == ".mid,.midi,audio/midi"

    fill_basics(page, "classical", 2, seed=3)
    body, answer = press_generate(page)
    assert answer.status == 201, answer.text()
    assert body == {"style": "classical", "duration": 2, "tempo": styles["classical"]["default_tempo"], "seed": 3}
    page.wait_for_function("() => document.getElementById('status').textContent === 'Done.'")
    assert not page.console_problems


# -- meter, energy and instruments reach the track ----------------------------------------------

def test_meter_energy_and_instruments_chosen_on_the_page_make_the_track(page, server):
    open_page(page)
    fill_basics(page, "classical", 3, seed=41)
    page.select_option("#time_signature", "3/4")
    page.get_by_label("Melody", exact=True).select_option("sax")
    page.get_by_label("Harmony", exact=True).select_option("electric piano")
    # The energy slider by keyboard: moving it sets it.
    page.fill("#energy", "0.85")
    page.focus("#energy")
    page.keyboard.press("ArrowRight")
    assert page.is_checked("#energy-set")
    assert page.text_content("#energy-value") == "0.90"

    body, answer = press_generate(page)
    assert answer.status == 201, answer.text()
    assert body["time_signature"] == "3/4" and body["energy"] == 0.9
    assert body["instruments"] == {"melody": "sax", "harmony": "electric piano"}
    made = answer.json()
    page.wait_for_function("() => document.getElementById('status').textContent === 'Done.'")

    track = server.get(f"/api/tracks/{made['id']}").json()
    assert track["time_signature"] == "3/4"
    assert track["request"]["energy"] == 0.9
    assert track["request"]["instruments"] == {"melody": "sax", "harmony": "electric piano"}
    score = server.get(track["links"]["score"]).json()
    instruments = {p["name"]: p["instrument"] for p in score["parts"]}
    assert instruments["melody"] == "sax" and instruments["harmony"] == "electric_piano"
    assert page.text_content("#metadata dd[data-field=time_signature]") == "3/4"

    # Unchecking "Set energy" leaves it out again; the other controls stay as chosen.
    page.uncheck("#energy-set")
    assert page.text_content("#energy-value").startswith("auto")
    page.fill("#duration", "2")
    body, answer = press_generate(page)
    assert answer.status == 201 and "energy" not in body and body["time_signature"] == "3/4"
    page.wait_for_function("() => document.getElementById('status').textContent === 'Done.'")
    assert not page.console_problems


def test_the_apis_error_for_an_instrument_is_shown_next_to_its_select(page):
    open_page(page)
    fill_basics(page, "jazz", 2, seed=5)
    # A choice the service does not offer (as an older page might still list).
    page.eval_on_selector("#instrument-melody", "s => s.append(new Option('kazoo', 'kazoo'))")
    page.select_option("#instrument-melody", "kazoo")
    _, answer = press_generate(page)
    assert answer.status == 400
    note = page.locator("#instrument-melody-error")
    note.wait_for()
    assert note.get_attribute("data-for") == "instruments.melody"
    assert "must be one of" in note.text_content() and "sax" in note.text_content()
    assert page.get_attribute("#instrument-melody", "aria-invalid") == "true"
    assert "instrument-melody-error" in page.get_attribute("#instrument-melody", "aria-describedby").split()
    assert page.is_hidden("#result") and page.is_enabled("#generate")

    page.select_option("#instrument-melody", "sax")
    _, answer = press_generate(page)
    assert answer.status == 201
    note.wait_for(state="detached")
    assert page.get_attribute("#instrument-melody", "aria-invalid") is None
    assert all("400" in p for p in page.console_problems), page.console_problems


# -- a MIDI file to continue --------------------------------------------------------------------

def test_a_midi_file_is_sent_as_a_primer_and_the_melody_starts_with_its_notes(page, server, tmp_path):
    path = write_midi(tmp_path / "tune.mid", PRIMER_NOTES)
    open_page(page)
    fill_basics(page, "classical", 4, seed=17)
    page.fill("#tempo", "120")
    page.fill("#key", "C major")
    page.set_input_files("#primer", str(path))
    assert page.is_visible("#primer-clear")
    body, answer = press_generate(page)
    assert body["primer"] == {"midi": base64.b64encode(path.read_bytes()).decode()}
    assert answer.status == 201, answer.text()
    made = answer.json()
    page.wait_for_function("() => document.getElementById('status').textContent === 'Done.'")

    score = server.get(made["links"]["score"]).json()
    melody = next(p for p in score["parts"] if p["name"] == "melody")
    notes = sorted(melody["notes"], key=lambda n: n["start_beat"])
    first = notes[:len(PRIMER_NOTES)]
    assert [n["pitch"] for n in first] == [p for p, _ in PRIMER_NOTES]
    onsets = [n["start_beat"] - first[0]["start_beat"] for n in first]
    assert onsets == pytest.approx([0, 1, 2], abs=0.02)
    assert len(notes) > len(PRIMER_NOTES), "and the melody goes on"
    assert not page.console_problems


def test_an_oversized_midi_file_is_refused_without_a_request(page, tmp_path):
    path = write_midi(tmp_path / "long.mid", [(60 + n % 12, 1) for n in range(5000)])
    assert path.stat().st_size > 32 * 1024
    sent: list[str] = []
    open_page(page)
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    fill_basics(page, "classical", 2, seed=1)
    page.set_input_files("#primer", str(path))
    note = page.locator("#primer-error")
    note.wait_for()
    assert "32 KiB" in note.text_content() and "long.mid" in note.text_content()
    page.click("#generate")
    page.wait_for_selector("#error:not([hidden])")
    assert "32 KiB" in page.text_content("#error")
    assert page.get_attribute("#primer", "aria-invalid") == "true"
    assert page.evaluate("() => document.activeElement.id") == "primer"
    page.wait_for_timeout(300)
    assert sent == [], "nothing was sent"

    page.get_by_role("button", name="Remove file").click()
    assert page.locator("#primer-error").count() == 0
    assert page.eval_on_selector("#primer", "i => i.files.length") == 0
    body, answer = press_generate(page)
    assert answer.status == 201 and "primer" not in body
    assert not page.console_problems


def test_a_file_that_is_not_midi_gets_the_services_error_next_to_the_upload(page, tmp_path):
    path = tmp_path / "notes.mid"
    path.write_bytes(b"these are not the notes you are looking for\n")
    open_page(page)
    fill_basics(page, "ambient", 2, seed=2)
    page.set_input_files("#primer", str(path))
    _, answer = press_generate(page)
    assert answer.status == 400
    assert answer.json()["error"]["details"][0]["field"] == "primer.midi"
    note = page.locator("#primer-error")
    note.wait_for()
    assert note.get_attribute("data-for") == "primer.midi"
    assert "MIDI" in note.text_content()
    assert page.get_attribute("#primer", "aria-invalid") == "true"
    assert all("400" in p for p in page.console_problems), page.console_problems


# -- variations ---------------------------------------------------------------------------------

def test_variation_makes_a_second_track_that_links_to_its_original(page, server):
    open_page(page)
    fill_basics(page, "jazz", 3, seed=61)
    _, answer = press_generate(page)
    assert answer.status == 201, answer.text()
    first = answer.json()
    item = row(page, first["id"])
    item.wait_for()
    page.wait_for_function("() => document.getElementById('status').textContent === 'Done.'")

    item.get_by_label("What a variation").select_option("melody")
    with page.expect_response(lambda r: r.url.endswith(f"/api/tracks/{first['id']}/variations"),
                              timeout=GENERATE_TIMEOUT_MS) as made:
        item.get_by_role("button", name="Variation").click()
    assert made.value.status == 201, made.value.text()
    assert json.loads(made.value.request.post_data) == {"vary": "melody"}
    second = made.value.json()
    assert second["id"] != first["id"] and second["variation_of"] == first["id"]
    page.wait_for_function("() => document.getElementById('status').textContent === 'Done.'")

    # Shown like a new track: first in the library and in the result, with a link to its original.
    assert page.eval_on_selector("#tracks > li", "r => r.dataset.id") == second["id"]
    assert page.get_attribute("#result", "data-track") == second["id"]
    for where in (row(page, second["id"]), page.locator("#result")):
        link = where.locator(".track-origin .origin-link")
        assert link.is_visible() and link.get_attribute("data-original") == first["id"]
        assert link.text_content() == f"Jazz in {first['key']}, seed {first['seed']}"
        assert where.locator(".track-origin").text_content().endswith(" · a new melody")
    assert row(page, first["id"]).locator(".track-origin").is_hidden(), "the original is no variation"
    stored = server.get(f"/api/tracks/{second['id']}").json()
    assert stored["variation_of"] == first["id"]
    assert stored["key"] == first["key"] and stored["tempo"] == first["tempo"]

    row(page, second["id"]).locator(".origin-link").click()
    assert page.evaluate("() => document.activeElement.dataset.id") == first["id"], "focus on the original"
    assert not page.console_problems
