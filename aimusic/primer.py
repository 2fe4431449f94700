"""A user's MIDI file as a primer: its first melodic line, tempo, meter and key, nothing more.

The line is the highest voice of the first non-drum track that has notes (channel 10 is
drums), on the melody model's grid (twelve steps a quarter note), shifted by whole bars so it
starts in its first bar. Of the file only notes, the first tempo, time signature and key
signature are read; names, lyrics, system-exclusive data and every other event are ignored,
and the parser's limits (file size, line length) hold before anything else is done.
"""
from __future__ import annotations

import base64
import binascii
import io
import math
from dataclasses import dataclass, replace
from functools import lru_cache

import mido
import numpy as np

from .data.keys import estimate_key
from .data.lines import clean_line
from .errors import ParameterError
from .score import Note
from .theory import Key, parse_key

FIELD = "primer.midi"
MAX_PRIMER_BYTES = 32 * 1024
MAX_PRIMER_BEATS = 64          # quarter notes: sixteen bars of 4/4
MAX_PRIMER_NOTES = 256
GRID = 12                      # steps per quarter note, the melody model's grid
DRUM_CHANNEL = 9
_MAX_EVENTS = 100_000          # a 32 KiB file cannot hold more; a guard against a parser surprise


@dataclass(frozen=True, slots=True)
class Primer:
    """The melodic line of a primer file, its beats counted from its first bar (quarter notes)."""

    notes: tuple[Note, ...]
    qpm: float | None                 # quarter notes per minute of its first tempo, None: none given
    time_signature: str | None        # e.g. "3/4", None: none given
    key: Key                          # its key signature, or the key its notes suggest

    @property
    def end(self) -> float:
        """The beat where its last note ends."""
        return max(n.end for n in self.notes)

    def transposed(self, semitones: int) -> "Primer":
        """The same line ``semitones`` higher (kept inside MIDI's range by octaves)."""
        if not semitones:
            return self
        moved = tuple(replace(n, pitch=_in_midi_range(n.pitch + semitones)) for n in self.notes)
        return replace(self, notes=moved, key=Key((self.key.tonic + semitones) % 12, self.key.mode))


def _in_midi_range(pitch: int) -> int:
    while pitch > 127:
        pitch -= 12
    while pitch < 0:
        pitch += 12
    return pitch


def place_primer(primer: Primer, start: float, end: float) -> tuple[Note, ...]:
    """The primer's notes moved to begin at beat ``start``; notes past ``end`` are cut or dropped."""
    placed = []
    for n in primer.notes:
        onset = n.start + start
        if onset < end - 1e-9:
            placed.append(replace(n, start=onset, length=min(n.length, end - onset)))
    return tuple(placed)


def interval_to(key: Key, tonic: int) -> int:
    """The smallest move (−5 … +6 semitones) from ``key``'s tonic to ``tonic``."""
    up = (tonic - key.tonic) % 12
    return up - 12 if up > 6 else up


def primer_from_base64(text: str) -> Primer:
    """The primer of a request's ``primer.midi`` (base64 of the file's bytes); see :func:`read_primer`."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ParameterError(FIELD, "must be base64 (RFC 4648) of a MIDI file") from None
    return read_primer(data)


@lru_cache(maxsize=32)
def read_primer(data: bytes) -> Primer:
    """The primer line of a Standard MIDI File's bytes.

    Raises
    ------
    ParameterError
        Naming ``primer.midi``: the file is over 32 KiB, is not a MIDI file, has no melodic
        notes, or its line is longer than sixteen bars of 4/4 or 256 notes.
    """
    if len(data) > MAX_PRIMER_BYTES:
        raise ParameterError(FIELD, f"is too long: {len(data)} bytes, at most {MAX_PRIMER_BYTES}")
    try:
        midi = mido.MidiFile(file=io.BytesIO(data), clip=True)
        tracks = [list(track) for track in midi.tracks]
    except Exception:   # mido raises many kinds (OSError, EOFError, ValueError, KeyError, IndexError)
        raise ParameterError(FIELD, "is not a Standard MIDI File") from None
    resolution = int(midi.ticks_per_beat or 0)
    if not 0 < resolution < 32768 or midi.type not in (0, 1, 2) or sum(map(len, tracks)) > _MAX_EVENTS:
        raise ParameterError(FIELD, "is not a Standard MIDI File with a ticks-per-quarter time base")
    meta = _first_meta(tracks)
    raw = _first_line(tracks, resolution)
    if not raw:
        raise ParameterError(FIELD, "has no melody: no notes outside the drum channel")
    time_signature = meta.get("time_signature")
    bar = _bar_steps(time_signature)
    line = clean_line(_skyline(raw))
    shift = (line[0][1] // bar) * bar
    notes = tuple(Note((onset - shift) / GRID, length / GRID, pitch, _velocity(velocity))
                  for pitch, onset, length, velocity in line if pitch >= 0)
    beats = max(n.end for n in notes)
    if beats > MAX_PRIMER_BEATS:
        raise ParameterError(FIELD, f"is too long: its melody lasts {beats:g} quarter notes, "
                                    f"at most {MAX_PRIMER_BEATS}")
    if len(notes) > MAX_PRIMER_NOTES:
        raise ParameterError(FIELD, f"is too long: its melody has {len(notes)} notes, at most {MAX_PRIMER_NOTES}")
    key = meta.get("key") or _key_of(notes)
    return Primer(notes=notes, qpm=meta.get("qpm"), time_signature=time_signature, key=key)


def _velocity(velocity: int) -> float:
    return min(max(velocity / 127.0, 0.05), 1.0)


def _first_meta(tracks: list[list[mido.Message]]) -> dict:
    """The first tempo, time signature and key signature of any track."""
    found: dict = {}
    for track in tracks:
        for msg in track:
            if msg.type == "set_tempo" and "qpm" not in found and msg.tempo > 0:
                found["qpm"] = 60e6 / msg.tempo
            elif msg.type == "time_signature" and "time_signature" not in found:
                if msg.numerator > 0 and msg.denominator in (1, 2, 4, 8, 16, 32):
                    found["time_signature"] = f"{msg.numerator}/{msg.denominator}"
            elif msg.type == "key_signature" and "key" not in found:
                found["key"] = _key_from_signature(msg.key)
    return {k: v for k, v in found.items() if v is not None}


def _key_from_signature(name: str) -> Key | None:
    try:
        return parse_key(name)
    except ParameterError:
        return None


def _bar_steps(time_signature: str | None) -> int:
    """Grid steps in one bar of ``time_signature`` (4/4 when none)."""
    if not time_signature:
        return 4 * GRID
    numerator, denominator = (int(x) for x in time_signature.split("/"))
    return max(1, numerator * 4 * GRID // denominator)


def _first_line(tracks: list[list[mido.Message]], resolution: int) -> list[tuple[int, int, int, int]]:
    """``(pitch, onset, length, velocity)`` on the grid of the first track with non-drum notes."""
    for track in tracks:
        notes = _track_notes(track, resolution)
        if notes:
            return notes
    return []


def _track_notes(track: list[mido.Message], resolution: int) -> list[tuple[int, int, int, int]]:
    """The non-drum notes of one track, each onset and end snapped to the grid."""
    tick = 0
    sounding: dict[tuple[int, int], tuple[int, int]] = {}
    notes: list[tuple[int, int, int, int]] = []

    def close(channel: int, pitch: int, at: int) -> None:
        opened = sounding.pop((channel, pitch), None)
        if opened is None:
            return
        start, velocity = opened
        onset, end = _snap(start, resolution), _snap(at, resolution)
        if end > onset:
            notes.append((pitch, onset, end - onset, velocity))

    for msg in track:
        tick += msg.time
        if msg.type not in ("note_on", "note_off") or msg.channel == DRUM_CHANNEL:
            continue
        close(msg.channel, msg.note, tick)    # a repeated note-on ends the note before it
        if msg.type == "note_on" and msg.velocity > 0:
            sounding[(msg.channel, msg.note)] = (tick, msg.velocity)
    for channel, pitch in list(sounding):     # notes never released end with the track
        close(channel, pitch, tick)
    return sorted(notes, key=lambda n: (n[1], -n[0]))


def _skyline(notes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """The highest voice: a note starting under a higher one still sounding is accompaniment."""
    kept: list[tuple[int, int, int, int]] = []
    for note in notes:            # by onset, highest first
        pitch, onset = note[0], note[1]
        if not any(k[0] > pitch and k[1] + k[2] > onset for k in kept[-8:]):
            kept.append(note)
    return kept


def _snap(tick: int, resolution: int) -> int:
    return int(math.floor(tick * GRID / resolution + 0.5))


def _key_of(notes: tuple[Note, ...]) -> Key:
    """The key the line's pitches suggest (duration-weighted, its last note as a likely tonic)."""
    histogram = np.zeros(12)
    for n in notes:
        histogram[n.pitch % 12] += n.length
    tonic, mode = estimate_key(histogram, final_pc=notes[-1].pitch % 12)
    return Key(tonic, mode)
