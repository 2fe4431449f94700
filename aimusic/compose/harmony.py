"""Harmony parts: chord voicings and the accompaniment patterns styles name in PartSpec.

Each pattern is a function over one section's chord spans returning straight-grid notes;
feel (swing, accents, jitter) is applied later by the arranger.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..score import Note
from ..theory import Chord
from .melody_context import ChordSpan

PatternFn = Callable[..., list[Note]]


def voice_chord(chord: Chord, register: tuple[int, int], *, rootless: bool = False,
                power: bool = False, voices: int = 4) -> list[int]:
    """Close-position voicing of ``chord`` whose centre sits nearest the register's centre.

    ``rootless`` leaves the root to the bass and keeps 3rd, 7th and colour tones, as jazz
    pianists do; ``power`` gives root, fifth and octave for distorted guitars.
    """
    low, high = register
    if power:
        base = low + ((chord.root - low) % 12)
        if base + 12 > high:
            base -= 12
        return [base, base + 7, base + 12]
    intervals = list(chord.intervals)
    if rootless and len(intervals) >= 4:
        intervals = [i for i in intervals if i % 12 != 0]
    pcs: list[int] = []
    for i in intervals:
        pc = (chord.root + i) % 12
        if pc not in pcs:
            pcs.append(pc)
    pcs = pcs[:voices]
    centre = (low + high) / 2.0
    best: list[int] = []
    best_cost = float("inf")
    for rotation in range(len(pcs)):
        order = pcs[rotation:] + pcs[:rotation]
        for start_oct in range(low // 12, high // 12 + 1):
            pitches = [12 * start_oct + order[0]]
            for pc in order[1:]:
                p = pitches[-1] + ((pc - pitches[-1]) % 12 or 12)
                pitches.append(p)
            if pitches[0] < low or pitches[-1] > high:
                continue
            cost = abs(float(np.mean(pitches)) - centre)
            if cost < best_cost:
                best, best_cost = pitches, cost
    if not best:  # register narrower than the chord: fold into range
        best = sorted({low + ((pc - low) % 12) for pc in pcs})
    return best


def _chord_notes(pitches: list[int], start: float, length: float, velocity: float) -> list[Note]:
    return [Note(start, length, p, velocity) for p in pitches]


def sustained(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
              energy: float, rng: np.random.Generator) -> list[Note]:
    """Held chords, one per span: pads and string beds."""
    vel = 0.45 + 0.3 * energy
    notes: list[Note] = []
    for span in spans:
        notes += _chord_notes(voice_chord(span.chord, register), span.start, span.length * 0.98, vel)
    return notes


def sustained_high(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                   energy: float, rng: np.random.Generator) -> list[Note]:
    """The upper two notes of each chord, held: a high shimmer above the pad."""
    vel = 0.35 + 0.25 * energy
    notes: list[Note] = []
    for span in spans:
        top = voice_chord(span.chord, register)[-2:]
        notes += _chord_notes(top, span.start, span.length * 0.98, vel)
    return notes


def broken_chords(spans: tuple[ChordSpan, ...], *, step: float, length: float, register: tuple[int, int],
                  energy: float, rng: np.random.Generator, lean: float = 1.1) -> list[Note]:
    """Broken chords on a grid of ``step`` beats, each note ``length`` long, in a figure the seed picks.

    The figures are the keyboard's: low-high-middle-high (Alberti), low-middle-high-middle and
    a rising arpeggio with the octave. The first note of each four leans, the others on a beat
    come next and those between the beats are the lightest, as a pianist's hand weighs them:
    with every note but the first struck alike, a beat tracker took a classical loop's running
    eighths for its beat (3 seeds in 12 at 96, 1 with the beats weighed). ``lean`` is the first
    note's weight (the others on a beat are 1.0).
    """
    figures = ((0, 2, 1, 2), (0, 1, 2, 1), (0, 1, 2, 3))
    figure = figures[int(rng.integers(len(figures)))]
    vel = 0.4 + 0.3 * energy
    notes: list[Note] = []
    for span in spans:
        pitches = voice_chord(span.chord, register, voices=3)
        pitches = pitches + [pitches[0] + 12]
        for k in range(int(round(span.length / step))):
            p = pitches[figure[k % 4] % len(pitches)]
            on_beat = abs(step * k - round(step * k)) < 1e-9
            v = vel * (lean if k % 4 == 0 else 1.0 if on_beat else 0.8)
            notes.append(Note(span.start + step * k, length, p, min(v, 1.0)))
    return notes


def arpeggio(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
             energy: float, rng: np.random.Generator) -> list[Note]:
    """Broken chords in eighths (Alberti-like low-high-mid-high), the classical keyboard idiom."""
    return broken_chords(spans, step=0.5, length=0.55, register=register, energy=energy, rng=rng)


def arpeggio_fast(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                  energy: float, rng: np.random.Generator) -> list[Note]:
    """:func:`arpeggio` with every beat struck alike: at 120 and faster (:mod:`aimusic.tempo_feel`)
    the figure's lean every other beat is heard as the beat (3 seeds in 8 at 140, 1 without it)."""
    return broken_chords(spans, step=0.5, length=0.55, register=register, energy=energy, rng=rng, lean=1.0)


# Comping rhythms for one bar of 4/4 as (onset, length): Charleston, anticipation, 2-and-4.
_SWING_COMPS = (((0.0, 1.2), (1.5, 0.5)), ((1.5, 0.4), (3.5, 0.4)), ((0.0, 0.8), (2.5, 1.0)),
                ((1.0, 0.5), (2.5, 0.4), (3.0, 0.8)))
# Up-tempo comping: short hits, most of them on the beats (four to the bar, or a push before three or one).
_FAST_SWING_COMPS = (((0.0, 0.4), (1.0, 0.4), (2.0, 0.4), (3.0, 0.4)), ((0.0, 0.6), (1.5, 0.4), (3.0, 0.4)),
                     ((1.0, 0.5), (2.0, 0.5), (3.5, 0.4)))


def comp_rootless(spans: tuple[ChordSpan, ...], rhythms: tuple[tuple[tuple[float, float], ...], ...], *,
                  register: tuple[int, int], beats_per_bar: int, energy: float,
                  rng: np.random.Generator) -> list[Note]:
    """Rootless voicings on the hits of one of ``rhythms`` per bar, ``(onset, length)`` in beats.

    Jazz comping in any meter: the rhythm tables say where the hits fall (4/4, a 3/4 waltz).
    """
    notes: list[Note] = []
    bars: dict[int, list[ChordSpan]] = {}
    for span in spans:
        bars.setdefault(int(span.start // beats_per_bar), []).append(span)
    for bar, bar_spans in bars.items():
        rhythm = rhythms[int(rng.integers(len(rhythms)))]
        origin = bar * beats_per_bar
        for onset, length in rhythm:
            t = origin + onset
            span = next((s for s in bar_spans if s.start <= t < s.end), bar_spans[-1])
            vel = (0.45 + 0.25 * energy) * float(rng.uniform(0.85, 1.1))
            notes += _chord_notes(voice_chord(span.chord, register, rootless=True), t, length, min(vel, 1.0))
    return notes


def comp_swing(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
               energy: float, rng: np.random.Generator) -> list[Note]:
    """Jazz comping: rootless voicings on syncopated hits, a different rhythm each bar."""
    return comp_rootless(spans, _SWING_COMPS, register=register, beats_per_bar=beats_per_bar, energy=energy,
                         rng=rng)


def comp_swing_fast(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                    energy: float, rng: np.random.Generator) -> list[Note]:
    """Up-tempo jazz comping: short rootless hits, mostly on the beats.

    At 160 and faster the sparse, syncopated hits of :func:`comp_swing` fall every other beat
    or between them, and a listener (or a beat tracker) counts the piece at half its tempo;
    compers at such tempi keep to the beat (:mod:`aimusic.tempo_feel`).
    """
    return comp_rootless(spans, _FAST_SWING_COMPS, register=register, beats_per_bar=beats_per_bar, energy=energy,
                         rng=rng)


def comp_shuffle(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                 energy: float, rng: np.random.Generator) -> list[Note]:
    """Blues piano: chords on the swung eighths with the backbeat leaning hard."""
    notes: list[Note] = []
    vel = 0.4 + 0.3 * energy
    for span in spans:
        pitches = voice_chord(span.chord, register, voices=4)
        for k in range(int(round(span.length * 2))):
            t = span.start + 0.5 * k
            on_backbeat = int(t) % 2 == 1 and k % 2 == 0
            v = vel * (1.15 if on_backbeat else (0.75 if k % 2 else 0.9))
            notes += _chord_notes(pitches, t, 0.35, min(v, 1.0))
    return notes


def power_chords(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                 energy: float, rng: np.random.Generator) -> list[Note]:
    """Rock rhythm guitar: root-fifth-octave power chords, palm-muted eighths between accents.

    Each chord change is struck open and left to ring for a beat, then the part chugs on
    short eighths, which a rhythm-guitar timbre plays palm-muted (its ``mute_below``); the
    last eighth before a change rings again. At low energy whole chords ring instead.
    """
    notes: list[Note] = []
    for span in spans:
        pitches = voice_chord(span.chord, register, power=True)
        if energy < 0.6:
            notes += _chord_notes(pitches, span.start, span.length * 0.95, 0.7)
            continue
        steps = int(round(span.length * 2))
        for k in range(steps):
            t = span.start + 0.5 * k
            if k == 0:
                notes += _chord_notes(pitches, t, min(1.0, span.length), 0.92)
            elif k == 1 and span.length > 1.0:
                continue                        # the open accent is still ringing
            else:
                notes += _chord_notes(pitches, t, 0.4, 0.8 if k % 2 == 0 else 0.68)
    return notes


def comp_triplet(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
                 energy: float, rng: np.random.Generator,
                 accents: tuple[float, float, float] = (1.0, 0.55, 0.75)) -> list[Note]:
    """Blues comping (a rhythm guitar's or a piano's): chords on every triplet eighth, the backbeat leaning.

    The second bar of every two answers the lead (which calls in the first): its last beat
    is a fill down the blues scale of the chord from its flat seventh, an octave up. The
    eleventh bar of a 12-bar chorus, when it is one chord, is the turnaround: a voice
    falling chromatically from the flat seventh to the fifth over the root. ``accents`` are the
    three triplet eighths' levels against the beat's.
    """
    notes: list[Note] = []
    vel = 0.36 + 0.3 * energy
    origin = spans[0].start if spans else 0.0
    for span in spans:
        pitches = voice_chord(span.chord, register, voices=3)
        base = register[1] - 10 - ((register[1] - 10 - span.chord.root) % 12)
        bar_in_chorus = int((span.start - origin) // beats_per_bar) % 12
        if bar_in_chorus == 10 and span.length >= beats_per_bar:
            for k in range(beats_per_bar):
                for j in (0, 2):
                    notes += _chord_notes([base, base + 10 - min(k, 3)], span.start + k + j / 3.0, 0.3,
                                          min(vel * (1.05 if j == 0 else 0.8), 1.0))
            continue
        for beat in range(int(round(span.length))):
            b = span.start + beat
            answer = int(b // beats_per_bar) % 2 == 1 and (b % beats_per_bar) == beats_per_bar - 1
            if answer:
                notes += [Note(b + j / 3.0, 0.3, base + step, min(vel * 1.1, 1.0))
                          for j, step in enumerate((10, 7, 6))]
                continue
            backbeat = (b % beats_per_bar) % 2 == 1
            for j, accent in enumerate(accents):
                v = vel * accent * (1.15 if backbeat and j == 0 else 1.0) * float(rng.uniform(0.92, 1.05))
                notes += _chord_notes(pitches, b + j / 3.0, 0.26, min(v, 1.0))
    return notes


def stabs(spans: tuple[ChordSpan, ...], *, register: tuple[int, int], beats_per_bar: int,
          energy: float, rng: np.random.Generator) -> list[Note]:
    """Off-beat chord stabs, the house-music answer to the four-on-the-floor kick."""
    notes: list[Note] = []
    vel = 0.45 + 0.35 * energy
    for span in spans:
        pitches = voice_chord(span.chord, register, voices=3)
        for k in range(int(round(span.length))):
            notes += _chord_notes(pitches, span.start + k + 0.5, 0.22, vel)
    return notes


HARMONY_PATTERNS: dict[str, PatternFn] = {
    "sustained": sustained, "sustained_high": sustained_high, "arpeggio": arpeggio, "arpeggio_fast": arpeggio_fast,
    "comp_swing": comp_swing, "comp_swing_fast": comp_swing_fast, "comp_shuffle": comp_shuffle,
    "comp_triplet": comp_triplet,
    "power_chords": power_chords,
    "stabs": stabs,
}
