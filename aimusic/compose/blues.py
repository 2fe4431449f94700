"""Blues phrasing rules over the model's melody: AAB lines, call and response, blue notes.

The melody model writes the notes; these rules only shape them the way a blues player
would: a 12-bar chorus is three four-bar lines, the first stated, repeated over the IV
chord, then answered (AAB); each line calls for about two and a half bars and leaves the
rest to the band's response; and the line bends toward the blues scale: the major seventh
falls to the flat seventh, the third is often reached by a slide up from the flat third
(and over the IV chord becomes it), and a held fifth may be slid into from the flat fifth.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..score import Note
from ..theory import Key
from .melody_context import ChordSpan

LINE_BARS = 4          # a blues line
CALL_BARS = 2.5        # how much of a line the lead plays before the band answers
GRACE_BEATS = 0.15     # length of the slide note into a blue target


def call_of(notes: list[Note], start: float, beats_per_bar: int) -> list[Note]:
    """The notes of a line that fall in its call (the first :data:`CALL_BARS` bars), cut to fit."""
    end = start + CALL_BARS * beats_per_bar
    kept = [n for n in notes if start <= n.start < end - 0.25]
    return [replace(n, length=min(n.length, end - n.start)) for n in kept]


def _chord_at(chords: tuple[ChordSpan, ...], beat: float) -> ChordSpan | None:
    return next((c for c in chords if c.start <= beat < c.end), None)


def blue_notes(notes: list[Note], key: Key, chords: tuple[ChordSpan, ...], *, amount: float,
               register: tuple[int, int], rng: np.random.Generator) -> list[Note]:
    """The line bent toward the blues scale of ``key`` (``amount`` 0..1: how often a rule acts).

    Notes stay within ``register`` (a lowered note at its floor goes up an octave instead).

    * a major seventh above the tonic always falls to the flat seventh;
    * a third over the IV chord becomes the flat third (the IV chord's own seventh);
    * any other held third is slid into from the flat third, a held fifth from the flat fifth
      (a short note a semitone below, the slide of a finger or the start of a bend);
    * the flat second and flat sixth, foreign to the blues, move to the root and the fifth.
    """
    out: list[Note] = []
    for n in notes:
        rel = (n.pitch - key.tonic) % 12
        pitch = n.pitch
        if rel in (11, 1, 8):
            pitch = pitch - 1 if pitch - 1 >= register[0] else pitch + 11
        chord = _chord_at(chords, n.start)
        over_iv = chord is not None and (chord.chord.root - key.tonic) % 12 == 5
        rel = (pitch - key.tonic) % 12
        low = pitch - 1 >= register[0]
        if rel == 4 and over_iv and low and rng.random() < amount:
            out.append(replace(n, pitch=pitch - 1))
            continue
        slide = (rel == 4 and rng.random() < amount) or (rel == 7 and rng.random() < 0.4 * amount)
        if slide and low and n.length >= 2 * GRACE_BEATS + 0.2:
            out.append(replace(n, length=GRACE_BEATS, pitch=pitch - 1, velocity=n.velocity * 0.9))
            out.append(replace(n, start=n.start + GRACE_BEATS, length=n.length - GRACE_BEATS, pitch=pitch))
            continue
        out.append(replace(n, pitch=pitch))
    return out
