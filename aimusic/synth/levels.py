"""Levels measured on audio or predicted from note data, so a stem's gain is known before it plays.

The mixer brings every stem to a reference level before its compressor. Measuring that
level on the finished stem needs the whole stem in memory; the streaming renderer instead
predicts it from the notes (:func:`predict_track`): each note's power, frame by frame, from
its partial table and envelope (the expected power of a sum of partials with unrelated
phases is the sum of their powers), summed over the notes of the track. Stem colour (drive,
cabinet, rotary) is accounted for by a per-timbre calibration measured once per process.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from ..blas import one_thread
from . import tables
from .additive import ArrayLRU
from .guitar import amp_shape, drive_gain
from .instruments import Timbre, get_timbre
from .voice import is_muted, midi_to_hz, note_samples, partial_table, render_note

FRAME_S = 0.05          # level frames (as the mix's stem level)
GATE_DB = -45.0         # frames this far below the loudest do not count
PROFILE_ENTRIES = 20000  # note power profiles kept per process (a few hundred bytes each)


def frame_length(sr: int) -> int:
    """Samples per level frame."""
    return int(FRAME_S * sr)


def stem_level_db(y: np.ndarray, *, sr: int, frame_s: float = FRAME_S) -> float:
    """RMS level in dB of the 50 ms frames where ``y`` ((n,) or (n, ch)) plays, gated at -45 dB."""
    n = int(frame_s * sr)
    width = n * (y.shape[1] if y.ndim == 2 else 1)
    frames = y[: (y.shape[0] // n) * n].reshape(-1, width)
    if frames.size == 0:
        return -np.inf
    power = np.einsum("ij,ij->i", frames, frames, dtype=np.float64) / width
    return gated_level_db(power)


def gated_level_db(power: np.ndarray) -> float:
    """Mean of the frame powers within 45 dB of the loudest, in dB (-inf for silence)."""
    if power.size == 0:
        return -np.inf
    loudest = float(np.max(power))
    if loudest <= 0.0:
        return -np.inf
    sounding = power[power > loudest * 10 ** (GATE_DB / 10)]
    return float(10.0 * np.log10(np.mean(sounding)))


def frame_power(y: np.ndarray, *, sr: int) -> np.ndarray:
    """Mean square of mono ``y`` per level frame (the last frame zero-padded)."""
    f = frame_length(sr)
    k = -(-y.shape[0] // f)
    padded = np.zeros(k * f, dtype=np.float64)
    padded[: y.shape[0]] = y
    return np.mean(np.square(padded.reshape(k, f)), axis=1)


def envelope_at(t: np.ndarray, timbre: Timbre, *, sr: int, hold: int) -> np.ndarray:
    """The ADSR envelope of :func:`~aimusic.synth.additive.adsr` evaluated at sample times ``t``."""
    n_att = max(int(timbre.attack * sr), int(0.002 * sr))

    def held(ts: np.ndarray) -> np.ndarray:
        if timbre.env_decay > 0.0 and timbre.sustain < 1.0:
            after = np.maximum(ts - n_att, 0.0) / sr
            env = timbre.sustain + (1.0 - timbre.sustain) * np.exp(-after * (3.0 / max(timbre.env_decay, 1e-4)))
        else:
            env = np.ones_like(ts, dtype=np.float64)
        rising = ts < n_att
        env[rising] = 0.5 - 0.5 * np.cos(np.pi * (ts[rising] + 0.5) / n_att)
        return env

    t = np.asarray(t, dtype=np.float64)
    env = held(t)
    release = t >= hold
    if np.any(release):
        level = float(held(np.array([hold - 1.0]))[0]) if hold > 0 else 0.0
        env[release] = level * np.exp(-(t[release] - hold) / sr * (6.9 / max(timbre.release, 1e-3)))
    return env


TONE_POWER_MB = 5   # tone powers kept per process (a few KB each)


def _kept_tone_power(name: str, pitch: int, velocity: float, sr: int, muted: bool, frames: int) -> np.ndarray:
    """At least the first ``frames`` frames of :func:`tone_power`, kept by note in :data:`_TONES`.

    Each is kept as far as its longest use so far: a sustained note's full ring is 30 s, but
    most are played for a few seconds, and every frame is computed on its own.
    """
    key = (name, pitch, velocity, sr, muted)
    found = _TONES.get(key)
    if found is None or found.size < frames:
        found = tone_power(name, pitch, velocity, sr, muted, frames=frames)
        _TONES.put(key, found)
    return found  # type: ignore[return-value]


def tone_power(name: str, pitch: int, velocity: float, sr: int, muted: bool = False, *,
               frames: int | None = None) -> np.ndarray:
    """Expected power of a note's partials and noise per frame, before its envelope (read-only).

    It depends on the instrument, pitch and velocity only, not on how long the key is held:
    the frames of the longest note of that pitch or, given ``frames``, that many rounded up
    to a power of two (no more than the longest has). Each frame is computed on its own, so
    the first frames are the same whatever their count (two at least: the sum over the
    partials of a single frame would be added in another order).
    """
    timbre = get_timbre(name)
    f = frame_length(sr)
    longest = note_samples(timbre, pitch, int(timbre.max_seconds * sr), sr=sr)   # ring-limited
    total = -(-longest // f)
    count = total if frames is None else min(total, 1 << max(int(frames) - 1, 1).bit_length())
    ts = (np.arange(count) + 0.5) * f / sr
    freqs, amps, decays, _, ratios = partial_table(timbre, pitch, velocity, sr=sr,
                                                   rng=np.random.default_rng(0), muted=muted)
    amp = amps[:, None] * np.exp(-np.outer(decays, ts))
    start, end, tau = timbre.fenv
    if start or end:
        cutoff = (end + (start - end) * np.exp(-ts / max(tau, 1e-3))) * (0.6 + 0.4 * velocity)
        amp = amp / np.sqrt(1.0 + (ratios[:, None] / cutoff[None, :]) ** 4)
    # ensemble copies of one partial start in phase: their beating is summed coherently
    groups, inverse = np.unique(ratios, return_inverse=True)
    phasor = amp * np.exp(2j * np.pi * np.outer(freqs - midi_to_hz(pitch) * ratios, ts))
    summed = np.zeros((groups.size, ts.size), dtype=np.complex128)
    np.add.at(summed, inverse, phasor)
    power = 0.5 * np.sum(np.abs(summed) ** 2, axis=0)
    if timbre.noise:
        power += (timbre.noise * (0.5 + velocity)) ** 2
    power.setflags(write=False)
    return power


def _profile(timbre: Timbre, pitch: int, velocity: float, hold: int, *, sr: int) -> np.ndarray:
    """Expected power per frame of one note: its tone power under its envelope."""
    release = int(timbre.release * sr)
    hold = min(hold, max(int(timbre.max_seconds * sr) - release, 1))
    n = note_samples(timbre, pitch, hold, sr=sr)
    f = frame_length(sr)
    t = (np.arange(-(-n // f)) + 0.5) * f
    tone = _kept_tone_power(timbre.name, pitch, velocity, sr, is_muted(timbre, hold, sr=sr), t.size)
    return tone[: t.size] * envelope_at(t, timbre, sr=sr, hold=hold) ** 2


class _Profiles:
    """Note power profiles by note key, bounded LRU (thread-safe)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, timbre: Timbre, pitch: int, velocity: float, hold: int, sr: int) -> np.ndarray:
        with self._lock:
            p = self._items.get(key)
            if p is not None:
                self._items.move_to_end(key)
                return p
        p = _profile(timbre, pitch, velocity, hold, sr=sr)
        p.setflags(write=False)
        with self._lock:
            self._items[key] = p
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return p


PROFILES = _Profiles(PROFILE_ENTRIES)
_TONES = ArrayLRU(TONE_POWER_MB << 20)


def note_power(key: tuple, timbre: Timbre, pitch: int, velocity: float, hold: int, *, sr: int) -> np.ndarray:
    """Expected power of one note at unit gain, per level frame from its onset (cached by key)."""
    return PROFILES.get(key, timbre, pitch, velocity, hold, sr)


DRIVE_GRID = np.geomspace(1e-3, 1e3, 241)   # input RMS / clip level, for the drive's power curve


Calibration = tuple[float, float, np.ndarray]
_CALIBRATIONS: dict[tuple[str, int], Calibration] = {}   # by (timbre, rate): a few dozen at most


def timbre_calibration(name: str, sr: int) -> Calibration:
    """(crest, colour dB, drive curve) of a timbre, measured once per process on a reference note.

    ``crest`` is the reference note's peak over the square root of its loudest predicted
    frame power: it turns predicted power into a predicted peak (which sets the drive).
    ``colour dB`` is how much the cabinet and rotary change the level. The drive curve is
    the mean square of the amplifier's output (:func:`~aimusic.synth.guitar.amp_shape`) for
    the note's waveform at unit RMS, scaled to each RMS of :data:`DRIVE_GRID` (saturation
    squeezes loud frames, so the drive's effect on the level depends on each frame's level).
    Kept once measured (or once :func:`remember_calibrations` was given it: a copy of this
    process may be measuring it, :mod:`.tables`).
    """
    key = (name, sr)
    found = _CALIBRATIONS.get(key)
    if found is None:
        if tables.is_pending(("calibration", name, sr)):
            tables.collect()
            found = _CALIBRATIONS.get(key)
        if found is None:
            found = _CALIBRATIONS.setdefault(key, measure_calibration(name, sr))
    return found


def measure_calibration(name: str, sr: int) -> Calibration:
    """:func:`timbre_calibration` measured now, whatever is kept."""
    # Measured with one BLAS thread, as every render runs: a multi-threaded sum rounds differently,
    # and the calibration must not depend on who asked first (a server's warm-up or a render).
    with one_thread():
        return _calibrate(name, sr)


timbre_calibration.__wrapped__ = measure_calibration   # type: ignore[attr-defined] # the uncached function


def measure_calibrations(names: list[str], sr: int) -> dict[tuple[str, int], Calibration]:
    """:func:`measure_calibration` of each of ``names``, by (name, rate)."""
    return {(name, sr): measure_calibration(name, sr) for name in names}


def is_calibrated(name: str, sr: int) -> bool:
    """Whether the calibration of ``name`` at ``sr`` is kept already."""
    return (name, sr) in _CALIBRATIONS


def remember_calibrations(measured: dict[tuple[str, int], Calibration]) -> None:
    """Keep calibrations measured elsewhere (by :func:`measure_calibrations` in a copy of this process)."""
    for key, value in measured.items():
        _CALIBRATIONS.setdefault(key, value)


tables.keep_with("calibration", remember_calibrations)


def _calibrate(name: str, sr: int) -> tuple[float, float, np.ndarray]:
    from dataclasses import replace

    from .colour import colour_whole  # the colour stage imports this module

    timbre = get_timbre(name)
    hold = int(0.5 * sr)
    y = render_note(timbre, 60, 1.0, hold, sr=sr, rng=np.random.default_rng(0)).astype(np.float32)
    peak = float(np.max(np.abs(y)))
    predicted = _profile(timbre, 60, 1.0, hold, sr=sr)
    crest = peak / max(float(np.sqrt(np.max(predicted))), 1e-12)
    raw = stem_level_db(y, sr=sr)
    coloured = stem_level_db(colour_whole(y.copy(), replace(timbre, amp=""), sr=sr, ref=peak), sr=sr)
    colour_db = (coloured - raw) if np.isfinite(raw) and np.isfinite(coloured) else 0.0
    curve = np.zeros(0)
    if timbre.amp:
        w = y[:hold // 2].astype(np.float64)
        w = w / max(float(np.sqrt(np.mean(w ** 2))), 1e-12)
        curve = np.array([np.mean(amp_shape(s * w, timbre.amp, sr=sr).astype(np.float64) ** 2)
                          for s in DRIVE_GRID])
    return crest, colour_db, curve


def driven_power(power: np.ndarray, curve: np.ndarray, *, ref: float, drive: float) -> np.ndarray:
    """Frame powers after the amplifier (input scaled by ``drive_gain(drive) / ref``, output by ``ref``)."""
    rms = np.sqrt(power) * drive_gain(drive) / max(ref, 1e-12)
    return ref ** 2 * np.interp(np.log(np.maximum(rms, 1e-30)), np.log(DRIVE_GRID), curve, left=0.0)


def spread(profiles: list[np.ndarray], starts: np.ndarray, weights: np.ndarray, *, sr: int,
           n_frames: int, root: bool = False) -> np.ndarray:
    """Sum ``weights[i] * profiles[i]`` (or of their square roots) placed at ``starts`` onto frames."""
    out = np.zeros(n_frames + 1, dtype=np.float64)
    if not profiles:
        return out[:n_frames]
    f = frame_length(sr)
    lengths = np.array([p.size for p in profiles], dtype=np.int64)
    values = np.concatenate(profiles)
    if root:
        values = np.sqrt(values)
    note = np.repeat(np.arange(len(profiles)), lengths)
    within = np.arange(values.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    frame = (np.repeat(starts, lengths) + (within + 0.5) * f) // f
    frame = np.minimum(frame.astype(np.int64), n_frames)
    np.add.at(out, frame, values * weights[note])
    return out[:n_frames]


__all__ = ["FRAME_S", "envelope_at", "frame_length", "frame_power", "gated_level_db", "driven_power",
           "is_calibrated", "measure_calibration", "measure_calibrations", "note_power", "remember_calibrations",
           "spread", "stem_level_db", "timbre_calibration"]
