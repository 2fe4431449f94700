"""Mastering: loudness-normalised to -14 LUFS, true peak at most -1 dBTP, faded out.

(DC and rumble are taken out before, by the master bus high-pass in :mod:`aimusic.mix`.)
The limiter is computed offline over the whole track, so it can look ahead as far as it
likes: the gain reduction each 32-sample block needs (from a 4x-oversampled peak estimate)
is held over a short window, released at a constant dB/s and smoothed by a moving average
no longer than the hold. A moving average of values that are each at least the need at the centre is
itself at least that need, so no peak gets through, and the slow release keeps quiet,
heavily lifted material (ambient) from pumping.
"""
from __future__ import annotations

from concurrent.futures import Executor
from functools import lru_cache

import numpy as np

from . import dsp
from .halves import run_halves, split_range

TARGET_LUFS = -14.0
CEILING_DBTP = -1.0
OVERSAMPLE = 4
FIR_HALF = 6              # taps each side of the inter-sample interpolator (12 per phase, as BS.1770)
FADE_OUT_S = 0.02
FADE_IN_FLOOR_DB = -60.0  # where a style's swell-in (MixSpec.fade_in_s) starts
HOP_S = 0.1              # loudness blocks are four 100 ms hops (400 ms, 75 % overlap)
LIMIT_BLOCK = 32         # the limiter's gain is computed per block and interpolated
PEAK_CHUNK = 1 << 16     # samples examined at once by the true-peak estimate (bounds its temporaries)


def db_to_gain(db: float) -> float:
    """Linear amplitude for a level in dB."""
    return float(10.0 ** (db / 20.0))


@lru_cache(maxsize=4)
def _interpolator(oversample: int) -> np.ndarray:
    """(2*FIR_HALF, oversample-1) Kaiser-windowed sinc taps for the points between samples."""
    m = np.arange(-FIR_HALF + 1, FIR_HALF + 1)[:, None]
    frac = (np.arange(1, oversample) / oversample)[None, :]
    x = m - frac
    window = np.kaiser(2 * FIR_HALF + 1, 8.0)
    w = np.interp(x, np.arange(-FIR_HALF, FIR_HALF + 1), window)
    taps = np.sinc(x) * w
    return (taps / taps.sum(axis=0, keepdims=True)).astype(np.float64)


def _envelope(y2: np.ndarray, c0: int, c1: int, floor: float, oversample: int) -> np.ndarray:
    """True-peak estimate of samples ``c0:c1`` of ``y2`` ((n, ch)), max over channels."""
    n = y2.shape[0]
    env = np.abs(y2[c0:c1, 0])
    for ch in range(1, y2.shape[1]):
        np.maximum(env, np.abs(y2[c0:c1, ch]), out=env)
    near = env >= floor
    if c1 < n:
        near[-1] |= bool(np.max(np.abs(y2[c1])) >= floor)
    near[:-1] |= near[1:]
    idx = np.flatnonzero(near)
    if idx.size == 0:
        return env
    taps = _interpolator(oversample).astype(np.float32)
    win = np.clip(idx[:, None] + (c0 + np.arange(-FIR_HALF + 1, FIR_HALF + 1))[None, :], 0, n - 1)
    for ch in range(y2.shape[1]):
        between = np.abs(y2[:, ch][win] @ taps).max(axis=1)
        env[idx] = np.maximum(env[idx], between)
    return env


def _chunks(n: int, step: int = PEAK_CHUNK) -> list[tuple[int, int]]:
    return split_range(0, n, step)


def peak_envelope(y: np.ndarray, *, floor: float, oversample: int = OVERSAMPLE) -> np.ndarray:
    """Per-sample true-peak estimate of ``y`` ((n,) or (n, ch)), max over channels.

    Between samples ``i`` and ``i+1`` the signal is interpolated (windowed sinc,
    ``oversample`` points per sample) only where one of the two reaches ``floor`` (linear):
    band-limited audio does not swing several dB above both of its neighbouring samples.
    """
    y2 = y.reshape(y.shape[0], -1)
    return np.concatenate([_envelope(y2, c0, c1, floor, oversample) for c0, c1 in _chunks(y2.shape[0])]
                          or [np.zeros(0, dtype=y.dtype)])


def true_peak_db(y: np.ndarray, *, oversample: int = OVERSAMPLE, helper: Executor | None = None) -> float:
    """True peak of ``y`` in dBTP (oversampled), the level a DAC or a resampler will see.

    The later chunks are scanned on ``helper`` when given.
    """
    y2 = y.reshape(y.shape[0], -1)
    pieces = _chunks(y2.shape[0])
    sample_peak = max(run_halves(helper, [lambda c0=c0, c1=c1: float(np.max(np.abs(y2[c0:c1])))
                                          for c0, c1 in pieces]), default=0.0)
    if sample_peak == 0.0:
        return -np.inf
    floor = sample_peak * db_to_gain(-3.0)
    peak = max(run_halves(helper, [lambda c0=c0, c1=c1: float(np.max(_envelope(y2, c0, c1, floor, oversample)))
                                   for c0, c1 in pieces]))
    return float(20.0 * np.log10(peak))


def block_peaks(env: np.ndarray, *, block: int = LIMIT_BLOCK) -> np.ndarray:
    """Maximum of ``env`` over consecutive blocks of ``block`` samples (the last may be short)."""
    return np.maximum.reduceat(env, np.arange(0, env.shape[0], block)).astype(np.float64)


def true_block_peaks(y: np.ndarray, *, floor: float, block: int = LIMIT_BLOCK,
                     helper: Executor | None = None) -> np.ndarray:
    """:func:`block_peaks` of :func:`peak_envelope`, chunk by chunk (no full-length envelope).

    The later chunks are scanned on ``helper`` when given.
    """
    y2 = y.reshape(y.shape[0], -1)
    step = (PEAK_CHUNK // block) * block
    return np.concatenate(run_halves(helper, [
        lambda c0=c0, c1=c1: block_peaks(_envelope(y2, c0, c1, floor, OVERSAMPLE), block=block)
        for c0, c1 in _chunks(y2.shape[0], step)]))


def limiter_blocks(peaks: np.ndarray, *, sr: int, ceiling_db: float, block: int = LIMIT_BLOCK,
                   window_s: float = 0.004, release_db_per_s: float = 25.0) -> np.ndarray:
    """Gain per block that brings each block's peak to the ceiling, smoothed and released.

    The reduction a block needs is held over the smoothing window plus one block each side,
    so the moving average, and the linear interpolation between neighbouring block gains
    done by :func:`upsample_gain`, never let a peak through.
    """
    # the same arithmetic as written out plainly, in place: a long track has ~10^6 blocks
    need = peaks / db_to_gain(ceiling_db)
    np.maximum(need, 1.0, out=need)
    np.log10(need, out=need)
    need *= 20.0                                                               # dB to take off
    if not np.any(need > 0.0):
        return np.ones_like(need)
    half = max(int(round(window_s * sr / block)), 1)
    held = dsp.maximum_filter1d(need, size=2 * (half + 1) + 1)
    del need
    ramp = np.arange(held.size, dtype=np.float64)
    ramp *= release_db_per_s * block / sr
    held += ramp
    np.maximum.accumulate(held, out=held)
    held -= ramp                                                               # constant dB/s release
    del ramp
    smooth = dsp.uniform_filter1d(held, size=2 * half + 1)
    del held
    np.divide(smooth, -20.0, out=smooth)
    return np.power(10.0, smooth, out=smooth)


def block_centres(count: int, *, block: int = LIMIT_BLOCK) -> np.ndarray:
    """Sample position of the centre of each of ``count`` consecutive blocks (float64)."""
    return np.arange(count) * block + (block - 1) / 2.0


def upsample_gain(gains: np.ndarray, n: int, *, block: int = LIMIT_BLOCK, start: int = 0,
                  centres: np.ndarray | None = None) -> np.ndarray:
    """Per-sample float32 gain for samples ``start:n``: linear interpolation between block centres.

    ``centres`` is :func:`block_centres` of the gains, if the caller has it (a caller applying
    the gain chunk by chunk would otherwise rebuild it, a track's length, for every chunk).
    """
    if centres is None:
        centres = block_centres(gains.size, block=block)
    out = np.empty(n - start, dtype=np.float32)
    for c0, c1 in _chunks(n - start):
        out[c0:c1] = _interp_samples(gains, centres, start + c0, start + c1, block=block)
    return out


def _interp_samples(gains: np.ndarray, centres: np.ndarray, s0: int, s1: int, *, block: int) -> np.ndarray:
    """``np.interp(np.arange(s0, s1), centres, gains)`` to the bit, a block of samples at a time.

    Between the centres of blocks ``j`` and ``j + 1`` (half a sample off the samples, for an
    even ``block``) the samples lie 0.5, 1.5, ... block - 0.5 past centre ``j``, so the
    interpolation is one outer product of the segments' slopes and those offsets, plus
    their start values: ``slope * (x - centre) + gain``, each step rounded as ``np.interp``
    rounds it. Before the first centre and after the last, the end values.
    """
    k = gains.size
    if k < 2 or block % 2 or s1 <= s0:
        return np.interp(np.arange(s0, s1), centres, gains)
    out = np.empty(s1 - s0, dtype=np.float64)
    half = block // 2                        # the first sample past centre 0
    a, b = min(max(s0, half), s1), max(min(s1, k * block - half), s0)   # samples between centres
    out[:a - s0] = gains[0]
    out[b - s0:] = gains[-1]
    if a < b:
        j0, j1 = (a - half) // block, (b - 1 - half) // block + 1
        slopes = (gains[j0 + 1:j1 + 1] - gains[j0:j1]) / (centres[j0 + 1:j1 + 1] - centres[j0:j1])
        within = np.multiply.outer(slopes, np.arange(block) + 0.5)
        within += gains[j0:j1, None]
        skip = a - half - j0 * block
        out[a - s0:b - s0] = within.reshape(-1)[skip:skip + (b - a)]
    return out


def limiter_gain(env: np.ndarray, *, sr: int, ceiling_db: float, release_db_per_s: float = 25.0) -> np.ndarray:
    """Per-sample gain (float32) that brings every value of the peak envelope ``env`` to the ceiling."""
    gains = limiter_blocks(block_peaks(env), sr=sr, ceiling_db=ceiling_db, release_db_per_s=release_db_per_s)
    return upsample_gain(gains, env.shape[0])


def limit(y: np.ndarray, *, sr: int, ceiling_db: float, release_db_per_s: float = 25.0) -> np.ndarray:
    """Look-ahead true-peak limiter: ``y`` with every (oversampled) peak at or below ceiling."""
    env = peak_envelope(y, floor=db_to_gain(ceiling_db - 4.0))
    gain = limiter_gain(env, sr=sr, ceiling_db=ceiling_db, release_db_per_s=release_db_per_s)
    return y * (gain[:, None] if y.ndim == 2 else gain)


def _biquad(kind: str, gain_db: float, q: float, fc: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """(b, a) of pyloudnorm's ``IIRfilter(gain_db, q, fc, sr, kind)`` (RBJ cookbook), normalised by a0.

    The same formulas in the same order as pyloudnorm's ``generate_coefficients``, so the same
    coefficients to the bit (``tests/test_dsp.py`` compares), without importing pyloudnorm
    (which imports ``scipy.signal``).
    """
    A = 10 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * (fc / sr)
    alpha = np.sin(w0) / (2.0 * q)
    if kind == "high_shelf":
        b0 = A * ((A + 1) + (A - 1) * np.cos(w0) + 2 * np.sqrt(A) * alpha)
        b1 = -2 * A * ((A - 1) + (A + 1) * np.cos(w0))
        b2 = A * ((A + 1) + (A - 1) * np.cos(w0) - 2 * np.sqrt(A) * alpha)
        a0 = (A + 1) - (A - 1) * np.cos(w0) + 2 * np.sqrt(A) * alpha
        a1 = 2 * ((A - 1) - (A + 1) * np.cos(w0))
        a2 = (A + 1) - (A - 1) * np.cos(w0) - 2 * np.sqrt(A) * alpha
    elif kind == "high_pass":
        b0 = (1 + np.cos(w0)) / 2
        b1 = -(1 + np.cos(w0))
        b2 = (1 + np.cos(w0)) / 2
        a0 = 1 + alpha
        a1 = -2 * np.cos(w0)
        a2 = 1 - alpha
    else:
        raise ValueError(f"no {kind} filter here")
    return np.array([b0, b1, b2]) / a0, np.array([a0, a1, a2]) / a0


def k_weighting(sr: int) -> np.ndarray:
    """BS.1770 K-weighting as second-order sections, designed as pyloudnorm's own filters are."""
    stages = (_biquad("high_shelf", 4.0, 1 / np.sqrt(2), 1500.0, sr),    # head: +4 dB shelf
              _biquad("high_pass", 0.0, 0.5, 38.0, sr))                  # RLB high-pass
    passband_gain = 1.0
    sos = [np.concatenate([np.asarray(b) * passband_gain / a[0], np.asarray(a) / a[0]]) for b, a in stages]
    return np.vstack(sos)


def hop_power(y: np.ndarray, *, sr: int, chunk: int = 1 << 16, helper: Executor | None = None) -> np.ndarray:
    """Mean square of the K-weighted signal per 100 ms hop and channel, ``(n_hops, ch)``.

    Computed chunk by chunk with the filter state carried over, so a five-minute track
    needs no full-length float64 copy (the gating blocks are four consecutive hops). The
    channels are filtered apart (the second on ``helper`` when given): the same numbers.
    """
    y2 = y.reshape(y.shape[0], -1)
    hop = int(round(HOP_S * sr))
    n_hops = y2.shape[0] // hop
    sos = k_weighting(sr)
    pieces = _chunks(n_hops * hop, max(chunk // hop, 1) * hop)

    def one_channel(ch: int) -> np.ndarray:
        state = np.zeros((sos.shape[0], 2))
        out = np.zeros(n_hops)
        for c0, c1 in pieces:
            filtered, state = dsp.sosfilt(sos, y2[c0:c1, ch].astype(np.float64), zi=state)
            out[c0 // hop:c1 // hop] = np.mean(np.square(filtered).reshape(-1, hop), axis=1)
        return out

    columns = run_halves(helper, [lambda ch=ch: one_channel(ch) for ch in range(y2.shape[1])])
    return np.stack(columns, axis=1) if columns else np.zeros((n_hops, 0))


def gated_loudness(hops: np.ndarray) -> float:
    """Integrated loudness (LUFS) from K-weighted hop powers: 400 ms blocks, 75 % overlap, gated."""
    if hops.shape[0] < 4:
        return -np.inf
    blocks = (hops[:-3] + hops[1:-2] + hops[2:-1] + hops[3:]) / 4.0          # (n_blocks, ch)
    total = blocks.sum(axis=1)                                                # channel gains 1 (L, R)
    with np.errstate(divide="ignore"):
        level = -0.691 + 10.0 * np.log10(total)
    above = level >= -70.0                                                    # absolute gate
    if not np.any(above):
        return -np.inf
    relative = -0.691 + 10.0 * np.log10(total[above].mean()) - 10.0          # relative gate
    kept = above & (level > relative)
    return float(-0.691 + 10.0 * np.log10(total[kept].mean()))


def integrated_loudness(y: np.ndarray, *, sr: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4, pyloudnorm's K-weighting filters).

    The same measurement as ``pyloudnorm.Meter(sr).integrated_loudness`` (the tests hold it
    to 0.05 LU of it), streamed so that long tracks need no full-length float64 copies.
    """
    return gated_loudness(hop_power(y, sr=sr))


def fade_out(y: np.ndarray, *, sr: int, seconds: float = FADE_OUT_S, copy: bool = True) -> np.ndarray:
    """Raised-cosine fade of the last ``seconds`` to exactly zero (no click at the end)."""
    n = min(int(seconds * sr), y.shape[0])
    out = y.copy() if copy else y
    if n:
        ramp = 0.5 + 0.5 * np.cos(np.pi * np.arange(1, n + 1) / n)
        out[-n:] *= ramp.astype(np.float32).reshape((n,) + (1,) * (y.ndim - 1))
    return out


def fade_in(y: np.ndarray, *, sr: int, seconds: float, floor_db: float = FADE_IN_FLOOR_DB) -> np.ndarray:
    """Swell the first ``seconds`` of ``y`` in, in place: from ``floor_db`` to unity, linear in dB.

    A piece that opens on every part at once from digital silence has, to the ear and to an
    onset detector, its strongest attack at 0:00; a swell even in decibels lets the pad
    come up as a player's volume pedal would, with no step anywhere.
    """
    n = min(int(seconds * sr), y.shape[0])
    if n > 0:
        ramp = (10.0 ** (floor_db * (1.0 - np.arange(n) / n) / 20.0)).astype(np.float32)
        y[:n] *= ramp.reshape((n,) + (1,) * (y.ndim - 1))
    return y


def master(y: np.ndarray, *, sr: int, target_lufs: float = TARGET_LUFS, ceiling_db: float = CEILING_DBTP,
           release_db_per_s: float = 25.0, rounds: int = 6, copy: bool = True,
           helper: Executor | None = None) -> np.ndarray:
    """Loudness-normalise and limit an (n, 2) mix whose DC is already removed; float32.

    With ``copy=False`` the caller's float32 buffer is reused for the result (a long
    track's mix is the largest array in the process). With a ``helper`` thread, half of
    each scan over the track runs there (:mod:`aimusic.halves`): the same result.

    The loudness (K-weighted hop powers) and the peak envelope are measured once; the gain
    that reaches the target with the limiter engaged is then found on those, since limiting
    lowers loudness a little and more gain means more limiting.
    """
    y = np.asarray(y, dtype=np.float32)
    if copy:
        y = y.copy()
    hops = hop_power(y, sr=sr, helper=helper)
    loud = gated_loudness(hops)
    if not np.isfinite(loud):  # silence stays silence
        return fade_out(y, sr=sr)
    safe = ceiling_db - 0.2  # margin for the float32 -> int16 rounding and estimate error
    gain_db = target_lufs - loud
    peaks = true_block_peaks(y, floor=db_to_gain(safe - gain_db - 4.0 - 3.0), helper=helper)
    hop = int(round(HOP_S * sr))
    hop_of_block = np.minimum((np.arange(peaks.size, dtype=np.int32) * LIMIT_BLOCK) // hop, hops.shape[0])
    counts = np.bincount(hop_of_block, minlength=hops.shape[0] + 1)[: hops.shape[0]]
    for _ in range(rounds):
        gains = limiter_blocks(peaks * db_to_gain(gain_db), sr=sr, ceiling_db=safe,
                               release_db_per_s=release_db_per_s)
        # the gain moves slowly, so K-weighting the limited signal = K-weighting, then gain
        g2 = np.bincount(hop_of_block, weights=gains ** 2, minlength=hops.shape[0] + 1)[: hops.shape[0]]
        limited = gated_loudness(hops * (g2 / np.maximum(counts, 1))[:, None])
        short = target_lufs - (limited + gain_db)
        if abs(short) < 0.1:
            break
        gain_db += short
    gains *= db_to_gain(gain_db)
    centres = block_centres(gains.size)
    def apply(c0: int, c1: int) -> None:   # interpolated gain applied chunk by chunk
        y[c0:c1] *= upsample_gain(gains, c1, start=c0, centres=centres)[:, None]

    run_halves(helper, [lambda c0=c0, c1=c1: apply(c0, c1) for c0, c1 in _chunks(y.shape[0])])
    out = fade_out(y, sr=sr, copy=False)
    over = true_peak_db(out, helper=helper) - safe
    if over > 0.0:
        out *= np.float32(db_to_gain(-over))
    return out
