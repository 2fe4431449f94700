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


def onset_rate(audio: np.ndarray, *, sr: int) -> float:
    """Onsets per second that librosa's default onset detector hears in the mono mix.

    The detector peak-picks the spectral flux against 7 % of the track's strongest onset, so
    a sustained, reverberant texture with no strong attack is read as a stream of small
    onsets: the rate compares arrangements of one piece, it does not count its notes.
    """
    import librosa

    y = to_mono(audio).astype(np.float32)
    return len(librosa.onset.onset_detect(y=y, sr=sr)) / (y.shape[0] / sr)


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


CLICK_BLOCK = 1024        # samples per block of the click detector's local level
CLICK_RATIO = 30.0        # a click's second difference stands this far above the local median
CLICK_FLOOR = 0.02        # ... and at least this far in full-scale units
CLICK_MERGE_S = 0.002     # detections closer than this are one click


def click_positions(audio: np.ndarray, *, sr: int, ratio: float = CLICK_RATIO, floor: float = CLICK_FLOOR,
                    block: int = CLICK_BLOCK, merge_s: float = CLICK_MERGE_S) -> np.ndarray:
    """Sample indices of clicks: second-difference spikes far above their neighbourhood.

    A click is a step or a corner in the waveform, which shows in the second difference
    ``|x[n+1] - 2 x[n] + x[n-1]|`` as an isolated spike; smooth music, however loud or
    bright, keeps that quantity near its local typical value. The local value is the
    median of the second difference in each 1024-sample block, the largest of the
    sample's own block and the blocks either side (so the first block of a loud entry is
    measured against the entry itself). A sample counts when it exceeds ``ratio`` times
    that median and ``floor`` of full scale (so quiet noise floors do not count); detections within ``merge_s`` are
    one event, reported at its first sample. Each channel is examined (a click panned to
    one side is still a click).

    Parameters
    ----------
    audio : (n,) or (n, channels) array
        Audio in full-scale units.
    sr : int
        Sample rate.
    ratio, floor, block, merge_s
        Detector settings (defaults: 30x, 0.02 FS, 1024 samples, 2 ms).

    Returns
    -------
    numpy.ndarray
        Sorted int64 sample indices, one per click.
    """
    y = np.asarray(audio, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    hits: list[np.ndarray] = []
    for ch in range(y.shape[1]):
        d2 = np.zeros(y.shape[0])
        if y.shape[0] >= 3:
            d2[1:-1] = np.abs(y[2:, ch] - 2.0 * y[1:-1, ch] + y[:-2, ch])
        n_blocks = max(-(-d2.size // block), 1)
        padded = np.zeros(n_blocks * block)
        padded[:d2.size] = d2
        medians = np.median(padded.reshape(n_blocks, block), axis=1)
        edged = np.concatenate([medians[:1], medians, medians[-1:]])
        local = np.maximum(np.maximum(edged[:-2], edged[1:-1]), edged[2:])
        threshold = np.maximum(ratio * np.repeat(local, block)[:d2.size], floor)
        hits.append(np.flatnonzero(d2 > threshold))
    found = np.unique(np.concatenate(hits)) if hits else np.zeros(0, dtype=np.int64)
    if found.size == 0:
        return found.astype(np.int64)
    gap = max(int(merge_s * sr), 1)
    first = np.concatenate([[True], np.diff(found) > gap])
    return found[first].astype(np.int64)


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


def spectral_shape(y: np.ndarray, *, sr: int, rolloff: float = 0.85) -> tuple[float, float]:
    """(centroid Hz, roll-off Hz) of the power spectrum averaged over the frames that sound.

    Frames (2048 samples, hop 1024) more than 45 dB below the loudest are left out, so
    silence between phrases does not pull the figures down. The roll-off is the frequency
    under which ``rolloff`` of the power lies. These two numbers tell dark from bright.
    """
    x = to_mono(np.asarray(y, dtype=np.float64))
    n_fft, hop = 2048, 1024
    if x.size < n_fft:
        x = np.pad(x, (0, n_fft - x.size))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    energy = power.sum(axis=1)
    if not np.any(energy > 0):
        return 0.0, 0.0
    mean = power[energy > energy.max() * 10 ** -4.5].mean(axis=0)
    f = np.fft.rfftfreq(n_fft, 1.0 / sr)
    centroid = float(np.sum(f * mean) / np.sum(mean))
    cum = np.cumsum(mean)
    return centroid, float(f[np.searchsorted(cum, rolloff * cum[-1])])


def note_envelope_figures(y: np.ndarray, onsets: np.ndarray, *, sr: int,
                          span_s: float = 0.5) -> tuple[float, float]:
    """(median attack s, median decay dB/s) of the notes starting at sample ``onsets``.

    Each note's 2 ms RMS envelope is read from its onset to the next onset (at most
    ``span_s``): the attack is the time to 90 % of that stretch's peak, the decay the slope
    of a line fitted to the level in dB over the 150 ms after the peak (0 for a held tone,
    tens of dB/s for a plucked one). A part's character lives largely in these two.
    """
    x = to_mono(np.asarray(y, dtype=np.float64))
    win = max(int(0.002 * sr), 1)
    env = np.sqrt(np.convolve(x * x, np.ones(win) / win, mode="same"))
    starts = np.unique(np.asarray(onsets, dtype=np.int64))
    starts = starts[(starts >= 0) & (starts < x.size)]
    attacks, decays = [], []
    for i, s in enumerate(starts):
        stop = min(int(starts[i + 1]) if i + 1 < starts.size else x.size, s + int(span_s * sr), x.size)
        seg = env[s:stop]
        if seg.size < int(0.06 * sr) or seg.max() <= 1e-6:
            continue
        peak = int(np.argmax(seg))
        attacks.append(np.argmax(seg >= 0.9 * seg[peak]) / sr)
        tail = seg[peak:peak + int(0.15 * sr)]
        if tail.size >= int(0.04 * sr):
            level = 20.0 * np.log10(np.maximum(tail, 1e-9))
            decays.append(-np.polyfit(np.arange(tail.size) / sr, level, 1)[0])
    return (float(np.median(attacks)) if attacks else 0.0), (float(np.median(decays)) if decays else 0.0)


def partial_decays(y: np.ndarray, f0: float, *, sr: int, harmonics: int = 6, seconds: float = 0.6) -> np.ndarray:
    """Decay rate in dB/s of each of the first ``harmonics`` partials of one note at ``f0``.

    ``y`` starts at the note's onset. The level of harmonic ``h`` is read from a 4096-point
    STFT at ``h * f0`` and a line is fitted to it from its peak over ``seconds``; a plucked
    string's upper partials die faster than its fundamental, a sustained tone's do not.
    """
    x = to_mono(np.asarray(y, dtype=np.float64))[: int((seconds + 0.2) * sr)]
    n_fft, hop = 4096, 512
    if x.size < n_fft + hop:
        return np.zeros(harmonics)
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
    mag = np.abs(np.fft.rfft(frames, axis=1))
    f = np.fft.rfftfreq(n_fft, 1.0 / sr)
    t = np.arange(mag.shape[0]) * hop / sr
    rates = np.zeros(harmonics)
    for h in range(1, harmonics + 1):
        band = (f > h * f0 * 0.97) & (f < h * f0 * 1.03)
        if not np.any(band) or h * f0 > 0.45 * sr:
            continue
        level = 20.0 * np.log10(np.maximum(mag[:, band].max(axis=1), 1e-9))
        p = int(np.argmax(level))
        use = (t >= t[p]) & (t <= t[p] + seconds)
        if np.count_nonzero(use) >= 3:
            rates[h - 1] = -np.polyfit(t[use], level[use], 1)[0]
    return rates
