"""What a melody writer is given and must return: the contract between composer and melodist.

Both the Markov baseline and the trained model implement :class:`Melodist`, so the composer
can ask either for a section's melody and the two can be compared on equal terms.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from ..score import Note
from ..theory import Chord, Key


@dataclass(frozen=True, slots=True)
class ChordSpan:
    """A chord sounding from ``start`` for ``length`` beats (absolute positions in the piece)."""

    start: float
    length: float
    chord: Chord

    @property
    def end(self) -> float:
        return self.start + self.length


@dataclass(frozen=True, slots=True)
class MelodyContext:
    """One section's worth of melody to write.

    ``chords`` cover ``[start, start + length)``; notes returned must start inside that
    span, use pitches inside ``register`` and be ordered by onset without overlaps.
    """

    key: Key
    beats_per_bar: int
    beat_unit: int
    start: float
    length: float
    chords: tuple[ChordSpan, ...]
    register: tuple[int, int]
    style_tag: str            # conditioning tag for the model: "folk", "classical", "pop", …
    step: float               # rhythmic grid hint in beats (rules for the baseline)
    density: float            # 0..1 share of grid positions that start a note (baseline)
    rest_prob: float
    long_note_prob: float
    final: bool = False       # the last section: the line should come to rest on the tonic
    meter: str = ""           # the time signature when not beats_per_bar/beat_unit ("6/8": 3 beats)
    energy: float | None = None  # 0..1 when asked: how busy the line is (None: as the style writes it)
    primer: tuple[Note, ...] = ()  # a user's notes that open the span, kept exactly; the line continues them
    length_lean: float = 0.0  # lean to longer notes, logits per octave of length (a very slow compound meter)

    @property
    def primer_end(self) -> float:
        """The beat where the primer's last note ends (``start`` when there is none)."""
        return max((n.end for n in self.primer), default=self.start)

    @property
    def time_signature(self) -> str:
        """The time signature the line is written in, as the model was trained on it."""
        return self.meter or f"{self.beats_per_bar}/{self.beat_unit}"

    def after_primer(self) -> "MelodyContext | None":
        """The span left once the primer has played, from the next whole beat (None: nothing left)."""
        start = float(math.ceil(self.primer_end - 1e-9))
        end = self.start + self.length
        if end - start < 1.0:
            return None
        return replace(self, start=start, length=end - start, primer=(),
                       chords=tuple(c for c in self.chords if c.end > start))

    def chord_at(self, beat: float) -> Chord:
        """The chord sounding at absolute ``beat`` (the last one if past the end)."""
        for span in self.chords:
            if span.start <= beat < span.end:
                return span.chord
        return self.chords[-1].chord


class Melodist(Protocol):
    """Anything that can write a section's melody.

    A context with a ``primer`` gets back the primer's notes unchanged, followed by the
    melodist's continuation from where the primer ends.
    """

    name: str

    def melody(self, context: MelodyContext, *, rng: np.random.Generator, temperature: float) -> list[Note]:
        """Notes for ``context``; all randomness drawn from ``rng`` (and generators seeded from it)."""
        ...
