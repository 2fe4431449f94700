"""Feel: swing, accents and small timing humanisation applied to written notes.

Notes are written on a straight grid; feel moves them afterwards, so every part of a style
swings by the same ratio and the grid logic stays simple.
"""
from __future__ import annotations

import math

import numpy as np

from ..score import Note

# Accent of each position in a 4/4 bar (by eighth), the usual strong-weak hierarchy.
_EIGHTH_ACCENT = (1.0, 0.72, 0.85, 0.72, 0.93, 0.72, 0.85, 0.72)


def clamp(x: float, low: float, high: float) -> float:
    """``x`` limited to ``[low, high]`` (scalar; np.clip costs far more on Python floats)."""
    return float(min(max(x, low), high))


def swing_position(beat: float, ratio: float) -> float:
    """Move a straight position to its swung place: the off-beat eighth lands at ``ratio``.

    Within each beat, [0, 0.5) is stretched to [0, ratio) and [0.5, 1) squeezed into
    [ratio, 1), so sixteenths and triplets move consistently with the eighths.
    """
    if ratio == 0.5:
        return beat
    whole = math.floor(beat)
    frac = beat - whole
    if frac < 0.5:
        swung = frac * ratio / 0.5
    else:
        swung = ratio + (frac - 0.5) * (1.0 - ratio) / 0.5
    return float(whole + swung)


def on_pulse(beat: float, pulse: float) -> bool:
    """Whether ``beat`` (quarter beats from a bar line) falls on a pulse of ``pulse`` beats."""
    return abs(beat / pulse - round(beat / pulse)) < 1e-6


def accent(beat: float, beats_per_bar: int, pulse: float = 1.0) -> float:
    """Metric weight in (0, 1] of an onset at ``beat`` (absolute), by position in the bar.

    A compound meter (``pulse`` 1.5: dotted quarters) weighs its pulses over the eighths
    between them, so 6/8 and 12/8 are felt in twos and fours, not in quarters.
    """
    pos = beat % beats_per_bar
    if pulse != 1.0:
        if pos < 1e-6:
            return 1.0
        return 0.85 if on_pulse(pos, pulse) else 0.66
    eighth = int(round(pos * 2)) % (2 * beats_per_bar)
    if abs(pos * 2 - round(pos * 2)) > 1e-6:
        return 0.62  # sixteenths and finer
    if beats_per_bar == 4:
        return _EIGHTH_ACCENT[eighth]
    return 1.0 if eighth == 0 else (0.85 if eighth % 2 == 0 else 0.72)


def apply_feel(notes: list[Note], *, swing: float, rng: np.random.Generator, jitter_beats: float,
               beats_per_bar: int, accent_depth: float = 0.0, end_limit: float | None = None,
               pulse: float = 1.0, pulse_lean: float = 0.0, beat_lean: float = 0.0) -> list[Note]:
    """Return new notes with swing, optional metric accents and seeded timing jitter.

    ``jitter_beats`` is the standard deviation of the timing offset; a note never moves
    before 0 and keeps at least 60% of its length. In a compound meter (``pulse`` not 1), a
    note between the pulses is ``pulse_lean`` softer than the accents alone make it; at a slow
    tempo, a note between the beats is ``beat_lean`` softer (:mod:`aimusic.tempo_feel`).
    """
    if not notes:
        return []
    offsets = rng.normal(0.0, jitter_beats, size=len(notes)) if jitter_beats > 0 else np.zeros(len(notes))
    out: list[Note] = []
    for note, off in zip(notes, offsets):
        start = swing_position(note.start, swing)
        end = swing_position(note.end, swing) if note.length < 1.0 else note.end
        start = max(0.0, start + clamp(float(off), -2.5 * jitter_beats, 2.5 * jitter_beats))
        length = max(end - start, 0.6 * note.length)
        if end_limit is not None:
            length = min(length, end_limit - start)
            if length <= 0.01:
                continue
        velocity = note.velocity
        if accent_depth:
            velocity *= (1.0 - accent_depth) + accent_depth * accent(note.start, beats_per_bar, pulse)
        if pulse_lean and pulse != 1.0 and not on_pulse(note.start, pulse):
            velocity *= 1.0 - pulse_lean
        if beat_lean and not on_pulse(note.start, 1.0):
            velocity *= 1.0 - beat_lean
        out.append(Note(start, length, note.pitch, clamp(velocity, 0.05, 1.0)))
    return out
