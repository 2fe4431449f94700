"""Mastering: DC-free, loudness-normalised to -14 LUFS, true peak at most -1 dBTP, faded out.

The limiter is computed offline over the whole track, so it can look ahead as far as it
likes: the gain reduction each sample needs (from a 4x-oversampled peak estimate) is held
over a short window, released at a constant dB/s and smoothed by a moving average no longer
than the hold. A moving average of values that are each at least the need at the centre is
itself at least that need, so no peak gets through, and the slow release keeps quiet,
heavily lifted material (ambient) from pumping.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyloudnorm
from scipy import ndimage, signal

TARGET_LUFS = -14.0
CEILING_DBTP = -1.0
OVERSAMPLE = 4
FIR_HALF = 8              # taps each side of the inter-sample interpolator
FADE_OUT_S = 0.02


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


def peak_envelope(y: np.ndarray, *, floor: float, oversample: int = OVERSAMPLE) -> np.ndarray:
    """Per-sample true-peak estimate of ``y`` ((n,) or (n, ch)), max over channels.

    Only samples whose neighbourhood reaches ``floor`` (linear) are interpolated: a signal
    whose samples all stay ~6 dB below the ceiling cannot swing above it between them.
    """
    y2 = y.reshape(y.shape[0], -1)
    env = np.max(np.abs(y2), axis=1).astype(np.float64)
    near = ndimage.maximum_filter1d(env, size=2 * FIR_HALF + 1) >= floor
    idx = np.flatnonzero(near)
    if idx.size == 0:
        return env
    taps = _interpolator(oversample)
    offsets = np.arange(-FIR_HALF + 1, FIR_HALF + 1)
    win = np.clip(idx[:, None] + offsets[None, :], 0, y2.shape[0] - 1)
    for ch in range(y2.shape[1]):
        between = np.abs(y2[win, ch].astype(np.float64) @ taps).max(axis=1)
        env[idx] = np.maximum(env[idx], between)
    return env


def true_peak_db(y: np.ndarray, *, oversample: int = OVERSAMPLE) -> float:
    """True peak of ``y`` in dBTP (oversampled), the level a DAC or a resampler will see."""
    sample_peak = float(np.max(np.abs(y))) if y.size else 0.0
    if sample_peak == 0.0:
        return -np.inf
    env = peak_envelope(y, floor=sample_peak * db_to_gain(-8.0), oversample=oversample)
    return float(20.0 * np.log10(np.max(env)))


def limit(y: np.ndarray, *, sr: int, ceiling_db: float, window_s: float = 0.004,
          release_db_per_s: float = 25.0) -> np.ndarray:
    """Look-ahead true-peak limiter: ``y`` with every (oversampled) peak at or below ceiling."""
    ceiling = db_to_gain(ceiling_db)
    env = peak_envelope(y, floor=ceiling * db_to_gain(-0.5))
    need = 20.0 * np.log10(np.maximum(env / ceiling, 1.0))          # dB of reduction needed
    if not np.any(need > 0.0):
        return y
    half = max(int(window_s * sr), 1)
    held = ndimage.maximum_filter1d(need, size=2 * half + 1)
    ramp = (release_db_per_s / sr) * np.arange(need.size)
    released = np.maximum.accumulate(held + ramp) - ramp           # constant dB/s release
    smooth = ndimage.uniform_filter1d(released, size=2 * half + 1)
    gain = np.power(10.0, -smooth / 20.0).astype(np.float32)
    return y * (gain[:, None] if y.ndim == 2 else gain)


def integrated_loudness(y: np.ndarray, *, sr: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770, measured by pyloudnorm)."""
    return float(pyloudnorm.Meter(sr).integrated_loudness(np.asarray(y, dtype=np.float64)))


def remove_dc(y: np.ndarray, *, sr: int, cutoff: float = 25.0) -> np.ndarray:
    """High-pass at ``cutoff`` Hz: removes DC offset and sub-sonic rumble."""
    sos = signal.butter(2, cutoff, btype="highpass", fs=sr, output="sos")
    return signal.sosfilt(sos, y, axis=0).astype(np.float32)


def fade_out(y: np.ndarray, *, sr: int, seconds: float = FADE_OUT_S) -> np.ndarray:
    """Raised-cosine fade of the last ``seconds`` to exactly zero (no click at the end)."""
    n = min(int(seconds * sr), y.shape[0])
    out = y.copy()
    if n:
        ramp = 0.5 + 0.5 * np.cos(np.pi * np.arange(1, n + 1) / n)
        out[-n:] *= ramp.astype(np.float32).reshape((n,) + (1,) * (y.ndim - 1))
    return out


def master(y: np.ndarray, *, sr: int, target_lufs: float = TARGET_LUFS, ceiling_db: float = CEILING_DBTP,
           release_db_per_s: float = 25.0, rounds: int = 4) -> np.ndarray:
    """Loudness-normalise and limit a stereo mix; returns float32 with the same shape.

    Gain is set from the measured loudness, the limiter takes the peaks, and since limiting
    lowers loudness a little the gain is corrected and the limiter rerun (a few rounds).
    """
    y = remove_dc(np.asarray(y, dtype=np.float32), sr=sr)
    loud = integrated_loudness(y, sr=sr)
    if not np.isfinite(loud):  # silence stays silence
        return fade_out(y, sr=sr)
    gain_db = target_lufs - loud
    out = y
    safe = ceiling_db - 0.2  # margin for the fade and the float32 -> int16 rounding
    for _ in range(rounds):
        out = limit(y * np.float32(db_to_gain(gain_db)), sr=sr, ceiling_db=safe,
                    release_db_per_s=release_db_per_s)
        loud = integrated_loudness(out, sr=sr)
        if abs(loud - target_lufs) < 0.25:
            break
        gain_db += target_lufs - loud
    out = fade_out(out, sr=sr)
    over = true_peak_db(out) - safe
    if over > 0.0:
        out = out * np.float32(db_to_gain(-over))
    return out.astype(np.float32, copy=False)
