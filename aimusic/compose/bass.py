"""Bass lines: the patterns styles name in PartSpec, over one section's chord spans."""
from __future__ import annotations

import numpy as np

from ..score import Note
from ..theory import Chord, fold_into, nearest_pitch_with_class
from .feel import clamp
from .harmony import PatternFn
from .melody_context import ChordSpan


def _root(chord: Chord, register: tuple[int, int]) -> int:
    """The chord's root in the lower third of the register, where a bass sits."""
    low, high = register
    target = low + (high - low) // 3
    p = nearest_pitch_with_class(target, chord.root)
    return int(clamp(p, low, high))


def root_fifth(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
               energy: float, rng: np.random.Generator) -> list[Note]:
    """Root on the strong beat, fifth on the half bar: the classical continuo bass."""
    notes: list[Note] = []
    for span in spans:
        root = _root(span.chord, register)
        fifth = fold_into(root + span.chord.intervals[min(2, len(span.chord.intervals) - 1)], *register)
        if span.length >= 4:
            half = span.length / 2
            notes += [Note(span.start, half * 0.95, root, 0.75), Note(span.start + half, half * 0.95, fifth, 0.6)]
        else:
            notes.append(Note(span.start, span.length * 0.95, root, 0.72))
    return notes


def walking(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
            energy: float, rng: np.random.Generator) -> list[Note]:
    """Walking quarters: root first, chord tones through the bar, a chromatic approach last."""
    notes: list[Note] = []
    for idx, span in enumerate(spans):
        root = _root(span.chord, register)
        nxt = spans[idx + 1].chord if idx + 1 < len(spans) else span.chord
        target = _root(nxt, register)
        beats = int(round(span.length))
        tones = [fold_into(root + i, *register) for i in span.chord.intervals[1:4]]
        line = [root]
        for k in range(1, beats):
            if k == beats - 1:
                line.append(fold_into(target + (1 if rng.random() < 0.5 else -1), *register))
            else:
                line.append(tones[int(rng.integers(len(tones)))] if tones else root)
        for k, p in enumerate(line):
            vel = (0.78 if k == 0 else 0.66) * float(rng.uniform(0.92, 1.05))
            notes.append(Note(span.start + k, 0.92, p, min(vel, 1.0)))
    return notes


def root_eighths(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                 energy: float, rng: np.random.Generator) -> list[Note]:
    """Rock bass: driving root eighths, an octave pop at the end of the chord now and then."""
    notes: list[Note] = []
    for span in spans:
        root = _root(span.chord, register)
        steps = int(round(span.length * 2))
        if energy < 0.6:
            notes += [Note(span.start + k, 0.9, root, 0.7) for k in range(int(span.length))]
            continue
        pop = rng.random() < 0.4
        for k in range(steps):
            p = fold_into(root + 12, *register) if pop and k == steps - 2 else root
            notes.append(Note(span.start + 0.5 * k, 0.45, p, 0.8 if k % 2 == 0 else 0.68))
    return notes


def offbeat_octave(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                   energy: float, rng: np.random.Generator) -> list[Note]:
    """Electronic bass: the root on every off-beat eighth, leaving the kick its downbeats."""
    notes: list[Note] = []
    for span in spans:
        root = _root(span.chord, register)
        for k in range(int(round(span.length))):
            p = fold_into(root + 12, *register) if (k % 2 == 1 and energy > 0.8) else root
            notes.append(Note(span.start + k + 0.5, 0.4, p, 0.85))
    return notes


def drone(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
          energy: float, rng: np.random.Generator) -> list[Note]:
    """A held root, re-struck only when the chord's root changes: ambient's floor."""
    notes: list[Note] = []
    for span in spans:
        root = _root(span.chord, register)
        if notes and notes[-1].pitch == root and abs(notes[-1].end - span.start) < 0.1:
            last = notes.pop()
            notes.append(Note(last.start, last.length + span.length, root, last.velocity))
        else:
            notes.append(Note(span.start, span.length * 0.99, root, 0.6))
    return notes


# Boogie figures in eighths (semitones above the root): up root-fifth-sixth-flat seventh,
# and the answering bar that turns on the sixth.
_BOOGIE = ((0, 0, 7, 7, 9, 9, 10, 9), (0, 0, 7, 7, 9, 9, 7, 7))


def boogie(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
           energy: float, rng: np.random.Generator) -> list[Note]:
    """Blues shuffle bass: the boogie figure root-fifth-sixth-flat seventh in swung eighths.

    Each chord gets the figure from its own root, the first and answering bars in turn; a
    chord of two beats plays the figure's first half. The feel swings the eighths.
    """
    notes: list[Note] = []
    for span in spans:
        root = _root(span.chord, register)
        figure = _BOOGIE[int(span.start // beats_per_bar) % 2]
        for k in range(min(int(round(span.length * 2)), len(figure))):
            vel = (0.8 if k % 2 == 0 else 0.6) * float(rng.uniform(0.93, 1.04))
            notes.append(Note(span.start + 0.5 * k, 0.42, root + figure[k], min(vel, 1.0)))
    return notes


BASS_PATTERNS: dict[str, PatternFn] = {
    "boogie": boogie,
    "root_fifth": root_fifth, "walking": walking, "root_eighths": root_eighths,
    "offbeat_octave": offbeat_octave, "drone": drone,
}
