"""Accompaniment patterns of the meters other than 4/4: waltz, jazz waltz, 6/8 and 12/8.

Same contract as :mod:`aimusic.compose.harmony` and :mod:`aimusic.compose.bass`: one
section's chord spans in, straight-grid notes out. Beats are quarter notes; a compound
meter's pulse is a dotted quarter (``PULSE`` beats) of three eighths.
"""
from __future__ import annotations

import numpy as np

from ..score import Note
from ..theory import fold_into
from .bass import _root
from .harmony import PatternFn, comp_rootless, voice_chord
from .melody_context import ChordSpan

PULSE = 1.5          # beats in a dotted quarter
EIGHTH = 0.5


def _pulses(span: ChordSpan) -> range:
    return range(max(1, int(round(span.length / PULSE))))


def waltz_chords(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                 energy: float, rng: np.random.Generator) -> list[Note]:
    """Oom-pah-pah: the chord on the second and third beat of each bar (the bass takes the first).

    Parameters
    ----------
    spans : tuple of ChordSpan
        The section's chords.
    register, beats_per_bar, energy, rng
        As every accompaniment pattern takes them.
    """
    vel = 0.38 + 0.3 * energy
    notes: list[Note] = []
    for span in spans:
        pitches = voice_chord(span.chord, register, voices=3)
        for k in range(int(round(span.length))):
            t = span.start + k
            if round(t) % beats_per_bar == 0:
                continue
            notes += [Note(t, 0.7, p, min(vel * (1.0 if round(t) % beats_per_bar == 1 else 0.85), 1.0))
                      for p in pitches]
    return notes


def bar_root(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
             energy: float, rng: np.random.Generator) -> list[Note]:
    """The root on each chord's downbeat, held a beat: the "oom" of a waltz."""
    return [Note(span.start, min(1.4, span.length * 0.95), _root(span.chord, register), 0.74) for span in spans]


def arpeggio_compound(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                      energy: float, rng: np.random.Generator) -> list[Note]:
    """Broken chords in three eighths per pulse (low-high-middle), the 6/8 keyboard figure."""
    figures = ((0, 2, 1), (0, 1, 2), (0, 2, 3))
    figure = figures[int(rng.integers(len(figures)))]
    vel = 0.38 + 0.3 * energy
    notes: list[Note] = []
    for span in spans:
        pitches = voice_chord(span.chord, register, voices=3)
        pitches = pitches + [pitches[0] + 12]
        for k in range(int(round(span.length / EIGHTH))):
            p = pitches[figure[k % 3] % len(pitches)]
            on_pulse = k % 3 == 0     # the pulse leans hard and rings: 6/8 is felt in dotted quarters
            notes.append(Note(span.start + EIGHTH * k, 1.4 if on_pulse else 0.45, p,
                              min(vel * (1.3 if on_pulse else 0.62), 1.0)))
    return notes


def pulse_roots(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                energy: float, rng: np.random.Generator) -> list[Note]:
    """Root on the first pulse of a chord, its fifth on the next: a 6/8 bass in dotted quarters."""
    notes: list[Note] = []
    for span in spans:
        root = _root(span.chord, register)
        fifth = fold_into(root + 7, *register)
        for k in _pulses(span):
            notes.append(Note(span.start + k * PULSE, PULSE * 0.92, root if k % 2 == 0 else fifth,
                              0.74 if k % 2 == 0 else 0.62))
    return notes


# Jazz-waltz comping rhythms for one 3/4 bar as (onset, length).
_WALTZ_COMPS = (((0.0, 0.8), (1.5, 0.5)), ((1.0, 0.6), (2.0, 0.6)), ((0.5, 0.4), (2.0, 0.8)),
                ((1.0, 0.4), (2.5, 0.4)))


def comp_waltz(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
               energy: float, rng: np.random.Generator) -> list[Note]:
    """Jazz-waltz comping: rootless voicings on two hits of each 3/4 bar, a rhythm per bar."""
    return comp_rootless(spans, _WALTZ_COMPS, register=register, beats_per_bar=beats_per_bar, energy=energy,
                         rng=rng)


def _compound_comp(spans: tuple[ChordSpan, ...], register: tuple[int, int], energy: float,
                   rng: np.random.Generator, accents: tuple[float, float, float]) -> list[Note]:
    """The chord on every eighth of a 12/8 bar at ``accents`` of each pulse's three, two and four hardest."""
    vel = 0.34 + 0.3 * energy
    notes: list[Note] = []
    for span in spans:
        pitches = voice_chord(span.chord, register, voices=3)
        for k in range(int(round(span.length / EIGHTH))):
            t = span.start + EIGHTH * k
            pulse = int(round(t / PULSE))
            accent = accents[k % 3] * (1.15 if k % 3 == 0 and pulse % 2 == 1 else 1.0)
            v = vel * accent * float(rng.uniform(0.92, 1.05))
            notes += [Note(t, 0.3, p, min(v, 1.0)) for p in pitches]
    return notes


def comp_compound(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                  energy: float, rng: np.random.Generator) -> list[Note]:
    """Slow-blues comping in 12/8: the chord on every eighth, each pulse's first leaning, two and four hardest."""
    return _compound_comp(spans, register, energy, rng, (1.0, 0.42, 0.55))


def comp_compound_slow(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                       energy: float, rng: np.random.Generator) -> list[Note]:
    """:func:`comp_compound` for a very slow 12/8: the triplets' second and third eighths brushed
    (a third and two fifths of the pulse), so the pulse, not the eighths, is the beat."""
    return _compound_comp(spans, register, energy, rng, (1.0, 0.3, 0.4))


_WALK = (0, 4, 7, 9)


def _walk(spans: tuple[ChordSpan, ...], register: tuple[int, int], *, pickup: bool) -> list[Note]:
    """Up the chord (root, third, fifth, sixth) one pulse each: long-short in each pulse with
    ``pickup``, else each pulse's note held to the next."""
    notes: list[Note] = []
    for span in spans:
        root = _root(span.chord, register)
        for k in _pulses(span):
            p = fold_into(root + _WALK[k % len(_WALK)], *register)
            t = span.start + k * PULSE
            vel = 0.78 if k % 2 == 0 else 0.68
            if pickup:
                notes += [Note(t, 0.95, p, vel), Note(t + 2 * EIGHTH, 0.45, p, vel * 0.8)]
            else:
                notes.append(Note(t, 1.4, p, vel))
    return notes


def compound_walk(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                  energy: float, rng: np.random.Generator) -> list[Note]:
    """12/8 bass: up the chord (root, third, fifth, sixth) one pulse each, long-short in each pulse."""
    return _walk(spans, register, pickup=True)


def compound_walk_slow(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                       energy: float, rng: np.random.Generator) -> list[Note]:
    """:func:`compound_walk` for a very slow 12/8: each pulse's note held to the next, with no
    pickup eighth inside it, so the bass walks the pulses a tracker is to hear."""
    return _walk(spans, register, pickup=False)


METER_HARMONY_PATTERNS: dict[str, PatternFn] = {
    "waltz_chords": waltz_chords, "arpeggio_compound": arpeggio_compound, "comp_waltz": comp_waltz,
    "comp_compound": comp_compound, "comp_compound_slow": comp_compound_slow,
}
METER_BASS_PATTERNS: dict[str, PatternFn] = {"bar_root": bar_root, "pulse_roots": pulse_roots,
                                              "compound_walk": compound_walk, "compound_walk_slow": compound_walk_slow}
