"""Stem colour, streamed: amplifier and cabinet, or a rotary speaker, applied chunk by chunk.

Amplifier, cabinet and rotary act on the sum of a track's notes, not on single notes (a
power chord's intermodulation is part of its sound). The :class:`Colour` stage keeps the
amplifier's and cabinet's filter states (:mod:`aimusic.synth.guitar`) and reads the rotary's few samples
of look-ahead from its caller's buffer, so the streamed result does not depend on where the
chunk boundaries fall.
"""
from __future__ import annotations

import numpy as np

from .guitar import Amp, drive_gain
from .instruments import Timbre

ROTARY_RATE_HZ = 6.2


def rotary_reach(timbre: Timbre, *, sr: int) -> int:
    """Samples of look-ahead (and look-behind) the rotary's Doppler wobble reads; 0 without one."""
    if not timbre.rotary:
        return 0
    return int(np.ceil(_swing(timbre.rotary, sr))) + 2


def _swing(depth: float, sr: int) -> float:
    ratio = 2.0 ** (7.0 * depth / 1200.0) - 1.0
    return ratio / (2.0 * np.pi * ROTARY_RATE_HZ) * sr


def rotary(buf: np.ndarray, base: int, c0: int, c1: int, *, n: int, sr: int, depth: float) -> np.ndarray:
    """Rotary speaker output for samples ``c0:c1``: the horn's Doppler wobble plus its tremolo.

    ``buf`` holds the coloured stem from sample ``base`` on, at least ``rotary_reach``
    samples either side of ``c0:c1`` (the stem's edges, 0 and ``n``, are silent).
    """
    swing = np.float32(_swing(depth, sr))
    w = np.float32(2.0 * np.pi * ROTARY_RATE_HZ / sr)
    pos = np.arange(c0, c1)
    phase = (pos % int(round(sr / ROTARY_RATE_HZ * 1000))).astype(np.float32) * w   # bounded: float32 exact
    offset = swing * np.sin(phase)
    whole = np.floor(offset)
    frac = offset - whole
    idx = np.clip(pos + whole.astype(np.int64), 0, max(n - 2, 0)) - base
    warped = buf[idx] * (1.0 - frac) + buf[idx + 1] * frac
    return warped * (1.0 - np.float32(0.18 * depth) * (1.0 + np.sin(phase)))


class Colour:
    """Amplifier and cabinet of one stem, in place on consecutive segments (state kept).

    ``ref`` is the stem's expected peak: the amplifier's pre-gain puts it at
    :func:`~aimusic.synth.guitar.drive_gain` of the timbre's drive. ``quiet`` lists the
    (start, end) samples where the stem is known to be silent (see :class:`~aimusic.synth.guitar.Amp`).
    """

    def __init__(self, timbre: Timbre, *, sr: int, ref: float, quiet: np.ndarray | None = None) -> None:
        self.timbre = timbre
        driven = bool(timbre.amp) and ref > 0.0
        self.amp = None
        if driven or timbre.cabinet:
            pre = drive_gain(timbre.drive) / ref if driven else 1.0
            self.amp = Amp(timbre.amp if driven else "", timbre.cabinet, sr=sr, pre=pre, post=ref, quiet=quiet)

    @property
    def active(self) -> bool:
        """Whether this stage changes anything."""
        return self.amp is not None

    def __call__(self, seg: np.ndarray, start: int = 0) -> None:
        """Colour in place the next segment of the stem, which begins at sample ``start``."""
        if seg.size and self.amp is not None:
            self.amp(seg, start)


def colour_whole(y: np.ndarray, timbre: Timbre, *, sr: int, ref: float) -> np.ndarray:
    """A whole stem (or note) coloured at once: amplifier and cabinet in place, then rotary."""
    Colour(timbre, sr=sr, ref=ref)(y)
    if timbre.rotary and y.shape[0] >= 2:
        y = rotary(y, 0, 0, y.shape[0], n=y.shape[0], sr=sr, depth=timbre.rotary)
    return y
