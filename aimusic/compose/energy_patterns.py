"""Accompaniment patterns an asked energy swaps in, for the styles whose own patterns hardly change with it.

Rock and electronic already thin out and fill up with their sections' levels (drums keep
time only, power chords ring or chug). A classical keyboard, a jazz trio, an ambient bed and
a blues band need another figure to sound calmer or busier: broken chords in
quarters or in sixteenths instead of eighths, an ambient bed whose high layer is struck on a
celesta instead of bowed (once a bar when calm, on every beat in the middle, a shimmer of
sixteenths at the top) with its drone re-struck each half bar from the middle level up, the
blues comping's triplets relaxed into swung eighths when calm and dug into when busy, a house
track's off-beat stabs struck once per chord instead, a jazz ballad's voicings laid down once
per chord and held; and at a high level the drums of rock, jazz, electronic and blues drive
harder (the jazz ride on every swung eighth, the snare comping), while a calm electronic track
keeps only its kick and two open hats a bar, a calm blues only the ride on the beat, and a calm
jazz the ride on the quarters (:data:`ENERGY_GROOVES`); a busy electronic track swells in over
its first second (:data:`ENERGY_FADE_IN_S`).
:data:`ENERGY_PARTS` says which pattern replaces which, per style and energy band; a pattern
a meter chose (a waltz, a 6/8 figure) is never replaced.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

import numpy as np

from ..score import Note
from .bass import _root
from .harmony import PatternFn, _chord_notes, broken_chords, comp_triplet, voice_chord
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


def _rocking(spans: tuple[ChordSpan, ...], register: tuple[int, int], step: float, length: float,
             vel: float) -> list[Note]:
    """The chord's three upper notes struck in turn (bottom, top, middle, top) every ``step`` beats."""
    notes: list[Note] = []
    for span in spans:
        top = voice_chord(span.chord, register)[-3:]
        for k in range(max(1, int(round(span.length / step)))):
            notes.append(Note(span.start + step * k, length, top[(0, 2, 1, 2)[k % 4] % len(top)],
                              vel * (1.0 if k % 2 == 0 else 0.8)))
    return notes


def shimmer(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
            energy: float, rng: np.random.Generator) -> list[Note]:
    """The chord's upper notes rocking in sixteenths, struck and ringing: an ambient bed in motion."""
    return _rocking(spans, register, 0.25, 0.45, 0.6 + 0.4 * energy)


def struck_bars(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                energy: float, rng: np.random.Generator) -> list[Note]:
    """One of the chord's upper notes struck at each bar and left to ring: a calm bed's only pulse."""
    return _rocking(spans, register, float(beats_per_bar), 0.75 * beats_per_bar, 0.6 + 0.3 * energy)


def pulse_beats(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                energy: float, rng: np.random.Generator) -> list[Note]:
    """The chord's upper notes struck on every beat: the bed moves, still without a drum."""
    return _rocking(spans, register, 1.0, 0.9, 0.75 + 0.25 * energy)


def pulsed_drone(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                 energy: float, rng: np.random.Generator) -> list[Note]:
    """The drone's root struck again every half bar: the floor pulses without a beat."""
    notes: list[Note] = []
    for span in spans:
        root, half = _root(span.chord, register), max(beats_per_bar / 2, 1.0)
        for k in range(max(1, int(round(span.length / half)))):
            notes.append(Note(span.start + k * half, half * 0.98, root, 0.6 if k == 0 else 0.5))
    return notes


def comp_held(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
              energy: float, rng: np.random.Generator) -> list[Note]:
    """A ballad's comping: one rootless voicing laid down at each chord change and held."""
    notes: list[Note] = []
    for span in spans:
        vel = (0.4 + 0.25 * energy) * float(rng.uniform(0.9, 1.05))
        notes += _chord_notes(voice_chord(span.chord, register, rootless=True), span.start, span.length * 0.95,
                              min(vel, 1.0))
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


def comp_triplet_drive(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                       energy: float, rng: np.random.Generator) -> list[Note]:
    """Blues comping driven: every triplet eighth dug in almost as hard as the beat (0.9 against 0.55/0.75)."""
    return comp_triplet(spans, register=register, beats_per_bar=beats_per_bar, energy=energy, rng=rng,
                        accents=(1.0, 0.9, 0.9))


ENERGY_PATTERNS: Mapping[str, PatternFn] = MappingProxyType({
    "arpeggio_quarters": arpeggio_quarters, "arpeggio_sixteenths": arpeggio_sixteenths, "shimmer": shimmer,
    "struck_bars": struck_bars, "pulse_beats": pulse_beats, "pulsed_drone": pulsed_drone,
    "comp_held": comp_held, "swung_chords": swung_chords, "comp_triplet_drive": comp_triplet_drive,
    "chord_stabs": chord_stabs,
})
# style -> band -> {pattern the style has: pattern at that energy}; bands "low" (< LOW), "mid", "high" (> HIGH).
ENERGY_PARTS: Mapping[str, Mapping[str, Mapping[str, str]]] = MappingProxyType({
    "classical": {"low": {"arpeggio": "arpeggio_quarters"}, "high": {"arpeggio": "arpeggio_sixteenths"}},
    "ambient": {"low": {"sustained_high": "struck_bars"},
                "mid": {"sustained_high": "pulse_beats", "drone": "pulsed_drone"},
                "high": {"sustained_high": "shimmer", "drone": "pulsed_drone"}},
    "blues": {"low": {"comp_triplet": "swung_chords"}, "high": {"comp_triplet": "comp_triplet_drive"}},
    "jazz": {"low": {"comp_swing": "comp_held"}},
    "electronic": {"low": {"stabs": "chord_stabs"}},
})

# style -> band -> {role: the instruments the seed chooses from} where a figure needs its own attack.
ENERGY_INSTRUMENTS: Mapping[str, Mapping[str, Mapping[str, tuple[str, ...]]]] = MappingProxyType({
    # the bed's figures struck on a celesta, not bowed: a mallet's attack stands out of the wash
    "ambient": {band: {"harmony": ("celesta",)} for band in ("low", "mid", "high")},
})
# style -> band -> {role: level in dB} of a figure that needs its own (a struck figure in place of a
# bowed layer felt more than heard).
ENERGY_GAINS: Mapping[str, Mapping[str, Mapping[str, float]]] = MappingProxyType({
    "ambient": {band: {"harmony": -8.0} for band in ("low", "mid", "high")},
})
# style -> band -> seconds the mix swells in over (MixSpec.fade_in_s): a driving electronic track
# rises in over its first second, as a DJ brings a track in on the fader, instead of its first stab
# slamming in from silence far louder than any after it.
ENERGY_FADE_IN_S: Mapping[str, Mapping[str, float]] = MappingProxyType({"electronic": {"high": 1.0}})
# style -> band -> the grooves its drums choose from at that asked energy.
ENERGY_GROOVES: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "rock": {"high": ("rock_drive", "rock_drive_ride")},
    "jazz": {"low": ("jazz_ride_quarters",), "high": ("jazz_drive",)},
    "blues": {"low": ("shuffle_quarters",), "high": ("shuffle_drive",)},
    "electronic": {"low": ("house_sparse",), "high": ("house_drive",)},
})


def energy_band(energy: float) -> str:
    """``"low"``, ``"mid"`` or ``"high"``: which figures an asked energy calls for."""
    return "low" if energy < LOW else "high" if energy > HIGH else "mid"
