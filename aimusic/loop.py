"""A seamless loop from a loop Score: rendered as it sounds when it repeats, then closed with a crossfade.

The loop's notes are laid end to end several times and the whole is rendered and mixed like
any piece; the copy kept is one that follows at least ``WRAP_S`` of earlier copies, so it
starts with the tails (notes, reverb, delay echoes, compressors' state) the loop's own ending
leaves. Its
last sample is followed, in the render, by the first of the next copy; the first
``CROSSFADE_S`` of the kept copy are crossfaded from that true continuation into the copy
itself, so playing the file again from its start continues its end sample by sample. What
differs between copies (the chorus's and the rotary's phase, the drums' round-robin hits)
is blended over the crossfade instead of jumping at the seam.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .mix import render_mix
from .score import Note, Score, Track
from .styles import StyleSpec

WRAP_S = 6.0           # tails at least this long are carried over from the copies before
CROSSFADE_S = 0.1      # the seam's crossfade (a tenth of a second; a quarter of a short loop at most)
AFTER_S = 0.5          # rendered beyond the crossfade, so the mastering's fade-out is far away


def loop_beats(score: Score) -> float:
    """The loop's length in beats: the bars its notes occupy (whole bars)."""
    bars = max(1, math.ceil(round(score.end_beat() / score.beats_per_bar, 6)))
    return float(bars * score.beats_per_bar)


def tile_score(score: Score, copies: int, beats: float, *, offset: float = 0.0) -> Score:
    """``score`` with its notes repeated ``copies`` times, each copy ``beats`` after the last.

    The whole is moved ``offset`` beats earlier: notes that then end before the start are left
    out, and a note still sounding at the start starts there (it only warms the render up).
    """
    def shifted(n: Note, k: int) -> Note | None:
        start, end = n.start + k * beats - offset, n.end + k * beats - offset
        if end <= 0.0:
            return None
        return replace(n, start=start, length=n.length) if start >= 0.0 else replace(n, start=0.0, length=end)

    tracks = []
    for t in score.tracks:
        notes = [m for k in range(copies) for n in t.notes if (m := shifted(n, k)) is not None]
        tracks.append(Track(name=t.name, instrument=t.instrument, role=t.role, pan=t.pan, gain_db=t.gain_db,
                            notes=notes))
    sections = [(label, start + k * beats - offset) for k in range(copies) for label, start in score.sections
                if start + k * beats - offset >= 0.0]
    return replace(score, tracks=tracks, sections=sections,
                   duration_s=float(score.tempo.seconds(copies * beats - offset)))


@dataclass(frozen=True)
class LoopCut:
    """Where the kept copy lies in the render of the repeated copies, and how it is closed."""

    copies: int        # copies of the notes laid end to end
    offset: float      # beats of the first copies left out of the render (a long loop needs only its tail)
    total: int         # samples rendered
    start: int         # first sample of the kept copy
    length: int        # samples kept: the loop's whole bars
    crossfade: int     # samples of the closing crossfade


def loop_cut(score: Score, beats: float, *, sr: int) -> LoopCut:
    """The geometry of :func:`render_loop` for a loop of ``beats`` beats of ``score`` (constant tempo).

    The kept copy follows whole copies that last at least ``WRAP_S``; of those, only the last
    ``WRAP_S`` are rendered (a five-minute loop is not rendered twice).
    """
    spb = score.tempo.seconds_per_beat
    period = beats * spb * sr                                  # samples per copy (not an integer in general)
    n = int(round(period))
    before = max(1, math.ceil(WRAP_S * sr / max(n, 1)))
    offset = max(0.0, before * beats - WRAP_S / spb)
    xfade = max(1, min(int(CROSSFADE_S * sr), n // 4))
    start = int(round((before * beats - offset) * spb * sr))
    total = start + n + xfade + int(AFTER_S * sr)
    return LoopCut(copies=math.ceil((offset * spb * sr + total) / period) + 1, offset=offset, total=total,
                   start=start, length=n, crossfade=xfade)


def close_loop(audio: np.ndarray, cut: LoopCut) -> np.ndarray:
    """The kept copy of ``audio`` (the render of the copies), its start crossfaded from what follows it.

    Linear in ``audio``: closing each part's stem and summing is closing the summed mix.
    """
    kept = np.array(audio[cut.start:cut.start + cut.length], dtype=np.float32)
    following = audio[cut.start + cut.length:cut.start + cut.length + cut.crossfade]
    w = (0.5 + 0.5 * np.cos(np.pi * np.arange(cut.crossfade) / cut.crossfade)).astype(np.float32)  # 1 -> 0
    w = w.reshape((-1,) + (1,) * (audio.ndim - 1))
    kept[:cut.crossfade] = w * following + (np.float32(1.0) - w) * kept[:cut.crossfade]
    return kept


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
    cut = loop_cut(score, beats, sr=sr)
    audio = render_mix(tile_score(score, cut.copies, beats, offset=cut.offset), style, sr=sr,
                       n_samples=cut.total)
    return close_loop(audio, cut)
