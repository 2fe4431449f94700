"""Measurements a listener cares about, made on rendered audio: tempo, key, swing, clicks.

Used by the tests and the audio report in bench/ to check what the pipeline promises;
librosa is imported only when a measurement needs it.
"""
from __future__ import annotations

import numpy as np

# Krumhansl-Kessler key profiles (probe-tone ratings), tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Average the channels of an (n, channels) array."""
    return audio.mean(axis=1) if audio.ndim == 2 else audio


def estimate_tempo(audio: np.ndarray, *, sr: int) -> float:
    """Tempo in BPM that librosa's beat tracker hears (median inter-beat interval)."""
    import librosa

    y = to_mono(audio).astype(np.float32)
    onset_env = librosa.onset.onset_strength(y=y, sr=sr, aggregate=np.median)
    _, beats = librosa.beat.beat_track(onset_envelope=onset_env, sr=sr, units="time")
    if len(beats) < 4:
        return 0.0
    return float(60.0 / np.median(np.diff(beats)))


def estimate_key(audio: np.ndarray, *, sr: int) -> tuple[int, str]:
    """(tonic pitch class, "major"/"minor") whose profile best matches the mean chroma."""
    import librosa

    y = to_mono(audio).astype(np.float32)
    chroma = librosa.feature.chroma_cqt(y=y, sr=sr).mean(axis=1)
    best = (-2.0, 0, "major")
    for tonic in range(12):
        for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
            r = float(np.corrcoef(chroma, np.roll(profile, tonic))[0, 1])
            if r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2]


def click_positions(audio: np.ndarray, *, sr: int, ratio: float = 12.0) -> np.ndarray:
    """Sample indices where the sample-to-sample jump is far above the local level.

    A click is a discontinuity: its first difference stands ``ratio`` times above the
    RMS of the first difference in the surrounding 10 ms.
    """
    y = to_mono(audio).astype(np.float64)
    d = np.abs(np.diff(y))
    win = max(1, int(0.01 * sr))
    local = np.sqrt(np.convolve(d ** 2, np.ones(win) / win, mode="same")) + 1e-4
    return np.flatnonzero(d > ratio * local)


def swing_ratio(audio: np.ndarray, *, sr: int, tempo: float) -> tuple[float, int]:
    """(median beat phase of off-beat onsets, how many) heard in the audio at a known tempo.

    0.5 is straight eighths; a swung off-beat lands later (about 0.6-0.67). The onset
    detector's latency is measured on the on-beat onsets and taken off first.
    """
    import librosa

    onsets = librosa.onset.onset_detect(y=to_mono(audio).astype(np.float32), sr=sr, units="time", hop_length=256)
    phase = onsets * tempo / 60.0
    near_beat = phase - np.round(phase)
    latency = float(np.median(near_beat[np.abs(near_beat) < 0.15])) if np.any(np.abs(near_beat) < 0.15) else 0.0
    position = (phase - latency) % 1.0
    off = position[(position > 0.3) & (position < 0.9)]
    return (float(np.median(off)) if off.size else 0.0), int(off.size)
