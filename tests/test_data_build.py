"""The corpus builder on tiny score files of every supported format."""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from aimusic.data.build import DATASET_FILE, build_dataset, load_dataset
from aimusic.data.chords import analyse_melody, name_pitch_classes, parse_harte
from aimusic.data.keys import estimate_key
from aimusic.data.pop909 import pop909_record

FIXTURES = Path(__file__).parent / "fixtures" / "scores"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("dataset")
    summary = build_dataset(out, sources=[], extra_dirs=[FIXTURES], cache_dir=out / "cache", heldout=None, workers=1)
    return out, summary


def _by_title(out: Path) -> dict[str, object]:
    return {r.title or r.id: r for r in load_dataset(out)}


def test_every_fixture_format_gives_melodies(built) -> None:
    out, summary = built
    assert summary["melodies"] == 5 and summary["error_count"] == 0
    recs = load_dataset(out)
    suffixes = {r.id.split("#")[0].rsplit(".", 1)[1] for r in recs}
    assert suffixes == {"abc", "krn", "musicxml", "mid"}
    for r in recs:
        assert len(r.notes) == len(r.chords) >= 8
        onsets = [n[1] for n in r.notes]
        assert onsets == sorted(onsets)
        assert all(a[1] + a[2] == b[1] for a, b in zip(r.notes, r.notes[1:]))   # rows tile time
        assert all(0 <= n[3] < r.bar_ticks for n in r.notes)
        assert r.split in ("train", "validation", "test")


def test_abc_quoted_chord_symbols_are_read(built) -> None:
    recs = _by_title(built[0])
    reel = recs["Harbour Lights"]
    assert reel.chord_source == "symbols" and reel.meter == "4/4" and (reel.tonic, reel.mode) == (7, "major")
    assert reel.notes[0][3] == 36                                   # the pickup sits on beat 4
    chords = {tuple(c) for c in reel.chords}
    assert {(7, "maj"), (0, "maj"), (9, "min"), (2, "7"), (2, "maj")} <= chords
    air = recs["Slow Air for Anna"]
    assert (air.tonic, air.mode, air.meter) == (2, "minor", "3/4")
    assert (9, "7") in {tuple(c) for c in air.chords}


def test_other_voices_and_analysis_give_chords(built) -> None:
    recs = load_dataset(built[0])
    xml = next(r for r in recs if r.id.endswith(".musicxml#0"))
    assert xml.chord_source == "voices" and (xml.tonic, xml.mode) == (5, "major")
    assert xml.chords[0] == [5, "maj"] and [10, "maj"] in xml.chords and [0, "7"] in xml.chords
    krn = next(r for r in recs if r.id.endswith(".krn#0"))
    assert krn.chord_source == "analysis" and krn.meter == "3/4" and krn.tonic == 0
    assert krn.chords[0] == [0, "maj"]


def test_rebuild_is_identical_and_uses_the_cache(built, tmp_path: Path) -> None:
    out, _ = built
    cached = sorted((out / "cache").iterdir())
    assert len(cached) == 4
    again = tmp_path / "again"
    build_dataset(again, sources=[], extra_dirs=[FIXTURES], cache_dir=out / "cache", heldout=None, workers=1)
    first = gzip.open(out / DATASET_FILE, "rt").read()
    assert gzip.open(again / DATASET_FILE, "rt").read() == first
    assert sorted((out / "cache").iterdir()) == cached


def test_unparsable_file_is_counted_not_fatal(tmp_path: Path) -> None:
    scores = tmp_path / "scores"
    shutil.copytree(FIXTURES, scores)
    (scores / "broken.mid").write_bytes(b"MThd this is not a midi file")
    summary = build_dataset(tmp_path / "out", sources=[], extra_dirs=[scores], cache_dir=None, heldout=None, workers=1)
    assert summary["error_count"] == 1 and summary["melodies"] == 5
    assert "broken.mid" in summary["errors"][0]


def test_analysis_finds_tonic_subdominant_dominant() -> None:
    # C major arpeggios, one chord per half bar (24 ticks): I IV V I.
    pitches = np.array([60, 64, 67, 65, 69, 72, 67, 71, 74, 72])
    durs = np.array([8, 8, 8, 8, 8, 8, 8, 8, 8, 24])
    onsets = np.concatenate([[0], np.cumsum(durs)[:-1]])
    labels = analyse_melody(pitches, onsets, durs, tonic=0, mode="major", window=24)
    assert [labels[i] for i in (0, 3, 6, 9)] == [(0, "maj"), (5, "maj"), (7, "maj"), (0, "maj")]


def test_chord_names_and_keys() -> None:
    assert parse_harte("F#:maj7/5") == (6, "maj7") and parse_harte("N") == (-1, "")
    assert name_pitch_classes({7, 11, 2, 5}, 7) == (7, "7")
    assert name_pitch_classes({9, 0, 4}, 9) == (9, "min")
    major = np.bincount([0, 2, 4, 5, 7, 9, 11, 0, 4, 7, 0], minlength=12)
    minor = np.bincount([9, 11, 0, 2, 4, 5, 8, 9, 0, 4, 9], minlength=12)
    assert estimate_key(major, 0) == (0, "major")
    assert estimate_key(minor, 9) == (9, "minor")


def test_pop909_song_is_snapped_to_the_grid() -> None:
    song = {"id": "pop909-x", "title": "t", "key": {"tonic": "D", "mode": "major"}, "time_signature": "4/4",
            "notes": [[62, 0.49, 0.02], [66, 0.5, 0.51], [69, 0.97, 1.0], [None, 1.0, 2.0],
                      [74, 1.0, 3.0], [73, 0.5, 4.01], [71, 0.5, 4.5], [69, 2.0, 5.0], [67, 1.0, 7.0]],
            "chords": [[0.0, "D:maj"], [4.0, "A:7"], [6.0, "G:maj/3"]]}
    rec = pop909_record(song)
    assert rec is not None and (rec.tonic, rec.mode) == (2, "major")
    assert [n[1] for n in rec.notes][:4] == [0, 6, 12, 24]
    assert all(n[1] % 3 == 0 or n[1] % 4 == 0 for n in rec.notes)
    assert rec.chords[0] == [2, "maj"] and [9, "7"] in rec.chords and rec.chords[-1] == [7, "maj"]
    assert rec.agree[1] == rec.sounding_notes
