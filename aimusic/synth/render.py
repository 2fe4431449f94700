"""Score -> stems: every track rendered note by note into its own preallocated mono buffer.

A note that repeats (same instrument, pitch, velocity bucket and held length) is rendered
once and added again (kept in a bounded per-process cache), and a drum hit is keyed by
piece, velocity layer and one of a few round-robin variants, so a four-minute groove costs a
handful of syntheses.
"""
from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from functools import lru_cache

import numpy as np
from scipy import signal

from ..errors import ParameterError
from ..score import CLOSED_HAT, OPEN_HAT, PEDAL_HAT, Score, TempoMap, Track
from ..theory import parse_key
from .additive import raised_cosine
from .drums import TUNED_BELOW_HZ, get_kit, kit_tuning, render_hit, velocity_layer
from .instruments import Timbre, get_timbre
from .voice import render_note

VELOCITY_BUCKETS = 8       # timbre (brightness) changes in steps of 1/8 velocity
HOLD_QUANTUM_S = 0.005     # held lengths rounded to 5 ms for the note cache
DRUM_VARIANTS = 3          # round-robin noise variants per piece and layer
STEM_CHUNK = 1 << 17       # samples per chunk of stem-level processing
CHOKE_FADE_S = 0.008      # how fast a closing hi-hat silences an open one
NOTE_CACHE_MB = 48         # rendered notes kept across renders (per process)


class NoteCache:
    """Rendered notes by (instrument, pitch, velocity bucket, held length, rate), LRU by bytes.

    A note is a pure function of its key, so keeping it across renders changes no output,
    only the time: a worker that has played a style before has most of its notes already.
    Thread-safe; arrays are stored read-only.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> np.ndarray | None:
        """The cached note, or None; a hit becomes the most recently used."""
        with self._lock:
            y = self._items.get(key)
            if y is not None:
                self._items.move_to_end(key)
            return y

    def put(self, key: tuple, y: np.ndarray) -> None:
        """Keep ``y``, evicting the least recently used notes beyond ``max_bytes``."""
        if y.nbytes > self.max_bytes:
            return
        y.setflags(write=False)
        with self._lock:
            if key in self._items:
                return
            self._items[key] = y
            self.bytes += y.nbytes
            while self.bytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self.bytes -= old.nbytes

    def clear(self) -> None:
        """Forget every note (benchmarks measure cold renders with this)."""
        with self._lock:
            self._items.clear()
            self.bytes = 0


NOTE_CACHE = NoteCache(max_bytes=NOTE_CACHE_MB << 20)


def velocity_gain(velocity: float) -> float:
    """Amplitude for a velocity: a power curve, about -10 dB at half velocity."""
    return float(velocity) ** 1.6


def _seed(*parts: object) -> list[int]:
    """Stable seed words for a note's Generator (no global state, same note -> same samples)."""
    return [zlib.crc32(str(p).encode()) for p in parts]


def _place(buf: np.ndarray, y: np.ndarray, start: int, gain: float) -> None:
    """Add ``gain * y`` into ``buf`` at ``start``, clipped to the buffer."""
    if start >= buf.shape[0]:
        return
    m = min(y.shape[0], buf.shape[0] - start)
    buf[start:start + m] += np.float32(gain) * y[:m]


def _onsets(track: Track, tempo: TempoMap, sr: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.array([n.start for n in track.notes], dtype=np.float64)
    ends = np.array([n.end for n in track.notes], dtype=np.float64)
    s = np.rint(tempo.seconds(starts) * sr).astype(np.int64)
    e = np.rint(tempo.seconds(ends) * sr).astype(np.int64)
    return s, np.maximum(e - s, 1)


@lru_cache(maxsize=1024)
def drum_hit(kit: str, pitch: int, layer: int, variant: int, *, sr: int, tune: int = 0) -> np.ndarray:
    """One drum hit, synthesized once per process: hits depend on nothing but their key.

    A few hundred exist in practice (kits x pieces x 4 layers x 3 variants, tuned pieces
    in up to 12 keys; bounded by the LRU) and every groove reuses them, so they are kept
    across renders (read-only).
    """
    rng = np.random.default_rng(_seed(kit, pitch, layer, variant))
    hit = render_hit(get_kit(kit)[pitch], layer, sr=sr, rng=rng, tune=tune)
    hit.setflags(write=False)
    return hit


def render_drums(track: Track, tempo: TempoMap, *, sr: int, n_samples: int, tonic: int | None = None) -> np.ndarray:
    """The drum track as one mono stem, hits synthesized once per piece/layer/variant.

    With the key's ``tonic`` pitch class the kick and toms are tuned to it.
    """
    kit = get_kit(track.instrument)
    tune = kit_tuning(kit, tonic)
    buf = np.zeros(n_samples, dtype=np.float32)
    if not track.notes:
        return buf
    starts, _ = _onsets(track, tempo, sr)
    pitches = np.array([n.pitch for n in track.notes])
    closing = np.sort(starts[np.isin(pitches, (CLOSED_HAT, PEDAL_HAT))])
    fade = int(CHOKE_FADE_S * sr)
    count: dict[int, int] = {}
    for note, start in zip(track.notes, starts):
        spec = kit.get(note.pitch)
        if spec is None:
            raise ParameterError("note.pitch", f"drum piece {note.pitch} is not in {track.instrument}")
        layer = velocity_layer(note.velocity)
        variant = count.get(note.pitch, 0) % DRUM_VARIANTS
        count[note.pitch] = count.get(note.pitch, 0) + 1
        tuned = tune if any(f < TUNED_BELOW_HZ for f, _, _ in spec.tones) else 0
        hit = drum_hit(track.instrument, note.pitch, layer, variant, sr=sr, tune=tuned)
        if note.pitch == OPEN_HAT:  # the next closed or pedal hat chokes a ringing open hat
            later = closing[np.searchsorted(closing, start, side="right"):]
            if later.size and later[0] - start + fade < hit.shape[0]:
                keep = int(later[0] - start)
                hit = hit[:keep + fade].copy()
                hit[keep:] *= raised_cosine(fade)[::-1]
        _place(buf, hit, int(start), velocity_gain(note.velocity))
    return buf


def render_pitched(track: Track, tempo: TempoMap, *, sr: int, n_samples: int) -> np.ndarray:
    """A pitched track as one mono stem (before stem colour such as drive or rotary)."""
    timbre = get_timbre(track.instrument)
    buf = np.zeros(n_samples, dtype=np.float32)
    if not track.notes:
        return buf
    starts, holds = _onsets(track, tempo, sr)
    quantum = max(int(HOLD_QUANTUM_S * sr), 1)
    for note, start, hold in zip(track.notes, starts, holds):
        bucket = max(1, round(note.velocity * VELOCITY_BUCKETS))
        hold_q = max(1, int(round(hold / quantum)))
        key = (track.instrument, note.pitch, bucket, hold_q, sr)
        y = NOTE_CACHE.get(key)
        if y is None:
            rng = np.random.default_rng(_seed(*key[:4]))
            y = render_note(timbre, note.pitch, bucket / VELOCITY_BUCKETS, hold_q * quantum, sr=sr, rng=rng)
            NOTE_CACHE.put(key, y)
        _place(buf, y, int(start), velocity_gain(note.velocity))
    return colour_stem(buf, timbre, sr=sr)


def soft_clip(x: np.ndarray) -> np.ndarray:
    """Odd 5th-order polynomial saturation, flat (C2-smooth) where it meets +-1.

    A polynomial of order 5 creates harmonics up to 5x its input band only, so a guitar
    band-limited to ~4.5 kHz distorts without folding aliases back down.
    """
    u = np.clip(x, -1.0, 1.0)
    u2 = u * u
    return u * (15.0 - 10.0 * u2 + 3.0 * u2 * u2) / 8.0


def _rotary(y: np.ndarray, *, sr: int, depth: float, rate: float = 6.2) -> np.ndarray:
    """Rotary speaker: the horn's Doppler pitch wobble plus its tremolo, chunk by chunk."""
    n = y.shape[0]
    if n < 2:
        return y
    out = np.empty_like(y)
    ratio = 2.0 ** (7.0 * depth / 1200.0) - 1.0
    swing = np.float32(ratio / (2.0 * np.pi * rate) * sr)          # samples of excursion
    w = np.float32(2.0 * np.pi * rate / sr)
    for c0 in range(0, n, STEM_CHUNK):
        pos = np.arange(c0, min(c0 + STEM_CHUNK, n))
        phase = (pos % int(round(sr / rate * 1000))).astype(np.float32) * w   # bounded: keeps float32 exact
        offset = swing * np.sin(phase)
        whole = np.floor(offset)
        frac = offset - whole
        idx = np.clip(pos + whole.astype(np.int64), 0, max(n - 2, 0))   # the stem's edges are silent
        warped = y[idx] * (1.0 - frac) + y[idx + 1] * frac
        out[c0:c0 + pos.size] = warped * (1.0 - np.float32(0.18 * depth) * (1.0 + np.sin(phase)))
    return out


def colour_stem(y: np.ndarray, timbre: Timbre, *, sr: int) -> np.ndarray:
    """Stem-level character of an instrument: amp drive + cabinet, or rotary speaker.

    Works in place, chunk by chunk (filter state carried over), so a five-minute stem
    needs no full-length temporaries.
    """
    if timbre.drive:
        ref = float(np.max(np.abs(y)))
        if ref > 0.0:
            pre = np.float32((1.0 + 7.0 * timbre.drive) / ref)
            for c0 in range(0, y.shape[0], STEM_CHUNK):
                seg = y[c0:c0 + STEM_CHUNK]
                seg[:] = soft_clip(seg * pre) * np.float32(ref)
    if timbre.cabinet_hz:
        sos = np.vstack([signal.butter(4, timbre.cabinet_hz, btype="lowpass", fs=sr, output="sos"),
                         signal.butter(1, 90.0, btype="highpass", fs=sr, output="sos")])
        state = np.zeros((sos.shape[0], 2))
        for c0 in range(0, y.shape[0], STEM_CHUNK):
            seg = y[c0:c0 + STEM_CHUNK]
            filtered, state = signal.sosfilt(sos, seg, zi=state)
            seg[:] = filtered
    if timbre.rotary:
        y = _rotary(y, sr=sr, depth=timbre.rotary)
    return y


def render_track(track: Track, tempo: TempoMap, *, sr: int, n_samples: int, tonic: int | None = None) -> np.ndarray:
    """One track as a mono float32 stem of exactly ``n_samples`` (drums tuned to ``tonic``)."""
    if track.is_drums:
        return render_drums(track, tempo, sr=sr, n_samples=n_samples, tonic=tonic)
    return render_pitched(track, tempo, sr=sr, n_samples=n_samples)


def score_tonic(score: Score) -> int | None:
    """The tonic pitch class of the score's key, or None when it names no key we know."""
    try:
        return parse_key(score.key_name).tonic
    except (ParameterError, AttributeError, TypeError):
        return None


def render_stems(score: Score, *, sr: int, n_samples: int) -> dict[str, np.ndarray]:
    """One mono float32 stem per track, keyed by track.name, each exactly n_samples long."""
    tonic = score_tonic(score)
    return {t.name: render_track(t, score.tempo, sr=sr, n_samples=n_samples, tonic=tonic) for t in score.tracks}
