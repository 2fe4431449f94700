"""Accompaniment patterns an asked energy swaps in, for the styles whose own patterns hardly change with it.

Rock, jazz and electronic already thin out and fill up with their sections' levels (drums
keep time only, power chords ring or chug, comping answers more). A classical keyboard, an
ambient bed and a blues band need another figure to sound calmer or busier: broken chords in
quarters or in sixteenths instead of eighths, a shimmer of eighths over the pad, a drone
re-struck each half bar, the blues comping's triplets relaxed into swung eighths, a house
track's off-beat stabs struck once per chord instead; and at a high level the drums of rock,
electronic and blues drive harder, while a calm electronic track keeps only its kick and two
open hats a bar, and a calm blues only the ride on the beat (:data:`ENERGY_GROOVES`).
:data:`ENERGY_PARTS` says which pattern replaces which, per style and energy band; a pattern
a meter chose (a waltz, a 6/8 figure) is never replaced.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

import numpy as np

from ..score import Note
from .bass import _root
from .harmony import PatternFn, _chord_notes, broken_chords, voice_chord
from .melody_context import ChordSpan

LOW, HIGH = 0.35, 0.7     # below LOW the calm figure, above HIGH the busy one


def arpeggio_quarters(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                      energy: float, rng: np.random.Generator) -> list[Note]:
    """Broken chords in quarter notes: the calm classical accompaniment."""
    return broken_chords(spans, step=1.0, length=1.1, register=register, energy=energy, rng=rng)


def arpeggio_sixteenths(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                        energy: float, rng: np.random.Generator) -> list[Note]:
    """Broken chords in sixteenths: the driving Alberti bass of a fast movement."""
    return broken_chords(spans, step=0.25, length=0.275, register=register, energy=energy, rng=rng)


def shimmer(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
            energy: float, rng: np.random.Generator) -> list[Note]:
    """The chord's upper notes rocking in eighths, soft and ringing: an ambient bed with motion."""
    vel = 0.3 + 0.2 * energy
    notes: list[Note] = []
    for span in spans:
        top = voice_chord(span.chord, register)[-3:]
        for k in range(int(round(span.length * 2))):
            notes.append(Note(span.start + 0.5 * k, 0.9, top[(0, 2, 1, 2)[k % 4] % len(top)],
                              vel * (1.0 if k % 2 == 0 else 0.8)))
    return notes


def pulsed_drone(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                 energy: float, rng: np.random.Generator) -> list[Note]:
    """The drone's root struck again every half bar: the floor pulses without a beat."""
    notes: list[Note] = []
    for span in spans:
        root, half = _root(span.chord, register), max(beats_per_bar / 2, 1.0)
        for k in range(max(1, int(round(span.length / half)))):
            notes.append(Note(span.start + k * half, half * 0.98, root, 0.6 if k == 0 else 0.5))
    return notes


def chord_stabs(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                energy: float, rng: np.random.Generator) -> list[Note]:
    """A calm house track's chords: struck once at each change, with the kick, and left to ring."""
    vel = 0.45 + 0.35 * energy
    notes: list[Note] = []
    for span in spans:
        notes += _chord_notes(voice_chord(span.chord, register, voices=3), span.start, min(span.length, 1.5), vel)
    return notes


def swung_chords(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                 energy: float, rng: np.random.Generator) -> list[Note]:
    """Blues comping laid back: a chord on each beat and on the swung "and" of two and four."""
    vel = 0.36 + 0.3 * energy
    notes: list[Note] = []
    for span in spans:
        pitches = voice_chord(span.chord, register, voices=3)
        for beat in range(int(round(span.length))):
            b = span.start + beat
            notes += _chord_notes(pitches, b, 0.45, vel * (1.1 if int(b) % 2 else 0.95))
            if int(b) % 2:
                notes += _chord_notes(pitches, b + 0.5, 0.3, vel * 0.75)
    return notes


ENERGY_PATTERNS: Mapping[str, PatternFn] = MappingProxyType({
    "arpeggio_quarters": arpeggio_quarters, "arpeggio_sixteenths": arpeggio_sixteenths, "shimmer": shimmer,
    "pulsed_drone": pulsed_drone, "swung_chords": swung_chords, "chord_stabs": chord_stabs,
})
# style -> band -> {pattern the style has: pattern at that energy}; bands "low" (< LOW) and "high" (> HIGH).
ENERGY_PARTS: Mapping[str, Mapping[str, Mapping[str, str]]] = MappingProxyType({
    "classical": {"low": {"arpeggio": "arpeggio_quarters"}, "high": {"arpeggio": "arpeggio_sixteenths"}},
    "ambient": {"high": {"sustained_high": "shimmer", "drone": "pulsed_drone"}},
    "blues": {"low": {"comp_triplet": "swung_chords"}},
    "electronic": {"low": {"stabs": "chord_stabs"}},
})

# style -> band -> {role: the instruments the seed chooses from} where a figure needs its own attack.
ENERGY_INSTRUMENTS: Mapping[str, Mapping[str, Mapping[str, tuple[str, ...]]]] = MappingProxyType({
    "ambient": {"high": {"harmony": ("electric_piano",)}},   # the shimmer struck, not bowed
})
# style -> band -> the grooves its drums choose from at that asked energy.
ENERGY_GROOVES: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "rock": {"high": ("rock_drive", "rock_drive_ride")},
    "blues": {"low": ("shuffle_quarters",), "high": ("shuffle_drive",)},
    "electronic": {"low": ("house_sparse",), "high": ("house_drive",)},
})


def energy_band(energy: float) -> str:
    """``"low"``, ``"mid"`` or ``"high"``: which figures an asked energy calls for."""
    return "low" if energy < LOW else "high" if energy > HIGH else "mid"
