"""Rendered notes and drum hits, each synthesized once and kept per process.

Every note of one instrument, pitch, velocity bucket (and palm mute) is cut from one tone
(:func:`~aimusic.synth.voice.note_core`), rendered for the longest of them, whatever their held
lengths: each note is that tone's start under its own envelope (:class:`RenderNotes`, behind
it a small per-process cache of tones),
and a drum hit is keyed by piece, velocity layer and one of a few round-robin variants, so a
four-minute groove costs a handful of syntheses. Both caches are bounded by bytes (:data:`NOTE_CACHE_MB`,
:data:`DRUM_CACHE_MB`), not by a count of entries: a crash cymbal's hit is 30 times a side
stick's, and every gunicorn worker keeps caches of its own.
"""
from __future__ import annotations

import threading
import zlib
from collections import OrderedDict

import numpy as np

from ..blas import one_thread
from ..errors import ParameterError
from ..score import Score, TempoMap, Track
from ..theory import parse_key
from .drums import get_kit, render_hit
from .instruments import Timbre, get_timbre
from .voice import clipped_hold, finish_note, is_muted, note_core, rendered_length

VELOCITY_BUCKETS = 8       # timbre (brightness) changes in steps of 1/8 velocity
TONE_VARIANTS = 2          # round robin: successive notes of a pitch and velocity alternate between tones
HOLD_QUANTUM_S = 0.005     # held lengths rounded to 5 ms for the note cache
# Rendered notes kept across renders (per process). Small on purpose: the feel varies every
# note's held length and velocity, so a new request almost never plays a note an earlier one
# did (measured: 0 hits in 6,733 lookups over 36 requests of random seeds, 42 in 7,373 at one
# tempo); the repeats inside a render are kept by RenderNotes. Under four clients of random
# requests a render synthesized 124 tones at 8 MB, 124 at 2 MB and 106 at 64 MB: a bigger store
# buys no time, and every worker's RSS carries it.
NOTE_CACHE_MB = 2
RENDER_NOTES_MB = 48       # note tones kept within one render for their later notes
DRUM_CACHE_MB = 32         # drum hits kept across renders (per process); one render plays 3-6 MB of them


Kept = np.ndarray | tuple   # an array, or a tuple of arrays (or None)


def kept_bytes(value: Kept) -> int:
    """Bytes of an array, or of the arrays of a tuple (None counts nothing)."""
    if isinstance(value, tuple):
        return sum(v.nbytes for v in value if v is not None)
    return value.nbytes


class NoteCache:
    """Note tones by :func:`tone_key` (instrument, pitch, velocity bucket, mute, rate), LRU by bytes.

    A tone is a pure function of its key (and a longer one starts as a shorter one), so keeping
    it across renders changes no output, only the time (a request played again finds its
    tones). Thread-safe; arrays are stored read-only.
    :data:`DRUM_CACHE` is one too, of drum hits.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[tuple, Kept] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Kept | None:
        """The cached value, or None; a hit becomes the most recently used."""
        with self._lock:
            y = self._items.get(key)
            if y is not None:
                self._items.move_to_end(key)
            return y

    def put(self, key: tuple, y: Kept) -> None:
        """Keep ``y`` (read-only from now), evicting the least recently used beyond the budget.

        A value kept already for ``key`` stays, unless ``y`` is larger (a longer tone of the
        same note, whose start is the same): then ``y`` replaces it.
        """
        size = kept_bytes(y)
        if size > self.max_bytes:
            return
        for v in (y if isinstance(y, tuple) else (y,)):
            if v is not None:
                v.setflags(write=False)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                if kept_bytes(old) >= size:
                    self._items[key] = old
                    return
                self.bytes -= kept_bytes(old)
            self._items[key] = y
            self.bytes += size
            self._evict()

    def _evict(self) -> None:
        while self.bytes > self.max_bytes:
            _, old = self._items.popitem(last=False)
            self.bytes -= kept_bytes(old)

    def clear(self) -> None:
        """Forget every note (benchmarks measure cold renders with this)."""
        with self._lock:
            self._items.clear()
            self.bytes = 0


NOTE_CACHE = NoteCache(max_bytes=NOTE_CACHE_MB << 20)
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


def note_key(instrument: str, pitch: int, velocity: float, hold: int, *, sr: int, variant: int = 0) -> tuple:
    """Key of a pitched note: velocity in buckets, held length in 5 ms steps, and its tone's variant.

    (instrument, pitch, velocity bucket, hold steps, rate, variant): ``variant`` (0 to
    :data:`TONE_VARIANTS` - 1) picks one of a few tones of the same pitch and velocity, as a
    sampler's round robin does, so repeated notes are not copies of each other.
    """
    quantum = max(int(HOLD_QUANTUM_S * sr), 1)
    return (instrument, pitch, velocity_bucket(velocity), max(1, int(round(hold / quantum))), sr,
            variant % TONE_VARIANTS)


def velocity_bucket(velocity: float) -> int:
    """Which of the :data:`VELOCITY_BUCKETS` (1 to 8) a velocity in (0, 1] plays."""
    return max(1, round(velocity * VELOCITY_BUCKETS))


def key_velocity_hold(key: tuple) -> tuple[float, int]:
    """The velocity and held samples a note key stands for."""
    quantum = max(int(HOLD_QUANTUM_S * key[4]), 1)
    return key[2] / VELOCITY_BUCKETS, key[3] * quantum


def tone_key(key: tuple, timbre: Timbre) -> tuple:
    """The tone a pitched note key is cut from: (instrument, pitch, velocity bucket, palm mute, rate, variant)."""
    hold = clipped_hold(timbre, key_velocity_hold(key)[1], sr=key[4])
    return (key[0], key[1], key[2], is_muted(timbre, hold, sr=key[4]), key[4], key[5])


def note_length(key: tuple, timbre: Timbre) -> int:
    """Samples of the note for ``key``, release included (:func:`~aimusic.synth.voice.rendered_length`)."""
    return rendered_length(timbre, key[1], key_velocity_hold(key)[1], sr=key[4])


def note_tone(tkey: tuple, timbre: Timbre, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The tone and transient for :func:`tone_key` ``tkey``, at least ``n`` samples long.

    From :data:`NOTE_CACHE` if it keeps one that long, else synthesized (the same start as a
    shorter one, to the bit) and kept. Its generator is seeded by the key alone, never the length.
    """
    found = NOTE_CACHE.get(tkey)
    if found is not None and found[0].shape[0] >= n:
        return found   # type: ignore[return-value]
    rng = np.random.default_rng(note_seed(*tkey[:4], tkey[5]))
    with one_thread():   # whoever asks: a multi-threaded matrix product rounds otherwise, and this is kept
        made = note_core(timbre, tkey[1], tkey[2] / VELOCITY_BUCKETS, n, sr=tkey[4], rng=rng, muted=tkey[3])
    NOTE_CACHE.put(tkey, made)
    return made


class RenderNotes:
    """The pitched notes of one render, each finished from a tone kept while a later note needs it.

    The whole note list is known before the first chunk, so the tone of every pitch and
    velocity is rendered once at the longest length any of its notes needs (:func:`note_tone`),
    and kept only while a later note is cut from it: over budget this store drops the tone
    whose next use is furthest ahead (Belady's rule), one with no later use is let go at once.
    Behind it, :data:`NOTE_CACHE` keeps tones across renders. Either way a note's samples
    are the same, only the time differs.
    """

    def __init__(self, uses: dict[tuple, list[int]], *, max_bytes: int = RENDER_NOTES_MB << 20) -> None:
        self.tone_of: dict[tuple, tuple] = {}
        self.longest: dict[tuple, int] = {}
        tone_uses: dict[tuple, list[int]] = {}
        for key, starts in uses.items():
            timbre = get_timbre(key[0])
            tkey = self.tone_of[key] = tone_key(key, timbre)
            tone_uses.setdefault(tkey, []).extend(starts)
            self.longest[tkey] = max(self.longest.get(tkey, 0), note_length(key, timbre))
        self.uses = {k: sorted(v) for k, v in tone_uses.items()}
        self.max_bytes = max_bytes
        self.bytes = 0
        self._count: dict[tuple, int] = {}
        self._kept: dict[tuple, tuple[int, tuple]] = {}

    def tone(self, key: tuple, timbre: Timbre) -> tuple[np.ndarray, np.ndarray | None]:
        """The tone the note ``key`` is cut from; call once per use, in the order of :attr:`uses`."""
        tkey = self.tone_of.get(key)
        if tkey is None:   # a note nobody announced: made alone
            return note_tone(tone_key(key, timbre), timbre, note_length(key, timbre))
        k = self._count.get(tkey, 0)
        self._count[tkey] = k + 1
        kept = self._kept.pop(tkey, None)
        if kept is not None:
            self.bytes -= kept_bytes(kept[1])
            made = kept[1]
        else:
            made = note_tone(tkey, timbre, self.longest[tkey])
        later = self.uses.get(tkey, ())
        if k + 1 < len(later):
            self._kept[tkey] = (later[k + 1], made)
            self.bytes += kept_bytes(made)
            while self.bytes > self.max_bytes:
                furthest = max(self._kept, key=lambda q: self._kept[q][0])
                self.bytes -= kept_bytes(self._kept.pop(furthest)[1])
        return made   # type: ignore[return-value]

    def get(self, key: tuple, timbre: Timbre) -> np.ndarray:
        """The finished note for ``key`` (a new array); call once per use, in onset order."""
        tone, burst = self.tone(key, timbre)
        n = note_length(key, timbre)
        hold = clipped_hold(timbre, key_velocity_hold(key)[1], sr=key[4])
        return finish_note(tone, burst, timbre, hold, n, sr=key[4])


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
        with one_thread():   # as a tone: the same samples whoever asks first
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
