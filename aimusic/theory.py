"""Music facts as pure functions: pitch names, keys, scales, chords, roman numerals."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ParameterError

PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
# Keys conventionally written with flats (major tonics; minor keys use their relative major).
_FLAT_MAJOR_TONICS = {5, 10, 3, 8, 1, 6}

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "blues": (0, 3, 5, 6, 7, 10),
    "major_pentatonic": (0, 2, 4, 7, 9),
    "minor_pentatonic": (0, 3, 5, 7, 10),
}

CHORD_INTERVALS: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "5": (0, 7),
    "6": (0, 4, 7, 9),
    "min6": (0, 3, 7, 9),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "minmaj7": (0, 3, 7, 11),
    "hdim7": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9),
    "7sus4": (0, 5, 7, 10),
    "9": (0, 4, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14),
    "min9": (0, 3, 7, 10, 14),
    "add9": (0, 4, 7, 14),
    "13": (0, 4, 7, 10, 14, 21),
}
# Qualities grouped into the coarse families the melody model is conditioned on.
QUALITY_FAMILY: dict[str, str] = {
    "maj": "maj", "6": "maj", "maj7": "maj", "maj9": "maj", "add9": "maj", "5": "maj",
    "min": "min", "min6": "min", "min7": "min", "min9": "min", "minmaj7": "min",
    "7": "dom", "9": "dom", "13": "dom", "7sus4": "dom",
    "dim": "dim", "dim7": "dim", "hdim7": "dim",
    "aug": "aug",
    "sus2": "sus", "sus4": "sus",
}

MAJOR_DEGREE_SEMITONES = (0, 2, 4, 5, 7, 9, 11)
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")


@dataclass(frozen=True, slots=True)
class Key:
    """A tonic pitch class (0 = C) and a mode name from :data:`SCALES`."""

    tonic: int
    mode: str = "major"

    def __post_init__(self) -> None:
        if not 0 <= self.tonic < 12:
            raise ParameterError("key", "tonic must be a pitch class 0-11")
        if self.mode not in SCALES:
            raise ParameterError("key", f"unknown mode {self.mode!r}")

    @property
    def scale(self) -> tuple[int, ...]:
        """Pitch classes of the key's scale, tonic first."""
        return tuple((self.tonic + s) % 12 for s in SCALES[self.mode])

    @property
    def name(self) -> str:
        """Human name such as ``"F major"`` or ``"C# minor"``."""
        return f"{pitch_class_name(self.tonic, self.mode)} {self.mode}"


def pitch_class_name(pc: int, mode: str = "major") -> str:
    """Spell a pitch class the way a key signature would (flats for F, Bb, Eb, …)."""
    major_tonic = pc if mode in ("major", "lydian", "mixolydian") else (pc + 3) % 12
    names = FLAT_NAMES if major_tonic in _FLAT_MAJOR_TONICS else SHARP_NAMES
    return names[pc % 12]


_KEY_RE = re.compile(r"^\s*([A-Ga-g])\s*([#b♯♭]?)\s*(m|maj|major|min|minor)?\s*$", re.IGNORECASE)


def parse_key(text: str) -> Key:
    """Parse ``"A minor"``, ``"Eb major"``, ``"F#m"`` or ``"C"`` (major) into a :class:`Key`."""
    match = _KEY_RE.match(text.replace("-", " "))
    if not match:
        raise ParameterError("key", "must be a tonic C, C#, Db … B with an optional mode word, e.g. 'A minor'")
    letter, accidental, mode_word = match.groups()
    pc = PITCH_CLASSES[letter.upper()]
    if accidental in ("#", "♯"):
        pc += 1
    elif accidental in ("b", "♭"):
        pc -= 1
    mode_word = (mode_word or "major")
    # "m" alone means minor; "M" would be ambiguous in spoken use, so treat any "m" as minor.
    mode = "minor" if mode_word.lower() in ("m", "min", "minor") else "major"
    return Key(pc % 12, mode)


@dataclass(frozen=True, slots=True)
class Chord:
    """A chord as an absolute root pitch class and a quality from :data:`CHORD_INTERVALS`."""

    root: int
    quality: str

    def __post_init__(self) -> None:
        if self.quality not in CHORD_INTERVALS:
            raise ParameterError("chord", f"unknown quality {self.quality!r}")

    @property
    def intervals(self) -> tuple[int, ...]:
        return CHORD_INTERVALS[self.quality]

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        """Distinct pitch classes of the chord, root first."""
        seen: list[int] = []
        for i in self.intervals:
            pc = (self.root + i) % 12
            if pc not in seen:
                seen.append(pc)
        return tuple(seen)

    @property
    def family(self) -> str:
        return QUALITY_FAMILY[self.quality]


_ROMAN_RE = re.compile(r"^(b|#)?(VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)(.*)$")
_SUFFIX_QUALITY_UPPER = {
    "": "maj", "7": "7", "maj7": "maj7", "9": "9", "maj9": "maj9", "add9": "add9", "6": "6",
    "13": "13", "sus2": "sus2", "sus4": "sus4", "7sus4": "7sus4", "5": "5", "+": "aug",
}
_SUFFIX_QUALITY_LOWER = {
    "": "min", "7": "min7", "9": "min9", "6": "min6", "o": "dim", "o7": "dim7", "ø7": "hdim7",
    "m7b5": "hdim7", "maj7": "minmaj7",
}


def roman_to_chord(numeral: str, key: Key) -> Chord:
    """Turn a roman numeral such as ``"ii7"``, ``"V7"``, ``"bVII"`` or ``"viiø7"`` into a chord.

    Degrees are counted on the major scale of the tonic, so a minor key writes its flat
    degrees explicitly (``"bIII"``, ``"bVI"``, ``"bVII"``): one reading for every mode.
    """
    match = _ROMAN_RE.match(numeral)
    if not match:
        raise ParameterError("progression", f"cannot read roman numeral {numeral!r}")
    accidental, roman, suffix = match.groups()
    degree = _ROMAN.index(roman.upper())
    semis = MAJOR_DEGREE_SEMITONES[degree] + (-1 if accidental == "b" else 1 if accidental == "#" else 0)
    table = _SUFFIX_QUALITY_UPPER if roman.isupper() else _SUFFIX_QUALITY_LOWER
    if suffix not in table:
        raise ParameterError("progression", f"unknown chord suffix in {numeral!r}")
    return Chord((key.tonic + semis) % 12, table[suffix])


def midi_to_hz(pitch: float) -> float:
    """Equal-tempered frequency of a MIDI pitch (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def nearest_pitch_with_class(target: int, pc: int) -> int:
    """The MIDI pitch of class ``pc`` closest to ``target`` (ties go down)."""
    base = target - ((target - pc) % 12)
    return base if target - base <= base + 12 - target else base + 12


def fold_into(pitch: int, low: int, high: int) -> int:
    """Move ``pitch`` by octaves into ``[low, high]`` (clamped if the range is under an octave)."""
    while pitch < low:
        pitch += 12
    while pitch > high:
        pitch -= 12
    return min(max(pitch, low), high)


def pitches_in_range(pcs: tuple[int, ...] | list[int], low: int, high: int) -> list[int]:
    """All MIDI pitches in ``[low, high]`` whose class is in ``pcs``, ascending."""
    wanted = {p % 12 for p in pcs}
    return [p for p in range(low, high + 1) if p % 12 in wanted]
