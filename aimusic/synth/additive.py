"""The additive engine: a note as a sum of decaying sinusoidal partials under an envelope.

A partial is ``a_p * exp(-d_p t) * sin(w_p t + phi_p)``. Evaluating that sine for every
partial at every sample costs one transcendental per partial-sample, which is the hot path
of the whole service. Splitting time into blocks, ``t = k*B + j``, turns the sum into two
small matrix products (angle addition and ``exp(a+b) = exp(a)exp(b)``)::

    sum_p A_pk [sin(W_pk) cos(w_p j) + cos(W_pk) sin(w_p j)] exp(-d_p j)

with ``A_pk`` the amplitude at the block start (where a filter envelope may also act) and
``W_pk`` the phase there. The result is exact for fixed-frequency partials, phase-continuous
across blocks, and runs in BLAS instead of ``np.sin``. Frequency modulation (vibrato) is
then a time warp of the finished note, which moves every partial in proportion.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache

import numpy as np

BLOCK = 128            # samples per block of the factorised sum
SEGMENT = 32           # blocks per matrix product (4096 samples): every product has the same shape
NYQUIST_MARGIN = 0.96  # keep partials below this share of Nyquist (room for vibrato/detune)
SILENCE_LN = 9.2       # a partial decayed by exp(-9.2) (-80 dB) is no longer computed
BASIS_CACHE_MB = 4     # per-block bases of partial sets kept per process (~1 KB a partial)


def audible_partials(freqs: np.ndarray, *, sr: int, margin: float = NYQUIST_MARGIN) -> np.ndarray:
    """Boolean mask of partials strictly below ``margin * sr / 2``.

    Dropped per note: a partial at or above Nyquist would fold back as an inharmonic alias.
    """
    return (freqs > 0.0) & (freqs < margin * 0.5 * sr)


class ArrayLRU:
    """Arrays (or tuples of arrays) by key, least recently used first out, bounded by bytes; thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _size(value: object) -> int:
        return sum(v.nbytes for v in value) if isinstance(value, tuple) else value.nbytes  # type: ignore[attr-defined]

    def get(self, key: tuple) -> object | None:
        """The value kept for ``key``, or None; a hit becomes the most recently used."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple, value: object) -> None:
        """Keep ``value`` for ``key`` (replacing what was kept), evicting the oldest beyond the budget."""
        size = self._size(value)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= self._size(old)
            if size > self.max_bytes:
                return
            self._items[key] = value
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self.bytes -= self._size(old)


_BASES = ArrayLRU(BASIS_CACHE_MB << 20)


def partial_basis(freqs: np.ndarray, decays: np.ndarray, *, sr: int) -> tuple[np.ndarray, ...]:
    """(order, decay per sample, rad per sample, basis, steps) of a set of partials.

    The partials sorted slowest-decaying first; each one's first block of ``BLOCK`` samples,
    sin and cos times its decay (float32, ``(2 P, BLOCK)``: the two rows of each partial in
    turn), that :func:`sum_partials` weights by the amplitude and phase at each block start;
    and ``steps`` (complex64, ``(SEGMENT, P)``), each partial's decay and turn from a
    segment's first block to each of its blocks. They depend on the frequencies and decays
    alone, not on the note's length or phases, so they are kept (read-only) by content: a
    note played again, or in a later track, is summed on the same bases.
    """
    freqs = np.asarray(freqs, dtype=np.float64)
    decays = np.asarray(decays, dtype=np.float64)
    key = (freqs.tobytes(), decays.tobytes(), sr)
    found = _BASES.get(key)
    if found is not None:
        return found  # type: ignore[return-value]
    d = decays / sr                                                        # 1 / sample
    order = np.argsort(d, kind="stable")                                   # slowest first
    d = d[order]
    w = 2.0 * np.pi * freqs[order] / sr                                    # rad / sample
    j = np.arange(BLOCK, dtype=np.float64)
    wj = np.outer(w, j)
    fall_in = np.exp(-np.outer(d, j))                                      # (P, B)
    basis = np.empty((w.size, 2, BLOCK), dtype=np.float32)   # the rows weighted by cos, then sin
    basis[:, 0] = np.sin(wj) * fall_in
    basis[:, 1] = np.cos(wj) * fall_in
    b = np.arange(SEGMENT, dtype=np.float64)[:, None] * BLOCK
    steps = (np.exp(-b * d[None, :]) * np.exp(1j * (b * w[None, :]))).astype(np.complex64)
    found = (order, d, w, basis.reshape(2 * w.size, BLOCK), steps)
    for v in found:
        v.setflags(write=False)
    _BASES.put(key, found)
    return found


TURN = 2.0 * np.pi
_TURN_HIGH = float(np.float32(TURN))   # 24 significant bits: times a whole number below 2**29, exact
_TURN_LOW = TURN - _TURN_HIGH          # the rest of TURN's bits (exact), 29 at most
_ONE_TURN_BELOW = 2.0 ** 24 * TURN     # the quotient stays below 2**24: both products are exact


def one_turn(x: np.ndarray) -> np.ndarray:
    """``np.mod(x, 2 * pi)`` of a float64 array, in place, the same to the bit, faster.

    The remainder of a division is exact, so any way of reaching it gives the same bits. For
    ``0 <= x < 2**24 * 2 pi`` (the phases of every note) it is computed as ``x - q * TURN``
    in two exact steps (``TURN`` split in a high and a low part, each of whose products by the
    whole quotient ``q`` is exact, and ``x`` less the first within a factor of two of it),
    then moved by one turn where a rounded quotient was one off; other ``x`` take ``np.mod``.
    """
    if x.size == 0 or not (x.min() >= 0.0 and x.max() < _ONE_TURN_BELOW):
        return np.mod(x, TURN, out=x)
    q = x * (1.0 / TURN)
    np.floor(q, out=q)
    x -= q * _TURN_HIGH
    q *= _TURN_LOW
    x -= q
    np.add(x, TURN, out=x, where=x < 0.0)
    np.subtract(x, TURN, out=x, where=x >= TURN)
    return x


def padded_blocks(n: int) -> int:
    """Blocks :func:`sum_partials` computes for ``n`` samples: whole segments of :data:`SEGMENT` blocks."""
    return -(-max(n, 0) // (SEGMENT * BLOCK)) * SEGMENT


def sum_partials(freqs: np.ndarray, amps: np.ndarray, decays: np.ndarray, phases: np.ndarray, *,
                 sr: int, n: int, block_gain: np.ndarray | None = None) -> np.ndarray:
    """Sum of ``amps * exp(-decays t) * sin(2 pi freqs t + phases)`` over ``n`` samples.

    Computed in whole segments of :data:`SEGMENT` blocks, each one matrix product of the same
    shape, so every sample is the same whatever ``n``: the sum for ``n`` samples is the start
    of the sum for any longer ``n`` to the bit (one rendered note serves every held length,
    :func:`aimusic.synth.voice.note_core`). A matrix product's rounding depends on its number of
    rows, so a product over ``n``'s own blocks would not give that.

    Parameters
    ----------
    freqs, amps, decays, phases : (P,) arrays
        Frequency in Hz, linear amplitude, decay rate in 1/s and start phase of each partial.
    sr : int
        Sample rate.
    n : int
        Number of samples to render.
    block_gain : (P, K) array, optional
        Extra per-partial gain at each block start (at least K = :func:`padded_blocks` ``(n)``
        columns), e.g. a filter envelope; held over a block of 2.9 ms, far shorter than any
        envelope we use.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float32.
    """
    if n <= 0 or freqs.size == 0:
        return np.zeros(max(n, 0), dtype=np.float32)
    k_blocks = padded_blocks(n)
    order, d, w, basis, steps = partial_basis(freqs, decays, sr=sr)
    p_all = w.size
    # amplitude and phase at each segment's first block (the phase reduced to one turn in
    # float64), times each partial's steps to the blocks within it: (K, P) complex64, whose
    # real and imaginary parts, side by side, weight the partial's two basis rows
    ka = np.arange(k_blocks // SEGMENT, dtype=np.float64) * (SEGMENT * BLOCK)
    turn = one_turn(np.outer(ka, w) + np.asarray(phases, dtype=np.float64)[order][None, :])
    start = np.exp(-np.outer(ka, d)) * np.asarray(amps, dtype=np.float64)[order][None, :]
    at_start = np.empty(turn.shape, dtype=np.complex64)
    at_start.real = start * np.cos(turn)
    at_start.imag = start * np.sin(turn)
    weights = (at_start[:, None, :] * steps[None, :, :]).reshape(k_blocks, p_all)
    coef = weights.view(np.float32)                                        # (K, 2 P)
    if block_gain is not None:
        gain = np.asarray(block_gain, dtype=np.float32)[order, :k_blocks].T
        coef.reshape(k_blocks, p_all, 2)[...] *= gain[:, :, None]
    # fast-decaying partials are silent long before the note ends: a segment leaves out those
    # already silent where it starts (by the segment's start alone: the same for every n)
    life = np.ceil(SILENCE_LN / np.maximum(d * BLOCK, 1e-12))
    counts = [c for c in dict.fromkeys((p_all, p_all // 2, p_all // 4)) if c > 0]
    y = np.empty((k_blocks, BLOCK), dtype=np.float32)
    for k0 in range(0, k_blocks, SEGMENT):
        c = min((c for c in counts if c == p_all or life[c] <= k0), default=p_all)
        np.matmul(coef[k0:k0 + SEGMENT, :2 * c], basis[:2 * c], out=y[k0:k0 + SEGMENT])
    return y.reshape(-1)[:n]


@lru_cache(maxsize=256)
def raised_cosine(n: int) -> np.ndarray:
    """Rising half-cosine ramp of ``n`` samples from 0 towards 1 (float32, read-only)."""
    ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(max(n, 0)) + 0.5) / max(n, 1))).astype(np.float32)
    ramp.setflags(write=False)
    return ramp


def adsr(n: int, *, sr: int, hold: int, attack: float, decay: float, sustain: float,
         release: float, fade: float = 0.004) -> np.ndarray:
    """Attack-decay-sustain-release envelope of ``n`` samples; the key is held ``hold`` samples.

    The attack is a raised cosine (a linear ramp's corner is audible as a click on slow
    attacks, and a zero-length attack is a step). Release is exponential, reaching -60 dB
    after ``release`` seconds, and the last ``fade`` seconds are a raised-cosine fade to
    exactly zero so no note ever ends on a discontinuity. Each sample of the held and the
    release curves depends on its index alone, so both are kept per timbre
    (:func:`_held_curve`, :func:`_release_curve`) and every note is cut from them.
    """
    n_att = max(int(attack * sr), int(0.002 * sr))  # never shorter than 2 ms: no click
    held = _held_curve(sr, n_att, decay if decay > 0.0 and sustain < 1.0 else 0.0, sustain)
    env = np.empty(n, dtype=np.float32)
    hold = min(hold, n)
    m = min(held.shape[0], hold)          # the held part from its curve; the release follows it
    env[:m] = held[:m]
    env[m:hold] = held[-1] if held.shape[0] > n_att else np.float32(1.0 if held.shape[0] else sustain)
    if hold < n:
        level = env[hold - 1] if hold > 0 else 0.0
        np.multiply(_release_curve(sr, release, n - hold)[:n - hold], level, out=env[hold:])
    n_fade = min(int(fade * sr), n)
    if n_fade:
        env[n - n_fade:] *= raised_cosine(n_fade)[::-1]
    return env


@lru_cache(maxsize=128)
def _held_curve(sr: int, n_att: int, decay: float, sustain: float) -> np.ndarray:
    """The held part of :func:`adsr` (attack, then decay towards ``sustain``; ``decay`` 0: none), read-only.

    Cut where it has settled for good (float32 ``sustain`` exactly, or 1 without a decay):
    the samples beyond that are its last value.
    """
    if decay <= 0.0:
        env = np.ones(n_att, dtype=np.float32)
    else:
        # settled within 40 decay times: exp(-120) is 0 in float32, and the sum is sustain exactly
        n = n_att + int(40.0 * decay * sr) + 1
        t = np.arange(n, dtype=np.float32) / sr
        env = np.full(n, sustain, dtype=np.float32)
        after = np.maximum(t - n_att / sr, 0.0)
        env += (1.0 - sustain) * np.exp(-after * (3.0 / max(decay, 1e-4)), dtype=np.float32)
        unsettled = np.flatnonzero(env[n_att:] != env[-1])
        env = env[:n_att + (int(unsettled[-1]) + 2 if unsettled.size else 1)].copy()
    env[:n_att] = raised_cosine(n_att)[:env.shape[0]][:n_att]
    env.setflags(write=False)
    return env


_RELEASES: dict[tuple[int, float], np.ndarray] = {}


def _release_curve(sr: int, release: float, m: int) -> np.ndarray:
    """At least ``m`` samples of :func:`adsr`'s release (from 1, -60 dB after ``release`` s), read-only."""
    curve = _RELEASES.get((sr, release))
    if curve is None or curve.shape[0] < m:
        size = max(m, int(release * sr) + 1, 0 if curve is None else 2 * curve.shape[0])
        tail = np.arange(size, dtype=np.float32) / sr
        curve = np.exp(-tail * (6.9 / max(release, 1e-3)), dtype=np.float32)
        curve.setflags(write=False)
        _RELEASES[(sr, release)] = curve
    return curve


def warp_margin(*, sr: int, rate: float, depth_cents: float) -> int:
    """Samples past its end that :func:`time_warp` reads of its input: the largest excursion and two."""
    if depth_cents <= 0.0 or rate <= 0.0:
        return 0
    ratio = 2.0 ** (depth_cents / 1200.0) - 1.0
    return int(np.ceil(ratio / (2.0 * np.pi * rate) * sr)) + 2


def time_warp(y: np.ndarray, *, sr: int, rate: float, depth_cents: float, delay: float = 0.0,
              phase: float = 0.0, n: int | None = None) -> np.ndarray:
    """Frequency-modulate ``y`` by reading it at a sinusoidally wobbling position (vibrato).

    Reading ``y(t + D sin(2 pi f t))`` scales every partial's instantaneous frequency by the
    same factor, which is what vibrato does; the depth ramps in after ``delay`` seconds like
    a player's. Linear interpolation is enough at these tiny deviations (< 1 sample step).
    The first ``n`` samples are returned (all of ``y`` when None, read as silent past its end);
    given :func:`warp_margin` more samples of ``y`` than ``n``, each output sample depends on
    ``y`` alone, not on where it ends, so a longer ``y`` gives the same start to the bit.
    """
    m = y.shape[0]
    n = m if n is None else n
    if depth_cents <= 0.0 or rate <= 0.0 or n < 2:
        return y[:n]
    # the arithmetic of the plain expressions, each step in place (a long note has 10^5 samples)
    t = np.arange(n, dtype=np.float32) / np.float32(sr)
    ratio = 2.0 ** (depth_cents / 1200.0) - 1.0
    amount = np.float32(ratio / (2.0 * np.pi * rate) * sr)        # samples of excursion
    offset = np.float32(2.0 * np.pi * rate) * t
    offset += np.float32(phase)
    np.sin(offset, out=offset)
    offset *= amount
    if delay > 0.0:
        t -= np.float32(delay)
        t /= np.float32(0.4)
        offset *= np.clip(t, 0.0, 1.0, out=t)
    # the offset is a few samples at most: split it into whole samples and a fraction
    whole = np.floor(offset)
    frac = np.subtract(offset, whole, out=offset)
    idx = whole.astype(np.int64)
    idx += np.arange(n)
    padded = np.concatenate([y, np.zeros(max(n - m, 0) + 2 + int(np.ceil(abs(amount))), dtype=y.dtype)])
    np.clip(idx, 0, padded.shape[0] - 2, out=idx)
    out = padded.take(idx)
    idx += 1
    after = padded.take(idx)
    out *= np.subtract(np.float32(1.0), frac, out=whole)
    after *= frac
    out += after
    return out.astype(np.float32, copy=False)   # float32 whatever ``y`` was (no copy when it was float32)
