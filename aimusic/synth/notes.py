"""Rendered notes and drum hits, each synthesized once and kept per process.

A note that repeats within a render (same instrument, pitch, velocity bucket and held length)
is rendered once and added again (:class:`RenderNotes`, behind it a small per-process cache),
and a drum hit is keyed by piece, velocity layer and one of a few round-robin variants, so a
four-minute groove costs a handful of syntheses. Both caches are bounded by bytes (:data:`NOTE_CACHE_MB`,
:data:`DRUM_CACHE_MB`), not by a count of entries: a crash cymbal's hit is 30 times a side
stick's, and every gunicorn worker keeps caches of its own.
"""
from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from ..errors import ParameterError
from ..score import Score, TempoMap, Track
from ..theory import parse_key
from .drums import get_kit, render_hit
from .instruments import Timbre
from .voice import render_note

VELOCITY_BUCKETS = 8       # timbre (brightness) changes in steps of 1/8 velocity
HOLD_QUANTUM_S = 0.005     # held lengths rounded to 5 ms for the note cache
# Rendered notes kept across renders (per process). Small on purpose: the feel varies every
# note's held length and velocity, so a new request almost never plays a note an earlier one
# did (measured: 0 hits in 6,733 lookups over 36 requests of random seeds, 42 in 7,373 at one
# tempo); the repeats inside a render are kept by RenderNotes. It serves the same request again.
NOTE_CACHE_MB = 8
LONG_RENDER_CACHE_MB = 8   # ... while a long render is running (its output needs the room)
LONG_RENDER_S = 60.0       # a render longer than this is long
RENDER_NOTES_MB = 24       # rendered notes kept within one render for their later repeats
DRUM_CACHE_MB = 32         # drum hits kept across renders (per process); one render plays 3-6 MB of them


class NoteCache:
    """Rendered notes by (instrument, pitch, velocity bucket, held length, rate), LRU by bytes.

    A note is a pure function of its key, so keeping it across renders changes no output,
    only the time: a worker that has played a style before has most of its notes already.
    Thread-safe; arrays are stored read-only. :data:`DRUM_CACHE` is one too, of drum hits.
    """

    def __init__(self, max_bytes: int, long_max_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.long_max_bytes = max_bytes if long_max_bytes is None else long_max_bytes
        self._long = 0
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
        """Keep ``y``, evicting the least recently used notes beyond the budget."""
        if y.nbytes > self.max_bytes:
            return
        y.setflags(write=False)
        with self._lock:
            if key in self._items:
                return
            self._items[key] = y
            self.bytes += y.nbytes
            self._evict()

    def _evict(self) -> None:
        limit = min(self.max_bytes, self.long_max_bytes) if self._long else self.max_bytes
        while self.bytes > limit:
            _, old = self._items.popitem(last=False)
            self.bytes -= old.nbytes

    @contextmanager
    def making_room(self, long: bool) -> Iterator[None]:
        """While a ``long`` render runs, keep at most ``long_max_bytes`` (its output is large)."""
        if not long:
            yield
            return
        with self._lock:
            self._long += 1
            self._evict()
        try:
            yield
        finally:
            with self._lock:
                self._long -= 1

    def clear(self) -> None:
        """Forget every note (benchmarks measure cold renders with this)."""
        with self._lock:
            self._items.clear()
            self.bytes = 0


NOTE_CACHE = NoteCache(max_bytes=NOTE_CACHE_MB << 20, long_max_bytes=LONG_RENDER_CACHE_MB << 20)
DRUM_CACHE = NoteCache(max_bytes=DRUM_CACHE_MB << 20)


def velocity_gain(velocity: float | np.ndarray) -> float | np.ndarray:
    """Amplitude for a velocity: a power curve, about -10 dB at half velocity."""
    if isinstance(velocity, np.ndarray):
        return velocity ** 1.6
    return float(velocity) ** 1.6


def note_seed(*parts: object) -> list[int]:
    """Stable seed words for a note's Generator (no global state, same note -> same samples)."""
    return [zlib.crc32(str(p).encode()) for p in parts]


def onsets(track: Track, tempo: TempoMap, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Start sample and held length (>= 1) of every note of ``track``."""
    starts = np.array([n.start for n in track.notes], dtype=np.float64)
    ends = np.array([n.end for n in track.notes], dtype=np.float64)
    s = np.rint(tempo.seconds(starts) * sr).astype(np.int64)
    e = np.rint(tempo.seconds(ends) * sr).astype(np.int64)
    return s, np.maximum(e - s, 1)


def note_key(instrument: str, pitch: int, velocity: float, hold: int, *, sr: int) -> tuple:
    """Cache key of a pitched note: velocity in buckets, held length in 5 ms steps."""
    quantum = max(int(HOLD_QUANTUM_S * sr), 1)
    bucket = max(1, round(velocity * VELOCITY_BUCKETS))
    return (instrument, pitch, bucket, max(1, int(round(hold / quantum))), sr)


def key_velocity_hold(key: tuple) -> tuple[float, int]:
    """The velocity and held samples a note key stands for."""
    quantum = max(int(HOLD_QUANTUM_S * key[4]), 1)
    return key[2] / VELOCITY_BUCKETS, key[3] * quantum


def pitched_note(key: tuple, timbre: Timbre) -> np.ndarray:
    """The rendered note for ``key`` (from :data:`NOTE_CACHE`, or synthesized and kept)."""
    y = NOTE_CACHE.get(key)
    if y is None:
        velocity, hold = key_velocity_hold(key)
        rng = np.random.default_rng(note_seed(*key[:4]))
        y = render_note(timbre, key[1], velocity, hold, sr=key[4], rng=rng)
        NOTE_CACHE.put(key, y)
    return y


class RenderNotes:
    """The pitched notes of one render, each kept only while a later note of it repeats it.

    The whole note list is known before the first chunk, so this store does what an LRU
    cannot: over budget it drops the note whose next use is furthest ahead (Belady's rule),
    and a note with no later use is let go at once. Behind it, :data:`NOTE_CACHE` keeps
    notes across renders. Either way a note's samples are the same, only the time differs.
    """

    def __init__(self, uses: dict[tuple, list[int]], *, max_bytes: int = RENDER_NOTES_MB << 20) -> None:
        self.uses = {k: sorted(v) for k, v in uses.items()}
        self.max_bytes = max_bytes
        self.bytes = 0
        self._count: dict[tuple, int] = {}
        self._kept: dict[tuple, tuple[int, np.ndarray]] = {}

    def get(self, key: tuple, timbre: Timbre) -> np.ndarray:
        """The note for ``key``; call once per use, in the order of :attr:`uses`."""
        k = self._count.get(key, 0)
        self._count[key] = k + 1
        kept = self._kept.pop(key, None)
        if kept is not None:
            self.bytes -= kept[1].nbytes
            y = kept[1]
        else:
            y = pitched_note(key, timbre)
        later = self.uses.get(key, ())
        if k + 1 < len(later):
            self._kept[key] = (later[k + 1], y)
            self.bytes += y.nbytes
            while self.bytes > self.max_bytes:
                furthest = max(self._kept, key=lambda q: self._kept[q][0])
                self.bytes -= self._kept.pop(furthest)[1].nbytes
        return y


def drum_hit(kit: str, pitch: int, layer: int, variant: int, *, sr: int, tune: int = 0) -> np.ndarray:
    """One drum hit (read-only), from :data:`DRUM_CACHE` or synthesized and kept there.

    Hits depend on nothing but their key, and every groove reuses them. Close to 3,000 exist
    (kits x pieces x 4 layers x 3 variants, the shells in 12 tunings: about 300 MB at 44.1 kHz)
    while one render plays a single kit at one tuning (3-6 MB of hits), so the cache keeps the
    most recently used :data:`DRUM_CACHE_MB`; an evicted hit is synthesized again, sample for
    sample the same.
    """
    key = (kit, pitch, layer, variant, sr, tune)
    hit = DRUM_CACHE.get(key)
    if hit is None:
        rng = np.random.default_rng(note_seed(kit, pitch, layer, variant))
        hit = render_hit(get_kit(kit)[pitch], layer, sr=sr, rng=rng, tune=tune)
        hit.setflags(write=False)
        DRUM_CACHE.put(key, hit)
    return hit


def score_tonic(score: Score) -> int | None:
    """The tonic pitch class of the score's key, or None when it names no key we know."""
    try:
        return parse_key(score.key_name).tonic
    except (ParameterError, AttributeError, TypeError):
        return None
