"""Drum kits as data and one function that synthesizes a hit from its :class:`HitSpec`.

Every piece is pitched tones (with an optional downward pitch sweep) plus band-passed noise,
optionally in several bursts (clap), with a click on top. Velocity picks one of four layers:
harder hits open the noise band and the click, as real drums get brighter when struck
harder, not only louder.

The electronic kit is a drum machine's: a few sines with a deep pitch sweep, the six square
oscillators' ratios for the hats. The acoustic and jazz kits are modal: a shell is the
inharmonic modes of a circular membrane (:data:`MEMBRANE`) whose pitch drops a little as
the head relaxes after the stroke, struck by a beater or stick whose click is a short
band-passed noise burst; the snare adds its wires, noise with a longer decay of its own;
hats and cymbals are a dense metallic spectrum, a few hundred random inharmonic partials
(:func:`metallic_partials`, fixed per piece) with their own decays over band-passed noise,
brighter when hit harder. The early part of a small room (:func:`room_response`: a few
reflections and a short diffuse build-up) sits on every piece of those kits: the mixer's
reverb send on the drums is small and a late tail only.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

import numpy as np
from .. import dsp

from ..errors import ParameterError
from ..score import (CLAP, CLOSED_HAT, CRASH, HIGH_TOM, KICK, LOW_TOM, MID_TOM, OPEN_HAT, PEDAL_HAT,
                     RIDE, SIDE_STICK, SNARE)
from .additive import raised_cosine, sum_partials

VELOCITY_LAYERS = 4
TAIL_FADE = 0.4           # share of a hit's length over which it fades to silence
TUNED_BELOW_HZ = 1000.0   # drum tones below this (kick, toms, snare shell) follow the key
Tone = tuple[float, float, float]  # (frequency Hz, amplitude, decay time constant s)


@dataclass(frozen=True)
class HitSpec:
    """One drum piece: tones, noise, bursts, click and the overall envelope."""

    tones: tuple[Tone, ...] = ()
    sweep: float = 1.0               # tones start ``sweep`` times higher and glide down
    sweep_time: float = 0.03
    noise: float = 0.0
    noise_band: tuple[float, float] = (1000.0, 8000.0)
    noise_decay: float = 0.1
    bursts: int = 1                  # clap: several noise bursts ``burst_gap`` apart
    burst_gap: float = 0.01
    noise_attack: float = 0.002      # s the noise takes to bloom (cymbals build their highs)
    click: float = 0.0
    click_hz: float = 3000.0         # the stick or beater click lies below this
    drive: float = 0.0               # tanh saturation (808 kick grit)
    highpass: float = 0.0
    length: float = 0.5
    level: float = 1.0
    click_lo: float = 0.0            # > 0: the click is noise band-passed click_lo..click_hz,
    click_decay: float = 0.002       # decaying with this time constant (a beater, a stick tip)
    mode_tilt: float = 0.0           # soft strokes excite a shell's higher modes less
    partials: int = 0                # random inharmonic partials (cymbals), fixed by ``seed``
    partial_band: tuple[float, float] = (3000.0, 16000.0)
    partial_decay: float = 0.5       # their mean decay time constant; the highest die fastest
    partial_level: float = 0.0
    seed: int = 0
    room: float = 0.0                # level of the early reflections added to the hit


def metal(scale: float, amp: float, decay: float) -> tuple[Tone, ...]:
    """Six inharmonic partials in the ratios of the classic analog hat oscillators."""
    base = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)
    return tuple((f * scale, amp, decay) for f in base)


# Modes of an ideal circular membrane (Bessel zeros j_mn / j_01): (0,1) (1,1) (2,1) (0,2) (3,1) (1,2) (4,1) (2,2)
MEMBRANE = (1.0, 1.594, 2.136, 2.296, 2.653, 2.918, 3.156, 3.501)
# Early reflections of a small live room: (delay s, gain); signs alternate as walls invert nothing
# but the paths differ, and the sum comes out decorrelated from the direct sound
ROOM_TAPS = ((0.0041, 0.52), (0.0067, -0.43), (0.0093, 0.37), (0.0121, -0.31), (0.0157, 0.26),
             (0.0193, -0.21), (0.0239, 0.17), (0.0291, -0.13), (0.0347, 0.1), (0.0409, -0.07))
ROOM_LOWPASS_HZ = 5000.0     # the walls and the air take the highs out of the reflections
ROOM_DIFFUSE = 0.12          # the diffuse build-up behind the first reflections
ROOM_DECAY_S = 0.04
ROOM_LENGTH_S = 0.25
ROOM_SEED = 1971
PARTIAL_GROUPS = 8           # cymbal partials share a decay within a group (the group's mean)


def membrane(f0: float, amps: tuple[float, ...], decay: float, damp: float = 0.7) -> tuple[Tone, ...]:
    """A shell's modes: ``f0`` times :data:`MEMBRANE`, the higher ones dying faster (ratio ** -damp)."""
    return tuple((f0 * r, a, decay / r ** damp) for r, a in zip(MEMBRANE, amps))


@lru_cache(maxsize=64)
def metallic_partials(count: int, lo: float, hi: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequencies, amplitudes, decay factors) of a cymbal's ``count`` partials in ``lo``..``hi`` Hz.

    Random but fixed by ``seed`` (one set per piece, the same in every hit, layer and variant):
    log-uniform frequencies, amplitudes scattered over about 12 dB, and decay factors (times
    the piece's ``partial_decay``) that fall with frequency with a random spread.
    """
    rng = np.random.default_rng([seed, count, int(lo), int(hi)])
    f = np.exp(rng.uniform(np.log(lo), np.log(hi), count))
    amp = 10.0 ** (rng.uniform(-0.6, 0.0, count))
    decay = (lo / f) ** 0.35 * np.exp(rng.normal(0.0, 0.35, count))
    for v in (f, amp, decay):
        v.setflags(write=False)
    return f, amp, decay


def _partials(spec: "HitSpec", n: int, bright: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """The metallic partials of one hit, summed; RMS about 1 at the start.

    Partials are grouped by decay into :data:`PARTIAL_GROUPS`, each group dying at its mean
    rate, and summed by the additive engine (:func:`~aimusic.synth.additive.sum_partials`:
    two matrix products a block, no sine per sample), with phases from ``rng`` and the
    piece's bloom as a raised-cosine rise.
    """
    f, amp, decay = metallic_partials(spec.partials, *spec.partial_band, spec.seed)
    keep = f < 0.45 * sr
    f, amp, decay = f[keep], amp[keep], decay[keep]
    # harder strokes are brighter: a soft one rolls the highs off
    amp = amp * (f / f.min()) ** (-1.6 * (1.0 - bright))
    phase = rng.uniform(0.0, 2.0 * np.pi, f.size)
    grouped = np.empty_like(decay)
    for group in np.array_split(np.argsort(decay), PARTIAL_GROUPS):
        if group.size:
            grouped[group] = float(np.mean(decay[group]))
    norm = np.sqrt(np.sum(amp ** 2) / 2.0)
    y = sum_partials(f, amp / max(norm, 1e-9), 1.0 / (spec.partial_decay * grouped), phase, sr=sr, n=n)
    rise = max(int(spec.noise_attack * sr), 1)
    y[:rise] *= raised_cosine(rise)[:n]
    return y.astype(np.float64)


@lru_cache(maxsize=4)
def room_response(sr: int) -> np.ndarray:
    """The early part of a small room's impulse response, without the direct sound (read-only).

    The discrete reflections of :data:`ROOM_TAPS` and, behind them, a short diffuse build-up
    of decaying noise (:data:`ROOM_DIFFUSE` of it, time constant :data:`ROOM_DECAY_S`, from a
    fixed generator), low-passed at :data:`ROOM_LOWPASS_HZ`.
    """
    n = int(ROOM_LENGTH_S * sr)
    ir = np.zeros(n)
    for delay, gain in ROOM_TAPS:
        ir[int(delay * sr)] += gain
    start = int(ROOM_TAPS[0][0] * sr)
    t = np.arange(n - start) / sr
    diffuse = np.random.default_rng(ROOM_SEED).standard_normal(n - start) * np.exp(-t / ROOM_DECAY_S)
    diffuse[: int(0.01 * sr)] *= raised_cosine(int(0.01 * sr))
    ir[start:] += ROOM_DIFFUSE * diffuse
    ir = dsp.sosfilt(_sos("lowpass", ROOM_LOWPASS_HZ, 0.0, sr), ir)
    ir.setflags(write=False)
    return ir


def _room(y: np.ndarray, amount: float, sr: int) -> np.ndarray:
    """``y`` plus ``amount`` of its early reflections (:func:`room_response`), cut to ``y``'s length."""
    ir = room_response(sr)
    size = 1 << int(np.ceil(np.log2(y.size + ir.size)))
    wet = np.fft.irfft(np.fft.rfft(y, size) * _room_spectrum(sr, size), size)[: y.size]
    return y + amount * wet


@lru_cache(maxsize=16)
def _room_spectrum(sr: int, size: int) -> np.ndarray:
    """``rfft`` of :func:`room_response` zero-padded to ``size`` (read-only): the same for every hit."""
    spectrum = np.fft.rfft(room_response(sr), size)
    spectrum.setflags(write=False)
    return spectrum


# The drum machine's pieces: the electronic kit is built on these
_ANALOG = {
    KICK: HitSpec(tones=((56.0, 1.0, 0.11), (112.0, 0.25, 0.05)), sweep=2.4, sweep_time=0.022, click=0.35,
                  click_hz=2000.0, noise=0.08, noise_band=(1000.0, 5000.0), noise_decay=0.01, length=0.6,
                  level=1.0),
    SNARE: HitSpec(tones=((185.0, 0.9, 0.07), (330.0, 0.45, 0.045)), noise=1.0, noise_band=(1200.0, 8000.0),
                   noise_decay=0.085, click=0.2, length=0.45, level=0.8),
    SIDE_STICK: HitSpec(tones=((1650.0, 0.5, 0.012), (900.0, 0.4, 0.02)), click=0.6, noise=0.3,
                        noise_band=(2000.0, 8000.0), noise_decay=0.012, length=0.12, level=0.5),
    CLAP: HitSpec(noise=1.0, noise_band=(900.0, 3200.0), noise_decay=0.08, bursts=4, burst_gap=0.009,
                  length=0.4, level=0.6),
    CLOSED_HAT: HitSpec(tones=metal(14.0, 0.35, 0.03), noise=1.0, noise_band=(6000.0, 13000.0),
                        noise_decay=0.035, noise_attack=0.005, highpass=6000.0, length=0.15, level=0.3),
    PEDAL_HAT: HitSpec(tones=metal(14.0, 0.3, 0.04), noise=0.8, noise_band=(5500.0, 12000.0),
                       noise_decay=0.05, noise_attack=0.005, highpass=5000.0, length=0.15, level=0.2),
    OPEN_HAT: HitSpec(tones=metal(14.0, 0.35, 0.3), noise=1.0, noise_band=(6000.0, 13000.0),
                      noise_decay=0.32, noise_attack=0.006, highpass=5500.0, length=0.9, level=0.3),
    LOW_TOM: HitSpec(tones=((98.0, 1.0, 0.25), (196.0, 0.2, 0.1)), sweep=1.4, sweep_time=0.05, noise=0.2,
                     noise_band=(300.0, 3000.0), noise_decay=0.04, length=0.8, level=0.7),
    MID_TOM: HitSpec(tones=((140.0, 1.0, 0.22), (280.0, 0.2, 0.09)), sweep=1.4, sweep_time=0.05, noise=0.2,
                     noise_band=(400.0, 3500.0), noise_decay=0.04, length=0.7, level=0.65),
    HIGH_TOM: HitSpec(tones=((190.0, 1.0, 0.2), (380.0, 0.2, 0.08)), sweep=1.4, sweep_time=0.05, noise=0.2,
                      noise_band=(500.0, 4000.0), noise_decay=0.04, length=0.6, level=0.6),
    CRASH: HitSpec(tones=metal(9.0, 0.3, 0.8), noise=1.0, noise_band=(3000.0, 12000.0), noise_decay=1.1,
                   noise_attack=0.012, highpass=2500.0, length=3.5, level=0.45),
    RIDE: HitSpec(tones=((3050.0, 0.5, 0.7), (4750.0, 0.4, 0.6), (5800.0, 0.3, 0.45), (6500.0, 0.25, 0.4),
                         (8200.0, 0.2, 0.3)), noise=0.35, noise_band=(4000.0, 14000.0), noise_decay=0.45,
                  noise_attack=0.003,                  click=0.15, highpass=2000.0, length=1.8, level=0.3),
}

# A rock kit in a small room: modal shells, wires, metallic cymbals
_ROOM = 0.8
_HATS = dict(partials=260, partial_band=(4000.0, 16000.0), partial_level=0.9, seed=11, noise_attack=0.002,
             room=_ROOM)
_ACOUSTIC = {
    KICK: HitSpec(tones=membrane(57.0, (1.0, 0.32, 0.16, 0.1, 0.07, 0.05), 0.13, damp=0.9), sweep=1.6,
                  sweep_time=0.012, mode_tilt=1.5, click=0.5, click_lo=1200.0, click_hz=5000.0,
                  click_decay=0.0035, noise=0.25, noise_band=(150.0, 1200.0), noise_decay=0.012,
                  room=_ROOM, length=0.6, level=1.0),
    SNARE: HitSpec(tones=membrane(188.0, (1.0, 0.7, 0.5, 0.4, 0.3, 0.25, 0.15), 0.1, damp=0.9), sweep=1.06,
                   sweep_time=0.04, mode_tilt=1.5, noise=0.9, noise_band=(900.0, 8000.0), noise_decay=0.16,
                   noise_attack=0.003, click=0.5, click_lo=2000.0, click_hz=7000.0, click_decay=0.002,
                   room=_ROOM, length=0.45, level=0.8),
    SIDE_STICK: HitSpec(tones=membrane(420.0, (0.4, 0.5, 0.45, 0.3, 0.2), 0.025, damp=0.5), click=0.9,
                        click_lo=1500.0, click_hz=6000.0, click_decay=0.003, noise=0.2,
                        noise_band=(2000.0, 8000.0), noise_decay=0.012, room=_ROOM, length=0.2, level=0.5),
    CLAP: replace(_ANALOG[CLAP], room=_ROOM),
    CLOSED_HAT: HitSpec(**_HATS, partial_decay=0.035, noise=0.7, noise_band=(6000.0, 14000.0), noise_decay=0.03,
                        click=0.3, click_lo=5000.0, click_hz=10000.0, click_decay=0.0015, highpass=5000.0,
                        length=0.15, level=0.3),
    PEDAL_HAT: HitSpec(**_HATS | dict(partial_level=0.6), partial_decay=0.045, noise=0.8,
                       noise_band=(6000.0, 14000.0), noise_decay=0.04, highpass=5000.0, length=0.15, level=0.2),
    OPEN_HAT: HitSpec(**_HATS, partial_decay=0.4, noise=0.8, noise_band=(6000.0, 14000.0), noise_decay=0.3,
                      click=0.3, click_lo=5000.0, click_hz=10000.0, click_decay=0.0015, highpass=5000.0,
                      length=0.9, level=0.3),
    LOW_TOM: HitSpec(tones=membrane(98.0, (1.0, 0.45, 0.3, 0.22, 0.15, 0.1), 0.3), sweep=1.1, sweep_time=0.07,
                     mode_tilt=1.5, click=0.4, click_lo=1500.0, click_hz=6000.0, click_decay=0.002, noise=0.15,
                     noise_band=(300.0, 3000.0), noise_decay=0.03, room=_ROOM, length=0.8, level=0.7),
    MID_TOM: HitSpec(tones=membrane(140.0, (1.0, 0.45, 0.3, 0.22, 0.15, 0.1), 0.26), sweep=1.1,
                     sweep_time=0.06, mode_tilt=1.5, click=0.4, click_lo=1500.0, click_hz=6000.0,
                     click_decay=0.002, noise=0.15, noise_band=(400.0, 3500.0), noise_decay=0.03, room=_ROOM,
                     length=0.7, level=0.65),
    HIGH_TOM: HitSpec(tones=membrane(190.0, (1.0, 0.45, 0.3, 0.22, 0.15, 0.1), 0.22), sweep=1.1,
                      sweep_time=0.05, mode_tilt=1.5, click=0.4, click_lo=1500.0, click_hz=6000.0,
                      click_decay=0.002, noise=0.15, noise_band=(500.0, 4000.0), noise_decay=0.03, room=_ROOM,
                      length=0.6, level=0.6),
    CRASH: HitSpec(partials=420, partial_band=(2200.0, 16000.0), partial_decay=1.0, partial_level=1.0, seed=23,
                   noise=0.8, noise_band=(3000.0, 13000.0), noise_decay=0.9, noise_attack=0.008, click=0.25,
                   click_lo=2500.0, click_hz=8000.0, click_decay=0.002, highpass=2200.0, room=_ROOM,
                   length=3.5, level=0.45),
    RIDE: HitSpec(tones=((3050.0, 0.25, 0.7), (4750.0, 0.2, 0.6), (5800.0, 0.15, 0.45)), partials=320,
                  partial_band=(2500.0, 15000.0), partial_decay=0.7, partial_level=0.8, seed=37, noise=0.25,
                  noise_band=(4000.0, 14000.0), noise_decay=0.4, noise_attack=0.002, click=0.5, click_lo=3000.0,
                  click_hz=10000.0, click_decay=0.0015, highpass=2000.0, room=_ROOM, length=1.8, level=0.3),
}

_JAZZ = dict(_ACOUSTIC)
_JAZZ.update({   # a small tuned-up bop kit, played with sticks and a soft beater
    KICK: replace(_ACOUSTIC[KICK], tones=membrane(62.0, (1.0, 0.4, 0.22, 0.15, 0.1, 0.07), 0.18, damp=0.8),
                  sweep=1.2, click=0.2, click_lo=800.0, click_hz=3000.0, click_decay=0.004, noise=0.1, level=0.6),
    SNARE: replace(_ACOUSTIC[SNARE], tones=membrane(205.0, (0.5, 0.4, 0.3, 0.25, 0.2, 0.15), 0.08, damp=0.9),
                   noise=1.1, noise_band=(1200.0, 9000.0), noise_decay=0.2, click=0.3, level=0.45),
    RIDE: replace(_ACOUSTIC[RIDE], partial_decay=1.0, noise_decay=0.6, length=2.4, level=0.45),
    CLOSED_HAT: replace(_ACOUSTIC[CLOSED_HAT], level=0.2),
    PEDAL_HAT: replace(_ACOUSTIC[PEDAL_HAT], level=0.25),
    CRASH: replace(_ACOUSTIC[CRASH], level=0.35, partial_decay=1.3, noise_decay=1.2, length=4.5),
})

_ELECTRONIC = dict(_ANALOG)
_ELECTRONIC.update({
    KICK: HitSpec(tones=((47.0, 1.0, 0.42),), sweep=4.0, sweep_time=0.035, click=0.45, click_hz=1400.0,
                  drive=0.5, length=1.4, level=1.0),
    SNARE: HitSpec(tones=((205.0, 0.5, 0.05),), noise=1.0, noise_band=(2000.0, 12000.0), noise_decay=0.14,
                   click=0.25, length=0.4, level=0.7),
    CLAP: HitSpec(noise=1.0, noise_band=(1000.0, 3000.0), noise_decay=0.055, bursts=3, burst_gap=0.007,
                  length=0.3, level=0.65),
    CLOSED_HAT: replace(_ANALOG[CLOSED_HAT], tones=metal(16.0, 0.5, 0.02), noise_decay=0.025, level=0.3),
    OPEN_HAT: replace(_ANALOG[OPEN_HAT], tones=metal(16.0, 0.5, 0.15), noise_decay=0.18, length=0.5),
})

KITS: Mapping[str, Mapping[int, HitSpec]] = MappingProxyType({
    "acoustic_kit": MappingProxyType(_ACOUSTIC),
    "jazz_kit": MappingProxyType(_JAZZ),
    "electronic_kit": MappingProxyType(_ELECTRONIC),
})


def get_kit(name: str) -> Mapping[int, HitSpec]:
    """The kit called ``name``; raises ParameterError naming the known kits."""
    try:
        return KITS[name]
    except KeyError:
        raise ParameterError("instrument", f"unknown drum kit {name!r}; known: {', '.join(KITS)}") from None


def velocity_layer(velocity: float) -> int:
    """Which of the :data:`VELOCITY_LAYERS` layers a velocity in (0, 1] plays."""
    return min(int(velocity * VELOCITY_LAYERS), VELOCITY_LAYERS - 1)


@lru_cache(maxsize=128)
def _sos(kind: str, lo: float, hi: float, sr: int) -> np.ndarray:
    hi = min(hi, 0.45 * sr)
    if kind in ("highpass", "lowpass"):
        return dsp.butter(2, lo, btype=kind, fs=sr, output="sos")
    return dsp.butter(2, [lo, hi], btype="bandpass", fs=sr, output="sos")


def kit_tuning(kit: Mapping[int, HitSpec], tonic: int | None) -> int:
    """Semitones (-6..5) that put the kit's kick fundamental on the key's tonic.

    Producers tune kicks and toms to the song; an untuned kick is a loud, constant foreign
    pitch that pulls the harmony (and any key detector) towards itself.
    """
    kick = kit.get(KICK)
    if tonic is None or kick is None or not kick.tones:
        return 0
    midi = 69.0 + 12.0 * np.log2(kick.tones[0][0] / 440.0)
    return int((tonic - round(midi)) % 12 + 6) % 12 - 6


def render_hit(spec: HitSpec, layer: int, *, sr: int, rng: np.random.Generator, tune: int = 0) -> np.ndarray:
    """Synthesize one drum hit at velocity ``layer`` (0 soft .. 3 hard), peak ``spec.level``.

    ``tune`` shifts the drum's tones (those below :data:`TUNED_BELOW_HZ`: shells, not
    cymbals) by that many semitones.
    """
    n = int(spec.length * sr)
    t = np.arange(n) / sr
    bright = 0.55 + 0.45 * layer / (VELOCITY_LAYERS - 1)
    y = np.zeros(n)
    if spec.tones:
        f, a, d = (np.asarray(v, dtype=np.float64)[:, None] for v in zip(*spec.tones))
        f = np.where(f < TUNED_BELOW_HZ, f * 2.0 ** (tune / 12.0), f)
        keep = (f[:, 0] < 0.45 * sr)
        f, a, d = f[keep], a[keep], d[keep]
        if spec.mode_tilt:
            a = a * (f / f[0]) ** (-spec.mode_tilt * (1.0 - bright))
        # phase of a tone gliding from sweep*f down to f: the integral of its frequency, in
        # double precision and wrapped to one turn, so the sine and the decay can be single
        # (NumPy's float32 sine is vectorized, some 15 times the speed of the float64 one)
        glide = (spec.sweep - 1.0) * spec.sweep_time * (1.0 - np.exp(-t / spec.sweep_time))
        turns = f * (t + glide)
        turns -= np.floor(turns)           # (np.mod is several times slower)
        phase = turns.astype(np.float32)
        phase *= np.float32(2.0 * np.pi)
        fall = np.exp(-t.astype(np.float32) / d.astype(np.float32))
        fall *= a.astype(np.float32)
        tones = fall * np.sin(phase)
        rise = max(int(spec.noise_attack * sr), 1)
        metal = f[:, 0] >= TUNED_BELOW_HZ      # plates bloom like the noise; shells start at once
        tones[metal, :rise] *= raised_cosine(rise)[: n]
        y += np.sum(tones, axis=0)
    if spec.noise:
        env = np.zeros(n)
        rise = max(int(spec.noise_attack * sr), 1)
        for b in range(spec.bursts):  # each burst restarts the decay, the last one rings out
            start = int(b * spec.burst_gap * sr)
            tau = spec.noise_decay if b == spec.bursts - 1 else spec.burst_gap / 2.5
            burst = np.exp(-(t[: n - start]) / tau)
            burst[:rise] *= raised_cosine(rise)[: burst.size]   # a burst blooms, it does not step in
            env[start:] = np.maximum(env[start:], burst)
        hi = spec.noise_band[1] * bright
        noise = dsp.sosfilt(_sos("bandpass", spec.noise_band[0], max(hi, spec.noise_band[0] * 1.5), sr),
                               rng.standard_normal(n))
        y += spec.noise * env * noise / max(float(np.std(noise[: max(int(0.02 * sr), 1)])), 1e-9) * 0.5
    if spec.partials and spec.partial_level:
        y += spec.partial_level * 0.5 * _partials(spec, n, bright, sr, rng)
    if spec.click and spec.click_lo:
        # a beater or stick tip: a band-passed noise burst dying within a few ms
        m = min(int(8.0 * spec.click_decay * sr), n)
        burst = dsp.sosfilt(_sos("bandpass", spec.click_lo, max(spec.click_hz * bright, 1.5 * spec.click_lo), sr),
                            rng.standard_normal(m + 64))[64:]
        env = np.exp(-np.arange(m) / (spec.click_decay * sr))
        k = max(int(0.0003 * sr), 1)
        env[:k] *= raised_cosine(k)
        y[:m] += spec.click * bright * burst / max(float(np.std(burst[: max(int(spec.click_decay * sr), 1)])), 1e-9) * env
    elif spec.click:
        # the stick or beater: a band-limited 2 ms burst (full-band noise here is a digital click)
        m = int(0.002 * sr)
        burst = dsp.sosfilt(_sos("lowpass", spec.click_hz * bright, 0.0, sr), rng.standard_normal(3 * m))[-m:]
        y[:m] += spec.click * bright * burst / max(float(np.std(burst)), 1e-9) * np.hanning(m)
    if spec.room:
        y = _room(y, spec.room, sr)
    if spec.highpass:
        y = dsp.sosfilt(_sos("highpass", spec.highpass, 0.0, sr), y)
    if spec.drive:
        y = np.tanh((1.0 + 4.0 * spec.drive) * y / max(float(np.max(np.abs(y))), 1e-9))
    k = int(0.001 * sr)       # 1 ms onset: keeps the attack sharp without a step
    y[:k] *= raised_cosine(k)
    # a long fade over the end of the hit: a ringing cymbal cut by a short fade sounds
    # choked, while this reads as the shell or plate dying away a little faster
    m = max(int(0.01 * sr), int(TAIL_FADE * n))
    y[-m:] *= raised_cosine(m)[::-1]
    y *= spec.level / max(float(np.max(np.abs(y))), 1e-9)
    return y.astype(np.float32)
