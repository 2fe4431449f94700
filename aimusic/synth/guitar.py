"""The electric guitar's signal chain: plucked-string partials, amplifier, speaker cabinet.

What makes a guitar heard as one, in the order the signal meets it:

* the string: harmonic partials whose amplitudes carry the comb of the pick position and of
  the pickup position (a partial with a node where the string is picked or sensed is
  missing), each decaying at its own rate (higher partials die sooner);
* the amplifier: its input voicing (a tightening high-pass and a mid hump), then gain into
  a saturating stage, a tube's asymmetric soft clip; clean, crunch and high gain differ in
  voicing, gain and asymmetry. The clipper is computed with first-order antiderivative anti-aliasing (ADAA), the classic way
  to distort at the base sample rate without the fold-back buzz of a plain waveshaper;
* the cabinet, after the amplifier: a speaker's band-limited, resonant response (a
  low resonance, a mid scoop, a presence peak and a steep roll-off above ~5 kHz). The
  cabinet is what turns clipped buzz into guitar tone.

Everything here is a pure function of arrays and ``sr``, or a small class whose state is
nothing but its filters' memories, so a stem streamed chunk by chunk sounds the same as one
processed whole.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

import numpy as np
from .. import dsp

COMB_FLOOR = 0.12       # a pick and a pickup have width: no partial is cancelled completely


def string_comb(ratios: np.ndarray, positions: tuple[float, ...]) -> np.ndarray:
    """Amplitude factor of each harmonic for a string picked and sensed at ``positions``.

    A string plucked (or sensed by a pickup) at a fraction ``x`` of its length from the
    bridge carries harmonic ``n`` in proportion to ``|sin(pi n x)|``: plucked at 1/5, the
    5th, 10th, ... harmonics are (nearly) absent. That comb is the guitar's fingerprint
    in its spectrum. Floored at :data:`COMB_FLOOR` (a real pick and pickup are not points).
    """
    gain = np.ones_like(ratios, dtype=np.float64)
    for x in positions:
        gain *= COMB_FLOOR + (1.0 - COMB_FLOOR) * np.abs(np.sin(np.pi * np.rint(ratios) * x))
    return gain


@dataclass(frozen=True)
class Voicing:
    """An amplifier: input tightening, mid hump and the tube's asymmetry (the gain is the timbre's drive)."""

    tighten_hz: float        # first-order high-pass before the gain (a tight low end)
    hump: tuple[float, float, float]  # (Hz, dB, Q) peaking boost before the gain
    bias: float              # asymmetry of the clip (even harmonics)


@dataclass(frozen=True)
class Cabinet:
    """A speaker cabinet as a chain of resonant filters."""

    low_hz: float            # resonant high-pass (the speaker's low resonance)
    low_q: float
    peaks: tuple[tuple[float, float, float], ...]  # (Hz, dB, Q) peaking filters
    top_hz: float            # the speaker cone's roll-off (4th-order low-pass)
    top_q: float             # resonance of the second low-pass section at the edge


AMPS: Mapping[str, Voicing] = MappingProxyType({
    "clean": Voicing(tighten_hz=80.0, hump=(900.0, 1.0, 0.7), bias=0.05),
    "crunch": Voicing(tighten_hz=220.0, hump=(1300.0, 5.0, 0.8), bias=0.12),
    "high_gain": Voicing(tighten_hz=400.0, hump=(1000.0, 6.0, 0.7), bias=0.1),
})

CABINETS: Mapping[str, Cabinet] = MappingProxyType({
    # open-back 1x12 combo: brighter, looser low end
    "combo": Cabinet(low_hz=95.0, low_q=1.1, peaks=((2600.0, 4.0, 1.2), (450.0, -2.0, 1.0)),
                     top_hz=6000.0, top_q=1.2),
    # closed-back 4x12: thump at 110 Hz, scooped low mids, presence, the cones' steep fall from
    # 3.5 kHz (a brighter edge leaves the clipper's fizz, heard as a synthesizer)
    "closed_4x12": Cabinet(low_hz=85.0, low_q=1.4, peaks=((110.0, 3.0, 1.0), (500.0, -4.0, 0.9),
                                                         (2600.0, 5.0, 1.1)),
                           top_hz=3500.0, top_q=1.8),
})


def _peaking(f: float, db: float, q: float, sr: int) -> np.ndarray:
    """One peaking-EQ biquad (RBJ cookbook) as an SOS row."""
    a = 10.0 ** (db / 40.0)
    w = 2.0 * np.pi * f / sr
    alpha = np.sin(w) / (2.0 * q)
    b = np.array([1.0 + alpha * a, -2.0 * np.cos(w), 1.0 - alpha * a])
    den = np.array([1.0 + alpha / a, -2.0 * np.cos(w), 1.0 - alpha / a])
    return np.concatenate([b / den[0], den / den[0]])


def _resonant(kind: str, f: float, q: float, sr: int) -> np.ndarray:
    """One resonant low- or high-pass biquad (RBJ cookbook) as an SOS row."""
    w = 2.0 * np.pi * f / sr
    alpha = np.sin(w) / (2.0 * q)
    c = np.cos(w)
    b = np.array([(1.0 - c) / 2.0, 1.0 - c, (1.0 - c) / 2.0]) if kind == "low" else \
        np.array([(1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0])
    den = np.array([1.0 + alpha, -2.0 * c, 1.0 - alpha])
    return np.concatenate([b / den[0], den / den[0]])


@lru_cache(maxsize=16)
def cabinet_sos(name: str, *, sr: int) -> np.ndarray:
    """The cabinet ``name`` as second-order sections, for :func:`aimusic.dsp.sosfilt`.

    A resonant high-pass at the speaker's low resonance, the peaking filters, then a
    Butterworth low-pass pair and a resonant one at the cone's break-up edge: 6th-order
    above ``top_hz``, so the clipper's upper harmonics are gone and its buzz with them.
    float32, like the stems it filters (second-order sections keep that exact enough).
    """
    cab = CABINETS[name]
    rows = [_resonant("high", cab.low_hz, cab.low_q, sr)]
    rows += [_peaking(f, db, q, sr) for f, db, q in cab.peaks]
    rows += list(dsp.butter(4, cab.top_hz, btype="lowpass", fs=sr, output="sos"))
    rows.append(_resonant("low", cab.top_hz * 1.05, cab.top_q, sr))
    return np.vstack(rows).astype(np.float32)


@lru_cache(maxsize=16)
def amp_input_sos(name: str, *, sr: int) -> np.ndarray:
    """The amplifier's input filters (tightening high-pass and mid hump) as SOS."""
    v = AMPS[name]
    rows = [dsp.butter(1, v.tighten_hz, btype="highpass", fs=sr, output="sos")[0],
            _peaking(*v.hump, sr)]
    return np.vstack(rows).astype(np.float32)


def soft_clip(u: np.ndarray) -> np.ndarray:
    """Odd polynomial soft clip, flat (C2) beyond +-1: ``u (15 - 10 u^2 + 3 u^4) / 8``.

    Alone it is a plain waveshaper (it aliases when driven hard); :func:`adaa_clip` is the
    anti-aliased form the amplifier uses.
    """
    v = np.clip(u, -1.0, 1.0)
    v2 = v * v
    return v * (15.0 - 10.0 * v2 + 3.0 * v2 * v2) / 8.0


def _poly_integral(v: np.ndarray) -> np.ndarray:
    """Antiderivative of :func:`soft_clip` inside [-1, 1]: ``v^2 (7.5 - 2.5 v^2 + 0.5 v^4) / 8``."""
    v2 = v * v
    out = v2 * np.float32(0.0625)
    out -= np.float32(0.3125)
    out *= v2
    out += np.float32(0.9375)
    out *= v2
    return out


def adaa_clip(x: np.ndarray, previous: float, *, bias: float = 0.0) -> tuple[np.ndarray, float]:
    """Soft clip of ``x + bias`` with first-order antiderivative anti-aliasing.

    Output sample n is the mean of the clipper over the straight line from ``x[n-1]`` to
    ``x[n]``, ``(F(x[n]) - F(x[n-1])) / (x[n] - x[n-1])``, which suppresses the aliases
    a waveshaper folds below Nyquist. ``F`` is the polynomial antiderivative inside
    [-1, 1] plus the linear part beyond; where both inputs lie beyond the same rail the
    mean is that rail exactly, and where they nearly coincide the clipper of their
    midpoint is used (so float32 arithmetic loses nothing audible). ``previous`` is the
    input sample before ``x`` (state across chunks); the DC of the bias is taken off.
    Returns ``(y, last input)``.
    """
    if x.size == 0:
        return np.zeros(0, dtype=np.float32), previous
    u = np.empty(x.size + 1, dtype=np.float32)
    u[0] = previous
    u[1:] = x
    u += np.float32(bias)
    v = np.clip(u, -1.0, 1.0)
    big_f = _poly_integral(v)
    beyond = np.abs(u)
    beyond -= np.float32(1.0)
    np.maximum(beyond, 0.0, out=beyond)
    big_f += beyond
    du = np.diff(u)
    y = np.diff(big_f)
    close = np.abs(du) < np.float32(1e-3)
    np.copyto(du, np.float32(1.0), where=close)
    y /= du
    rail = v[1:]
    railed = rail == v[:-1]
    railed &= np.abs(rail) == np.float32(1.0)            # both beyond the same rail
    np.copyto(y, rail, where=railed)
    close &= ~railed
    fix = np.flatnonzero(close)
    if fix.size:
        y[fix] = soft_clip(np.float32(0.5) * (u[fix] + u[fix + 1]))
    y -= np.float32(soft_clip(np.array([bias]))[0])
    return y, float(x[-1])


def drive_gain(drive: float) -> float:
    """Pre-gain of an amp at ``drive`` in 0..1: 1x at 0, 8x (18 dB) at 0.5, 64x (36 dB) at 1."""
    return float(2.0 ** (6.0 * drive))


class Amp:
    """An amplifier and its cabinet, run in place over consecutive segments of one stem.

    ``pre`` scales the stem so that its expected peak sits at the drive's pre-gain;
    ``post`` scales the clipped signal back to the stem's level. State: the filters'
    memories and the clipper's last input.
    """

    def __init__(self, amp: str, cabinet: str, *, sr: int, pre: float, post: float,
                 quiet: np.ndarray | None = None) -> None:
        self.voicing = AMPS[amp] if amp else None
        self.pre, self.post = np.float32(pre), np.float32(post)
        self.input = amp_input_sos(amp, sr=sr) if amp else None
        self.cab = cabinet_sos(cabinet, sr=sr) if cabinet else None
        self.zi_in = np.zeros((2, 2), dtype=np.float32)
        self.zi_cab = np.zeros((self.cab.shape[0], 2), dtype=np.float32) if self.cab is not None else None
        self.last = 0.0
        self.quiet = np.zeros((0, 2), dtype=np.int64) if quiet is None else np.asarray(quiet, dtype=np.int64)

    def __call__(self, seg: np.ndarray, start: int = 0) -> None:
        """Amplify, clip and play through the cabinet the segment starting at sample ``start``.

        Within a ``quiet`` span (absolute samples where no note sounds and the filters'
        ring has died away, given by the caller from the note data) the output is silence
        and the memories are cleared without computing anything: a lead's rests and a part
        waiting for its section cost nothing. The spans do not depend on how the stem is
        cut into segments, so neither does the result.
        """
        end = start + seg.shape[0]
        at = start
        first = int(np.searchsorted(self.quiet[:, 1], start, side="right"))
        for q0, q1 in self.quiet[first:]:
            if q0 >= end:
                break
            if q0 > at:
                self._process(seg[at - start:q0 - start])
            self._clear()
            at = max(at, min(int(q1), end))
        if at < end:
            self._process(seg[at - start:])

    def _clear(self) -> None:
        self.zi_in[:] = 0.0
        if self.zi_cab is not None:
            self.zi_cab[:] = 0.0
        self.last = 0.0

    def _process(self, seg: np.ndarray) -> None:
        x = seg
        if self.voicing is not None:
            v = self.voicing
            x, self.zi_in = dsp.sosfilt(self.input, x * self.pre, zi=self.zi_in)
            x, self.last = adaa_clip(x, self.last, bias=v.bias)
            x = x * self.post
        if self.cab is not None:
            x, self.zi_cab = dsp.sosfilt(self.cab, x, zi=self.zi_cab)
        seg[:] = x


def amp_shape(x: np.ndarray, amp: str, *, sr: int) -> np.ndarray:
    """The amplifier alone (no cabinet) at unit pre- and post-gain over a whole signal."""
    out = np.array(x, dtype=np.float32)
    Amp(amp, "", sr=sr, pre=1.0, post=1.0)(out)
    return out
