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
from numpy.lib.stride_tricks import sliding_window_view
from scipy import ndimage, signal

TARGET_LUFS = -14.0
CEILING_DBTP = -1.0
OVERSAMPLE = 4
FIR_HALF = 6              # taps each side of the inter-sample interpolator (12 per phase, as BS.1770)
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

    Between samples ``i`` and ``i+1`` the signal is interpolated (windowed sinc,
    ``oversample`` points per sample) only where one of the two reaches ``floor`` (linear):
    band-limited audio does not swing several dB above both of its neighbouring samples.
    """
    y2 = y.reshape(y.shape[0], -1)
    n = y2.shape[0]
    env = np.max(np.abs(y2), axis=1)
    near = env >= floor
    near[:-1] |= near[1:]
    idx = np.flatnonzero(near)
    if idx.size == 0:
        return env
    taps = _interpolator(oversample).astype(np.float32)
    win = np.clip(idx[:, None] + np.arange(-FIR_HALF + 1, FIR_HALF + 1)[None, :], 0, n - 1)
    for ch in range(y2.shape[1]):
        between = np.abs(y2[:, ch][win] @ taps).max(axis=1)
        env[idx] = np.maximum(env[idx], between)
    return env


def true_peak_db(y: np.ndarray, *, oversample: int = OVERSAMPLE) -> float:
    """True peak of ``y`` in dBTP (oversampled), the level a DAC or a resampler will see."""
    sample_peak = float(np.max(np.abs(y))) if y.size else 0.0
    if sample_peak == 0.0:
        return -np.inf
    env = peak_envelope(y, floor=sample_peak * db_to_gain(-3.0), oversample=oversample)
    return float(20.0 * np.log10(np.max(env)))


def limiter_gain(env: np.ndarray, *, sr: int, ceiling_db: float, window_s: float = 0.004,
                 release_db_per_s: float = 25.0) -> np.ndarray:
    """Gain curve (float32) that brings every value of the peak envelope ``env`` to the ceiling."""
    ceiling = db_to_gain(ceiling_db)
    need = 20.0 * np.log10(np.maximum(env.astype(np.float64) / ceiling, 1.0))   # dB to take off
    if not np.any(need > 0.0):
        return np.ones(env.shape[0], dtype=np.float32)
    half = max(int(window_s * sr), 1)
    held = ndimage.maximum_filter1d(need, size=2 * half + 1)
    ramp = (release_db_per_s / sr) * np.arange(need.size)
    released = np.maximum.accumulate(held + ramp) - ramp           # constant dB/s release
    smooth = ndimage.uniform_filter1d(released, size=2 * half + 1)
    return np.power(10.0, -smooth / 20.0).astype(np.float32)


def limit(y: np.ndarray, *, sr: int, ceiling_db: float, release_db_per_s: float = 25.0) -> np.ndarray:
    """Look-ahead true-peak limiter: ``y`` with every (oversampled) peak at or below ceiling."""
    env = peak_envelope(y, floor=db_to_gain(ceiling_db - 4.0))
    gain = limiter_gain(env, sr=sr, ceiling_db=ceiling_db, release_db_per_s=release_db_per_s)
    return y * (gain[:, None] if y.ndim == 2 else gain)


def _block_power(y: np.ndarray, *, sr: int, block_s: float = 0.4) -> np.ndarray:
    n = int(block_s * sr)
    y2 = y.reshape(y.shape[0], -1)[: (y.shape[0] // n) * n]
    return np.mean(np.square(y2, dtype=np.float64).reshape(-1, n, y2.shape[1]), axis=(1, 2))


def loudness_change_db(block_power: np.ndarray, gain: np.ndarray, *, sr: int, block_s: float = 0.4) -> float:
    """How much a slow gain curve changes loudness, from per-block powers of the signal.

    K-weighting is linear and the gain moves slowly, so weighting each gated block's power
    by its mean squared gain predicts the change pyloudnorm would measure (within ~0.1 dB).
    """
    n = int(block_s * sr)
    g2 = np.mean(np.square(gain[: block_power.size * n], dtype=np.float64).reshape(-1, n), axis=1)
    loud = block_power > np.mean(block_power) * 10 ** (-10 / 10)   # the relative gate
    if not np.any(loud):
        return 0.0
    return float(10.0 * np.log10(np.sum(block_power[loud] * g2[loud]) / np.sum(block_power[loud])))


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
           release_db_per_s: float = 25.0, rounds: int = 6) -> np.ndarray:
    """Loudness-normalise and limit an (n, 2) mix whose DC is already removed; float32.

    The loudness is measured once (pyloudnorm) and the peak envelope estimated once; the
    gain that reaches the target with the limiter engaged is then found on those, since
    limiting lowers loudness a little and more gain means more limiting.
    """
    y = np.asarray(y, dtype=np.float32)
    loud = integrated_loudness(y, sr=sr)
    if not np.isfinite(loud):  # silence stays silence
        return fade_out(y, sr=sr)
    safe = ceiling_db - 0.2  # margin for the float32 -> int16 rounding and estimate error
    gain_db = target_lufs - loud
    env = peak_envelope(y, floor=db_to_gain(safe - gain_db - 4.0 - 3.0))
    power = _block_power(y, sr=sr)
    curve = np.ones(y.shape[0], dtype=np.float32)
    for _ in range(rounds):
        curve = limiter_gain(env * db_to_gain(gain_db), sr=sr, ceiling_db=safe,
                             release_db_per_s=release_db_per_s)
        short = target_lufs - (loud + gain_db + loudness_change_db(power, curve, sr=sr))
        if abs(short) < 0.1:
            break
        gain_db += short
    out = fade_out(y * (curve * np.float32(db_to_gain(gain_db)))[:, None], sr=sr)
    over = true_peak_db(out) - safe
    if over > 0.0:
        out = out * np.float32(db_to_gain(-over))
    return out.astype(np.float32, copy=False)
