"""A seamless loop from a loop Score: rendered as it sounds when it repeats, then closed with a crossfade.

The loop's notes are laid end to end several times and the whole is rendered and mixed like
any piece; the copy kept is one that follows whole earlier copies, so it starts with the
tails (notes, reverb, delay echoes, compressors' state) the loop's own ending leaves. Its
last sample is followed, in the render, by the first of the next copy; the first
``CROSSFADE_S`` of the kept copy are crossfaded from that true continuation into the copy
itself, so playing the file again from its start continues its end sample by sample. What
differs between copies (the chorus's and the rotary's phase, the drums' round-robin hits)
is blended over the crossfade instead of jumping at the seam.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .mix import render_mix
from .score import Score, Track
from .styles import StyleSpec

WRAP_S = 6.0           # tails at least this long are carried over from the copies before
CROSSFADE_S = 0.1      # the seam's crossfade (a tenth of a second; a quarter of a short loop at most)
AFTER_S = 0.5          # rendered beyond the crossfade, so the mastering's fade-out is far away


def loop_beats(score: Score) -> float:
    """The loop's length in beats: the bars its notes occupy (whole bars)."""
    bars = max(1, math.ceil(round(score.end_beat() / score.beats_per_bar, 6)))
    return float(bars * score.beats_per_bar)


def tile_score(score: Score, copies: int, beats: float) -> Score:
    """``score`` with its notes repeated ``copies`` times, each copy ``beats`` after the last."""
    tracks = [Track(name=t.name, instrument=t.instrument, role=t.role, pan=t.pan, gain_db=t.gain_db,
                    notes=[replace(n, start=n.start + k * beats) for k in range(copies) for n in t.notes])
              for t in score.tracks]
    sections = [(label, start + k * beats) for k in range(copies) for label, start in score.sections]
    return replace(score, tracks=tracks, sections=sections, duration_s=float(score.tempo.seconds(copies * beats)))


def render_loop(score: Score, style: StyleSpec, *, sr: int, beats: float | None = None) -> np.ndarray:
    """(n, 2) float32: the mastered loop of ``score``, ``n`` its whole bars in samples.

    Parameters
    ----------
    score : Score
        A loop's Score (constant tempo, notes within its bars).
    style : StyleSpec
        Its style (the mix).
    sr : int
        Sample rate.
    beats : float, optional
        The loop's length in beats (its plan's bars); from the notes otherwise.
    """
    beats = loop_beats(score) if beats is None else float(beats)
    period = float(score.tempo.seconds(beats)) * sr           # samples per copy (not an integer in general)
    n = int(round(period))
    before = max(1, math.ceil(WRAP_S * sr / max(n, 1)))
    xfade = max(1, min(int(CROSSFADE_S * sr), n // 4))
    total = int(round(before * period)) + n + xfade + int(AFTER_S * sr)
    copies = math.ceil(total / period) + 1
    audio = render_mix(tile_score(score, copies, beats), style, sr=sr, n_samples=total)
    start = int(round(before * period))
    kept = audio[start:start + n].copy()
    following = audio[start + n:start + n + xfade]
    w = (0.5 + 0.5 * np.cos(np.pi * np.arange(xfade) / xfade)).astype(np.float32)[:, None]  # 1 -> 0
    kept[:xfade] = w * following + (np.float32(1.0) - w) * kept[:xfade]
    return kept
