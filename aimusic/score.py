"""The Score: plain containers for notes and tracks, the hinge between composer and synth.

Times are in beats (quarter notes for x/4 meters); the score's tempo map turns them into
seconds, so the composer knows nothing of samples and the synthesizer nothing of styles.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ParameterError

# General MIDI percussion numbers used for drum tracks.
KICK, SIDE_STICK, SNARE, CLAP = 36, 37, 38, 39
CLOSED_HAT, PEDAL_HAT, OPEN_HAT = 42, 44, 46
LOW_TOM, MID_TOM, HIGH_TOM = 45, 47, 50
CRASH, RIDE = 49, 51


@dataclass(frozen=True, slots=True)
class Note:
    """One note: onset and length in beats, MIDI pitch, velocity in (0, 1]."""

    start: float
    length: float
    pitch: int
    velocity: float = 0.8

    def __post_init__(self) -> None:
        if not self.start >= 0.0:
            raise ParameterError("note.start", f"must be >= 0, got {self.start}")
        if not self.length > 0.0:
            raise ParameterError("note.length", f"must be > 0, got {self.length}")
        if not 0 <= self.pitch <= 127:
            raise ParameterError("note.pitch", f"must be a MIDI pitch 0-127, got {self.pitch}")
        if not 0.0 < self.velocity <= 1.0:
            raise ParameterError("note.velocity", f"must be in (0, 1], got {self.velocity}")

    @property
    def end(self) -> float:
        return self.start + self.length


@dataclass(slots=True)
class Track:
    """A named part played by one instrument; ``role`` is melody/harmony/bass/drums/pad/…"""

    name: str
    instrument: str
    role: str
    notes: list[Note] = field(default_factory=list)
    pan: float = 0.0  # -1 left … +1 right
    gain_db: float = 0.0

    @property
    def is_drums(self) -> bool:
        return self.role == "drums"

    def end_beat(self) -> float:
        return max((n.end for n in self.notes), default=0.0)


@dataclass(frozen=True, slots=True)
class TempoMap:
    """Constant tempo with an optional final ritardando.

    From ``ritard_start`` (beats) to ``ritard_end`` the beat length grows linearly until it
    is ``ritard_factor`` times the original, the way a classical ending slows down.
    """

    bpm: float
    ritard_start: float | None = None
    ritard_end: float | None = None
    ritard_factor: float = 1.0

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.bpm

    def seconds(self, beats: np.ndarray | float) -> np.ndarray:
        """Seconds from the start of the piece at each beat position (vectorised)."""
        b = np.asarray(beats, dtype=np.float64)
        spb = self.seconds_per_beat
        if self.ritard_start is None or self.ritard_end is None or self.ritard_factor == 1.0:
            return b * spb
        s, e = self.ritard_start, self.ritard_end
        k = (self.ritard_factor - 1.0) / max(e - s, 1e-9)
        x = np.clip(b - s, 0.0, e - s)
        beyond = np.maximum(b - e, 0.0)
        t = np.minimum(b, s) * spb + spb * (x + 0.5 * k * x * x) + beyond * spb * self.ritard_factor
        return t

    def beats(self, seconds: float) -> float:
        """The beat position reached after ``seconds`` (inverse of :meth:`seconds`)."""
        spb = self.seconds_per_beat
        if self.ritard_start is None or self.ritard_end is None or self.ritard_factor == 1.0:
            return seconds / spb
        grid = np.linspace(0.0, self.ritard_end + seconds / spb + 1.0, 4096)
        return float(np.interp(seconds, self.seconds(grid), grid))


@dataclass(slots=True)
class Score:
    """A whole piece: tracks, tempo map, meter and key, plus the target length in seconds."""

    tracks: list[Track]
    tempo: TempoMap
    beats_per_bar: int
    beat_unit: int
    key_name: str
    duration_s: float
    sections: list[tuple[str, float]] = field(default_factory=list)  # (label, start beat)
    time_signature: str = ""     # as written when not beats_per_bar/beat_unit (6/8: three beats a bar)

    @property
    def meter(self) -> tuple[int, int]:
        """(numerator, denominator) of the time signature as written: (6, 8) for a 6/8 piece."""
        if self.time_signature:
            top, bottom = self.time_signature.split("/")
            return int(top), int(bottom)
        return self.beats_per_bar, self.beat_unit

    def track(self, role: str) -> Track | None:
        """The first track with ``role``, or None."""
        return next((t for t in self.tracks if t.role == role), None)

    def end_beat(self) -> float:
        return max((t.end_beat() for t in self.tracks), default=0.0)
