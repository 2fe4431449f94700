"""One pitched note from a :class:`~aimusic.synth.instruments.Timbre`: partials, envelope, extras."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from .. import dsp

from . import tables
from .additive import (BLOCK, ArrayLRU, adsr, audible_partials, padded_blocks, raised_cosine, sum_partials,
                       time_warp, warp_margin)
from .guitar import string_comb
from .instruments import TIMBRES, Timbre

RING_FLOOR_DB = 70.0  # a decaying note is rendered until its slowest partial is this far down


def midi_to_hz(pitch: float) -> float:
    """Equal-tempered frequency of MIDI ``pitch`` (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


NOISE_TABLE_S = 4.0   # length of each precomputed band of noise
NOISE_TABLE_SEED = 2024  # the tables are wavetables: fixed content, read from per-note random points


@lru_cache(maxsize=64)
def _bandpass(lo: float, hi: float, sr: int) -> np.ndarray:
    hi = min(hi, 0.45 * sr)
    return dsp.butter(2, [lo, hi], btype="bandpass", fs=sr, output="sos")


_NOISE_TABLES: dict[tuple[float, float, int], np.ndarray] = {}   # by (low, high, rate): one per band of a timbre


def build_noise_table(lo: float, hi: float, sr: int) -> np.ndarray:
    """Unit-RMS band-passed noise of the band ``lo``-``hi`` Hz (a fixed seed: it is a wavetable), read-only."""
    white = np.random.default_rng(NOISE_TABLE_SEED).standard_normal(int(NOISE_TABLE_S * sr))
    band = dsp.sosfilt(_bandpass(lo, hi, sr), white)
    band = (band / np.std(band)).astype(np.float32)
    band.setflags(write=False)
    return band


def _noise_table(lo: float, hi: float, sr: int) -> np.ndarray:
    """The noise table of a band, built once per process (or by a copy of it, :mod:`.tables`)."""
    key = (lo, hi, sr)
    table = _NOISE_TABLES.get(key)
    if table is None:
        if tables.is_pending(("noise", *key)):
            tables.collect()
            table = _NOISE_TABLES.get(key)
        if table is None:
            table = _NOISE_TABLES.setdefault(key, build_noise_table(lo, hi, sr))
    return table


def noise_bands() -> list[tuple[float, float]]:
    """The bands of every timbre's noise and transient, each once."""
    bands = []
    for timbre in TIMBRES.values():
        if timbre.noise:
            bands.append((float(timbre.noise_band[0]), float(timbre.noise_band[1])))
        if timbre.transient:
            bands.append((float(timbre.transient_band[0]), float(timbre.transient_band[1])))
    return list(dict.fromkeys(bands))


def has_noise_table(lo: float, hi: float, sr: int) -> bool:
    """Whether the table of that band is built, or being built by a copy of this process."""
    return (lo, hi, sr) in _NOISE_TABLES or tables.is_pending(("noise", lo, hi, sr))


def build_noise_tables(bands: list[tuple[float, float]], sr: int) -> dict[tuple[float, float, int], np.ndarray]:
    """:func:`build_noise_table` of each band, by (low, high, rate)."""
    return {(lo, hi, sr): build_noise_table(lo, hi, sr) for lo, hi in bands}


def remember_noise_tables(built: dict[tuple[float, float, int], np.ndarray]) -> None:
    """Keep noise tables built elsewhere (by :func:`build_noise_tables` in a copy of this process)."""
    for key, table in built.items():
        table.setflags(write=False)
        _NOISE_TABLES.setdefault(key, table)


tables.keep_with("noise", remember_noise_tables)


def warm_up(*, sr: int) -> None:
    """Build every timbre's noise tables now (a server calls this once, before forking).

    Those a copy of this process is building are left to it (collected when first read).
    """
    for lo, hi in noise_bands():
        if not has_noise_table(lo, hi, sr):
            _noise_table(lo, hi, sr)


def band_noise(n: int, band: tuple[float, float], *, sr: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of unit-RMS noise in ``band``, read from a random point of its table."""
    table = _noise_table(float(band[0]), float(band[1]), sr)
    size = table.shape[0]
    start = int(rng.integers(0, size))
    if start + n <= size:
        return table[start:start + n]
    # the table read round and round from ``start``: table[(start + i) % size], without the indices
    return np.resize(np.concatenate([table[start:], table[:start]]), n)


def is_muted(timbre: Timbre, hold: int, *, sr: int) -> bool:
    """Whether a note held ``hold`` samples is played palm-muted (short notes of a rhythm guitar)."""
    return timbre.mute_below > 0.0 and hold < timbre.mute_below * sr


PARTIAL_TABLES = 4096   # hold-independent partial tables kept per process (a few KB each)


def partial_table(timbre: Timbre, pitch: int, velocity: float, *, sr: int,
                  rng: np.random.Generator, muted: bool = False) -> tuple[np.ndarray, ...]:
    """Frequencies, amplitudes, decay rates and phases of every partial of one note.

    Partials at or above Nyquist (less a margin for vibrato and detune) are dropped here,
    per note, so a high note simply has fewer partials instead of aliases. A plucked
    string's harmonics carry the comb of its pick and pickup positions (``timbre.comb``);
    a ``muted`` note (the palm resting on the strings by the bridge) loses its upper
    partials and decays ``mute_damping`` times faster: the chug of rock rhythm guitar.
    Only the phases come from ``rng``; the rest depends on the note alone and is kept
    (:func:`partial_shape`), so the arrays returned are read-only.
    """
    freqs, amps, decays, ratios, count, unison_keep = partial_shape(timbre, pitch, velocity, sr, muted)
    phases = rng.uniform(0.0, 2.0 * np.pi, count)
    if unison_keep is not None:
        phases = np.tile(phases, timbre.unison)[unison_keep]
    return freqs, amps, decays, phases, ratios


@lru_cache(maxsize=PARTIAL_TABLES)
def partial_shape(timbre: Timbre, pitch: int, velocity: float, sr: int,
                  muted: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, np.ndarray | None]:
    """(freqs, amps, decays, ratios, phase count, unison mask) of :func:`partial_table`, kept per note.

    Everything of a partial table but its random phases: ``phase count`` phases are drawn
    per note, then tiled over the ensemble's copies and masked with ``unison mask`` (None
    without an ensemble). A note played at several lengths shares one.
    """
    f0 = midi_to_hz(pitch)
    if timbre.ratios:
        ratios = np.asarray(timbre.ratios, dtype=np.float64)
        amps = np.asarray(timbre.amps, dtype=np.float64)
        dmul = np.asarray(timbre.decay_mults or (1.0,) * ratios.size, dtype=np.float64)
    else:
        n = np.arange(1, timbre.n_partials + 1, dtype=np.float64)
        b = timbre.stretch * 2.0 ** ((pitch - 60) / 12.0)   # thinner, stiffer strings up high
        ratios = n * np.sqrt(1.0 + b * n * n)
        amps = n ** -timbre.rolloff
        amps[1::2] *= timbre.even_gain
        dmul = n ** timbre.decay_tilt
    freqs = f0 * ratios
    if timbre.comb:
        amps = amps * string_comb(ratios, timbre.comb)
    amps = amps * ratios ** (-timbre.vel_brightness * (1.0 - velocity))
    centre, gain, width = timbre.formant
    if gain:
        amps = amps * (1.0 + gain * np.exp(-0.5 * (np.log2(freqs / centre) / width) ** 2))
    if timbre.cutoff_mult:
        amps = amps / np.sqrt(1.0 + (ratios / timbre.cutoff_mult) ** 4)
    decays = timbre.decay * (f0 / 262.0) ** timbre.decay_pitch * dmul
    if muted:
        amps = amps / (1.0 + (ratios / 5.0) ** 2)
        decays = decays * timbre.mute_damping
    keep = audible_partials(freqs, sr=sr) & (freqs < max(timbre.max_hz, 1.5 * f0))
    freqs, amps, decays, ratios = freqs[keep], amps[keep], decays[keep], ratios[keep]
    amps = amps / max(float(np.sqrt(np.sum(amps ** 2))), 1e-9)
    count = freqs.size
    unison_keep = None
    if timbre.unison > 1:
        # ensemble: detuned copies spread symmetrically in cents, starting in phase (as a
        # hammer strikes all strings of a note at once) so they drift apart rather than
        # starting half-cancelled at a random level
        u = timbre.unison
        cents = np.repeat(np.linspace(-1.0, 1.0, u) * timbre.detune_cents, freqs.size)
        freqs = np.tile(freqs, u) * 2.0 ** (cents / 1200.0)
        unison_keep = audible_partials(freqs, sr=sr)
        amps = np.tile(amps, u)[unison_keep] / u
        if timbre.ensemble_side != 1.0:
            # the outer copies quieter than the middle one, at the same total power: equal
            # copies cancel to silence once per beat, and every partial's beats line up
            w = np.full(u, timbre.ensemble_side)
            w[u // 2] = 1.0
            amps = amps * np.repeat(w / np.sqrt(np.mean(w * w)), count)[unison_keep]
        decays, ratios = np.tile(decays, u)[unison_keep], np.tile(ratios, u)[unison_keep]
        freqs = freqs[unison_keep]
    for v in (freqs, amps, decays, ratios) + ((unison_keep,) if unison_keep is not None else ()):
        v.setflags(write=False)
    return freqs, amps, decays, ratios, count, unison_keep


FILTER_GAINS_MB = 4   # filter-envelope gains kept per process (a note's partials x blocks, float32)
_FILTER_GAINS = ArrayLRU(FILTER_GAINS_MB << 20)


def filter_gain(timbre: Timbre, pitch: int, velocity: float, sr: int, muted: bool, k_blocks: int) -> np.ndarray:
    """(partials, k_blocks) gain of the timbre's filter envelope at each block start of one note, read-only.

    A low-pass whose cutoff glides from ``start`` to ``end`` times each partial's ratio, the
    same for every length of the note: kept per note (the longest asked for) and cut to
    ``k_blocks``, each value what it would be computed alone.
    """
    key = (timbre, pitch, velocity, sr, muted)
    gain = _FILTER_GAINS.get(key)
    if gain is None or gain.shape[1] < k_blocks:  # type: ignore[union-attr]
        start, end, tau = timbre.fenv
        ratios = partial_shape(timbre, pitch, velocity, sr, muted)[3]
        tk = np.arange(k_blocks) * BLOCK / sr
        cutoff = end + (start - end) * np.exp(-tk / max(tau, 1e-3))
        cutoff = cutoff * (0.6 + 0.4 * velocity)
        # computed in float64, kept in the float32 the additive sum takes it in
        gain = (1.0 / np.sqrt(1.0 + (ratios[:, None] / cutoff[None, :]) ** 4)).astype(np.float32)
        gain.setflags(write=False)
        _FILTER_GAINS.put(key, gain)
    return gain[:, :k_blocks]  # type: ignore[index]


def note_samples(timbre: Timbre, pitch: int, hold: int, *, sr: int) -> int:
    """How many samples a note held for ``hold`` samples rings, release included."""
    n = hold + int(timbre.release * sr)
    if timbre.decay > 0.0:
        slowest = timbre.decay * (midi_to_hz(pitch) / 262.0) ** timbre.decay_pitch
        if timbre.decay_mults:
            slowest *= min(timbre.decay_mults)
        n = min(n, int(RING_FLOOR_DB / 8.7 / slowest * sr))
    return max(min(n, int(timbre.max_seconds * sr)), int(0.01 * sr))


def clipped_hold(timbre: Timbre, hold: int, *, sr: int) -> int:
    """The held samples a note plays: an over-long one is released in time to ring out within max_seconds."""
    return min(hold, max(int(timbre.max_seconds * sr) - int(timbre.release * sr), 1))


def rendered_length(timbre: Timbre, pitch: int, hold: int, *, sr: int) -> int:
    """Samples of the array :func:`render_note` returns for a note held ``hold`` samples."""
    return note_samples(timbre, pitch, clipped_hold(timbre, hold, sr=sr), sr=sr)


TRANSIENT_TAU_S = 0.004   # the hammer, pick or click of a note dies with this time constant
END_FADE_S = 0.004        # every note ends on a raised-cosine fade this long, to exactly zero


def _burst(*, sr: int, band: tuple[float, float], tau: float, rng: np.random.Generator) -> np.ndarray:
    """A short band-passed noise burst with a 1 ms raised-cosine onset (hammer, pick, click), whole."""
    m = int(8 * tau * sr) + 1
    env = np.exp(-np.arange(m) / (tau * sr)).astype(np.float32)
    k = min(int(0.001 * sr), m)
    env[:k] *= raised_cosine(k)
    return band_noise(m, band, sr=sr, rng=rng) * env


def note_core(timbre: Timbre, pitch: int, velocity: float, n: int, *, sr: int, rng: np.random.Generator,
              muted: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """What every held length of a note shares: (tone, transient) before the envelope.

    The tone is ``n`` samples of the partials (filter envelope included), the noise and the
    vibrato; the transient is the hammer or pick burst at its velocity (None without one).
    Each sample is the same whatever ``n`` (:func:`~aimusic.synth.additive.sum_partials` works
    in fixed segments, the vibrato reads :func:`~aimusic.synth.additive.warp_margin` samples
    ahead, the noise is read from a table), so the tone rendered for the longest note of a
    pitch and velocity serves every shorter one: :func:`finish_note` cuts it and puts the
    envelope on. ``rng`` gives the phases and noise; it is drawn the same whatever ``n``.
    """
    freqs, amps, decays, phases, ratios = partial_table(timbre, pitch, velocity, sr=sr, rng=rng, muted=muted)
    rate, cents, delay = timbre.vibrato
    m = n + warp_margin(sr=sr, rate=rate, depth_cents=cents)
    gain = None
    if timbre.fenv[0] or timbre.fenv[1]:  # low-pass whose cutoff glides from start*f0 to end*f0
        gain = filter_gain(timbre, pitch, velocity, sr, muted, padded_blocks(m))
    y = sum_partials(freqs, amps, decays, phases, sr=sr, n=m, block_gain=gain)
    if timbre.noise:
        y += np.float32(timbre.noise * (0.5 + velocity)) * band_noise(m, timbre.noise_band, sr=sr, rng=rng)
    if cents:
        y = time_warp(y, sr=sr, rate=rate, depth_cents=cents, delay=delay, phase=rng.uniform(0, 2 * np.pi), n=n)
    burst = None
    if timbre.transient:
        burst = np.float32(timbre.transient * velocity) * _burst(sr=sr, band=timbre.transient_band,
                                                                 tau=TRANSIENT_TAU_S, rng=rng)
    return y[:n], burst


def finish_note(tone: np.ndarray, burst: np.ndarray | None, timbre: Timbre, hold: int, n: int, *,
                sr: int) -> np.ndarray:
    """The first ``n`` samples of a :func:`note_core` under the envelope of a key held ``hold`` samples.

    A new float32 array: the tone times the ADSR, plus the transient, ending on a short fade
    to exactly zero (``hold`` as :func:`render_note` limits it, ``n`` from :func:`rendered_length`).
    """
    env = adsr(n, sr=sr, hold=hold, attack=timbre.attack, decay=timbre.env_decay, sustain=timbre.sustain,
               release=timbre.release)
    y = np.multiply(tone[:n], env, out=env)
    if burst is not None:
        k = min(n, burst.shape[0])
        y[:k] += burst[:k]
        f = min(int(END_FADE_S * sr), n)
        y[n - f:] *= raised_cosine(f)[::-1]
    return y


def render_note(timbre: Timbre, pitch: int, velocity: float, hold: int, *, sr: int,
                rng: np.random.Generator) -> np.ndarray:
    """One note at unit loudness: partials x envelope, plus noise, transient and vibrato.

    Parameters
    ----------
    timbre : Timbre
        The instrument.
    pitch : int
        MIDI pitch.
    velocity : float
        0..1; shapes brightness here (loudness is applied by the caller).
    hold : int
        Samples the key is held; the release follows.
    sr : int
        Sample rate.
    rng : numpy.random.Generator
        Source of the partial phases and noise (drawn as by :func:`note_core`).

    Returns
    -------
    numpy.ndarray
        float32 note, starting and ending at zero.
    """
    hold = clipped_hold(timbre, hold, sr=sr)
    n = note_samples(timbre, pitch, hold, sr=sr)
    tone, burst = note_core(timbre, pitch, velocity, n, sr=sr, rng=rng, muted=is_muted(timbre, hold, sr=sr))
    return finish_note(tone, burst, timbre, hold, n, sr=sr)
