"""The baseline melodist: an order-2 Markov chain over scale degrees.

Transition weights depend on the last two degrees (steps preferred, a leap answered by a
step back), chord tones are favoured on strong beats, and rhythm comes from a short motif
that repeats with variation. It stays as the reference the trained model is measured against.
"""
from __future__ import annotations

import numpy as np

from ..score import Note
from ..theory import SCALES, pitches_in_range
from .melody_context import MelodyContext

# Weight of a move by |n| scale steps (index), before context adjustments.
_STEP_WEIGHT = np.array([0.35, 1.0, 0.5, 0.2, 0.12, 0.06, 0.05, 0.04])


def _rhythm_bar(ctx: MelodyContext, rng: np.random.Generator) -> list[tuple[float, float]]:
    """(onset, length) pairs within one bar on the context's grid, onset 0 always present."""
    slots = int(round(ctx.beats_per_bar / ctx.step))
    onsets = [0]
    for k in range(1, slots):
        strong = (k * ctx.step) % 1.0 == 0
        p = ctx.density * (1.15 if strong else 0.85)
        if rng.random() < p:
            onsets.append(k)
    out: list[tuple[float, float]] = []
    for i, k in enumerate(onsets):
        end = onsets[i + 1] if i + 1 < len(onsets) else slots
        out.append((k * ctx.step, (end - k) * ctx.step))
    if ctx.long_note_prob and len(out) > 2 and rng.random() < ctx.long_note_prob:
        # Merge two neighbours into one longer note: melodies breathe.
        j = int(rng.integers(len(out) - 1))
        a, b = out[j], out[j + 1]
        out[j: j + 2] = [(a[0], a[1] + b[1])]
    return out


class MarkovMelodist:
    """Order-2 Markov melody over scale degrees, chord-aware on strong beats."""

    name = "markov-order2"
    parameters = 0

    def melody(self, context: MelodyContext, *, rng: np.random.Generator, temperature: float = 1.0) -> list[Note]:
        """Write one section's melody (see :class:`aimusic.compose.melody_context.Melodist`)."""
        if context.primer:     # the user's notes, then the chain from the next beat on
            rest = context.after_primer()
            return list(context.primer) + (self.melody(rest, rng=rng, temperature=temperature) if rest else [])
        ctx = context
        low, high = ctx.register
        scale_pcs = [(ctx.key.tonic + s) % 12 for s in SCALES[ctx.key.mode]]
        pitches = np.array(pitches_in_range(scale_pcs, low, high))
        centre = (low + high) / 2.0
        bar_len = ctx.beats_per_bar
        n_bars = max(1, int(round(ctx.length / bar_len)))
        motif = [_rhythm_bar(ctx, rng) for _ in range(2)]
        events: list[tuple[float, float]] = []
        for b in range(n_bars):
            rhythm = motif[b % 2] if rng.random() > 0.3 else _rhythm_bar(ctx, rng)
            phrase_end = (b % 4 == 3) or b == n_bars - 1
            if phrase_end:  # a cadence: one or two notes, then breath
                rhythm = [(0.0, 2.0), (2.0, 1.0)] if rng.random() < 0.5 else [(0.0, 3.0)]
            for onset, length in rhythm:
                start = ctx.start + b * bar_len + onset
                if start < ctx.start + ctx.length:
                    events.append((start, min(length, ctx.start + ctx.length - start)))

        notes: list[Note] = []
        prev = [int(np.argmin(np.abs(pitches - centre)))] * 2
        power = 1.0 / max(temperature, 0.05)
        for i, (start, length) in enumerate(events):
            strong = (start - ctx.start) % 1.0 == 0 and ((start - ctx.start) % bar_len) % 2 == 0
            is_last = i == len(events) - 1
            if not strong and not is_last and rng.random() < ctx.rest_prob:
                continue
            chord_pcs = set(ctx.chord_at(start).pitch_classes)
            idx = np.arange(len(pitches))
            move = idx - prev[-1]
            w = _STEP_WEIGHT[np.minimum(np.abs(move), len(_STEP_WEIGHT) - 1)].copy()
            last_move = prev[-1] - prev[-2]
            if abs(last_move) >= 3:  # after a leap, step back the other way
                w *= np.where(np.sign(move) == -np.sign(last_move), 2.5, 0.4)
            elif last_move != 0:
                w *= np.where(np.sign(move) == np.sign(last_move), 1.2, 1.0)
            w *= np.exp(-((pitches - centre) / 9.0) ** 2)
            in_chord = np.array([p % 12 in chord_pcs for p in pitches])
            if strong or length >= 1.5:
                w *= np.where(in_chord, 3.0, 0.35)
            if is_last and ctx.final:
                w *= np.where(pitches % 12 == ctx.key.tonic, 50.0, 0.01)
            w = w ** power
            choice = int(rng.choice(len(pitches), p=w / w.sum()))
            prev = [prev[-1], choice]
            vel = 0.78 if strong else 0.68
            notes.append(Note(start, length * 0.95, int(pitches[choice]), vel))
        return notes
