"""Melody records from the POP909 JSON export (melody notes plus Harte chord labels)."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

from .chords import parse_harte, parse_pitch_name
from .lines import clean_line, fix_positions, make_record
from .records import TICKS_PER_QUARTER, MelodyRecord, meter_ticks

POP909_FILE = "pop909_melody_chords.json.gz"


def snap_ticks(quarters: float) -> int:
    """Snap a performed time to the nearest sixteenth or eighth-triplet position, in ticks.

    POP909 times follow a performance, so they are not on any grid; these two grids cover
    nearly all of its rhythms.
    """
    t = quarters * TICKS_PER_QUARTER
    by4, by3 = round(t / 3) * 3, round(t / 4) * 4
    return int(by4 if abs(t - by4) <= abs(t - by3) + 0.25 else by3)


def pop909_record(song: dict) -> MelodyRecord | None:
    """One POP909 song as a record; the dataset gives key, meter and chords."""
    meter = song.get("time_signature") or "4/4"
    bar = meter_ticks(meter)
    raw = []
    for pitch, dur, onset in song["notes"]:
        start = snap_ticks(onset)
        raw.append((-1 if pitch is None else int(pitch), start, max(snap_ticks(onset + dur) - start, 3), 0))
    line = clean_line(raw)
    if not line:
        return None
    fix_positions(line, bar, 0)
    timeline = []
    for onset, label in song["chords"]:
        root, quality = parse_harte(label)
        timeline.append((snap_ticks(onset), root, quality))
    timeline.sort()
    key = song["key"]
    mode = "minor" if key["mode"] == "minor" else "major"
    return make_record(line, piece_id=song["id"], source="pop909", style="pop", meter=meter,
                       bar_ticks=bar, timeline=timeline, chord_source="symbols",
                       title=song.get("title") or "", key=(parse_pitch_name(key["tonic"]), mode))


def pop909_records(folder: Path) -> list[MelodyRecord]:
    """All usable POP909 songs found in ``folder`` (empty when the file is absent)."""
    path = Path(folder) / POP909_FILE
    if not path.exists():
        return []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        songs = json.load(fh)
    return [r for r in (pop909_record(s) for s in songs) if r is not None]
