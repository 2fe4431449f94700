"""One melody as plain data, the unit of the training corpus, and its JSON form.

Times are integer ticks of 1/12 quarter note so that both sixteenths and triplets are exact
and the dataset never carries floating-point drift.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TICKS_PER_QUARTER = 12
DATASET_VERSION = 1


@dataclass(slots=True)
class MelodyRecord:
    """A monophonic melody with its key, meter and the chord under every note.

    ``notes`` rows are ``[pitch, onset, duration, bar_position]``: MIDI pitch or -1 for a
    rest, then ticks. ``chords`` rows are ``[root_pc, quality]`` per note (``-1, ""`` when
    no chord sounds). ``agree`` counts, for sources with real chords, how many notes the
    melody-only harmonic analysis labels with the same root and family, and out of how many.
    """

    id: str
    source: str
    style: str
    tonic: int
    mode: str
    meter: str
    bar_ticks: int
    notes: list[list[int]]
    chords: list[list[Any]]
    chord_source: str
    title: str = ""
    agree: list[int] = field(default_factory=lambda: [0, 0])
    split: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (plain ints, strings and lists)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "MelodyRecord":
        """Rebuild a record from :meth:`to_json` output."""
        return cls(**data)

    @property
    def sounding_notes(self) -> int:
        """Number of notes that are not rests."""
        return sum(1 for n in self.notes if n[0] >= 0)


def quarters_to_ticks(q: float) -> int:
    """Round a duration in quarter notes to the nearest tick."""
    return int(round(float(q) * TICKS_PER_QUARTER))


def meter_ticks(meter: str) -> int:
    """Ticks in one bar of a meter such as ``"6/8"``."""
    num, den = (int(x) for x in meter.split("/"))
    return num * TICKS_PER_QUARTER * 4 // den
