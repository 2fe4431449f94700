"""Timbres as data: one :class:`Timbre` per pitched instrument name used by the styles.

A timbre says which partials a note has (harmonic with an amplitude roll-off, or explicit
frequency ratios), how each decays, the ADSR envelope, and the extras that make the
instrument itself: inharmonic stretch (piano), vibrato and ensemble detune (strings), a
filter envelope (synths, brass), breath noise (winds), pluck/hammer transients, and the
stem-level colour applied after all notes are summed (guitar drive + cabinet, organ rotary).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Mapping

from ..errors import ParameterError


@dataclass(frozen=True)
class Timbre:
    """How one pitched instrument sounds; every field is plain data read by the voice."""

    name: str
    n_partials: int = 16
    rolloff: float = 1.0             # harmonic n has amplitude n**-rolloff
    even_gain: float = 1.0           # gain of even harmonics (square-like < 1)
    ratios: tuple[float, ...] = ()   # explicit partial/f0 ratios (overrides harmonics)
    amps: tuple[float, ...] = ()     # explicit amplitudes for ``ratios``
    decay_mults: tuple[float, ...] = ()  # explicit per-partial decay multipliers
    stretch: float = 0.0             # inharmonicity B at middle C: f_n = n f0 sqrt(1 + B n^2)
    decay: float = 0.0               # 1/s amplitude decay of the fundamental (0 = sustained)
    decay_tilt: float = 0.0          # partial n decays ``n**decay_tilt`` times faster
    decay_pitch: float = 0.0         # higher notes decay faster: * (f0/262)**decay_pitch
    attack: float = 0.005
    env_decay: float = 0.0           # ADSR decay time (s) towards ``sustain``
    sustain: float = 1.0
    release: float = 0.15
    vel_brightness: float = 0.0      # soft notes tilt partials by ratio**(-vb * (1 - v))
    formant: tuple[float, float, float] = (0.0, 0.0, 1.0)  # (centre Hz, gain, width octaves)
    max_hz: float = 20000.0          # partials above this are not generated
    cutoff_mult: float = 0.0         # static low-pass at cutoff_mult * f0 (0 = none)
    fenv: tuple[float, float, float] = (0.0, 0.0, 0.0)  # filter env (start, end) * f0, time s
    vibrato: tuple[float, float, float] = (0.0, 0.0, 0.0)  # rate Hz, depth cents, delay s
    unison: int = 1
    detune_cents: float = 0.0
    ensemble_side: float = 1.0       # level of the outer copies against the middle one (odd unison)
    noise: float = 0.0               # breath/bow noise level relative to the tone
    noise_band: tuple[float, float] = (1000.0, 6000.0)
    transient: float = 0.0           # hammer/pluck/key-click burst level
    transient_band: tuple[float, float] = (800.0, 5000.0)
    comb: tuple[float, ...] = ()     # pick and pickup positions along the string (harmonic comb)
    mute_below: float = 0.0          # notes held shorter than this (s) are palm-muted
    mute_damping: float = 1.0        # ... their partials decay this many times faster
    drive: float = 0.0               # stem-level amplifier gain amount 0..1 (see synth.guitar)
    amp: str = ""                    # amplifier voicing in synth.guitar.AMPS ("" = none)
    cabinet: str = ""                # speaker cabinet in synth.guitar.CABINETS ("" = none)
    rotary: float = 0.0              # stem-level rotary speaker depth 0..1
    max_seconds: float = 30.0        # a note longer than this is released early (bounds memory)


def _t(**kw: object) -> Timbre:
    return Timbre(**kw)  # type: ignore[arg-type]


_TIMBRES = (
    _t(name="piano", n_partials=28, rolloff=0.9, stretch=0.0004, decay=0.45, decay_tilt=1.1,
       decay_pitch=0.7, attack=0.002, release=0.25, vel_brightness=1.6, unison=2, detune_cents=1.2,
       transient=0.25, transient_band=(1500.0, 7000.0), formant=(1200.0, 0.4, 1.5)),
    _t(name="electric_piano", ratios=(1.0, 2.0, 3.0, 4.0, 6.8, 14.2), amps=(1.0, 0.32, 0.08, 0.04, 0.22, 0.12),
       decay_mults=(1.0, 1.6, 2.5, 3.0, 22.0, 45.0), decay=0.7, decay_pitch=0.5, attack=0.002, release=0.2,
       vel_brightness=2.0, unison=1, transient=0.05),
    _t(name="organ", ratios=(0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0),
       amps=(0.8, 1.0, 0.6, 0.55, 0.25, 0.22, 0.08, 0.1), attack=0.006, release=0.06,
       transient=0.04, transient_band=(2000.0, 8000.0), rotary=0.6),
    # a section: players' vibratos are unsynchronised and blur into the ensemble detune; the
    # outer copies sit 12 dB under the middle one, or three equal copies throb 12 dB deep
    _t(name="strings", n_partials=16, rolloff=1.05, attack=0.35, release=0.6, unison=3, detune_cents=9.0,
       ensemble_side=0.25, formant=(900.0, 0.8, 1.8), noise=0.008, noise_band=(2000.0, 7000.0),
       vel_brightness=0.8, max_hz=9000.0),
    _t(name="violin", n_partials=24, rolloff=0.95, attack=0.07, release=0.25, vibrato=(5.8, 20.0, 0.18),
       formant=(2800.0, 0.9, 1.5), noise=0.012, noise_band=(2500.0, 9000.0), vel_brightness=1.0,
       max_hz=10000.0),
    _t(name="cello", n_partials=20, rolloff=1.1, attack=0.09, release=0.3, vibrato=(5.2, 12.0, 0.25),
       formant=(600.0, 0.8, 1.5), noise=0.01, noise_band=(800.0, 4000.0), vel_brightness=0.9,
       max_hz=6000.0),
    _t(name="flute", ratios=(1.0, 2.0, 3.0, 4.0), amps=(1.0, 0.35, 0.12, 0.05), attack=0.06, release=0.12,
       vibrato=(5.0, 14.0, 0.2), noise=0.045, noise_band=(1200.0, 9000.0), vel_brightness=0.6),
    _t(name="sax", n_partials=20, rolloff=1.0, attack=0.05, env_decay=0.25, sustain=0.85, release=0.1,
       vibrato=(5.2, 18.0, 0.3), formant=(1400.0, 1.2, 1.2), noise=0.025, noise_band=(1500.0, 7000.0),
       vel_brightness=2.2, fenv=(2.0, 9.0, 0.06), max_hz=9000.0),
    _t(name="brass", n_partials=24, rolloff=0.8, attack=0.045, env_decay=0.3, sustain=0.85, release=0.12,
       vibrato=(5.0, 8.0, 0.35), formant=(1100.0, 0.7, 1.5), noise=0.012, vel_brightness=2.0,
       fenv=(1.5, 11.0, 0.07), unison=2, detune_cents=4.0, max_hz=10000.0),
    # electric guitars: plucked strings (pick/pickup comb, partials decaying at their own
    # rates, a pick transient) into an amplifier and a speaker cabinet (synth.guitar)
    _t(name="clean_guitar", n_partials=32, rolloff=0.3, comb=(0.18, 0.23), decay=0.9, decay_tilt=0.5,
       decay_pitch=0.4, attack=0.002, release=0.1, transient=0.22, transient_band=(1200.0, 4500.0),
       vel_brightness=0.4, max_hz=7000.0, drive=0.2, amp="clean", cabinet="combo"),
    _t(name="crunch_guitar", n_partials=32, rolloff=0.6, comb=(0.16, 0.22), decay=0.75, decay_tilt=0.8,
       decay_pitch=0.3, attack=0.002, release=0.08, vibrato=(5.2, 24.0, 0.2), transient=0.25,
       transient_band=(1200.0, 4500.0), vel_brightness=0.8, max_hz=6500.0, drive=0.6, amp="crunch",
       cabinet="closed_4x12"),
    _t(name="lead_guitar", n_partials=32, rolloff=0.75, comb=(0.15, 0.09), decay=0.55, decay_tilt=0.8,
       decay_pitch=0.3, attack=0.002, release=0.08, vibrato=(5.5, 18.0, 0.25), transient=0.25,
       transient_band=(1200.0, 4500.0), vel_brightness=0.8, max_hz=6000.0, drive=0.8, amp="high_gain",
       cabinet="closed_4x12"),
    _t(name="overdrive_guitar", n_partials=20, rolloff=0.7, comb=(0.13, 0.09), decay=0.8, decay_tilt=0.6,
       decay_pitch=0.3, attack=0.002, release=0.1, transient=0.3, transient_band=(1200.0, 4500.0),
       vel_brightness=0.6, max_hz=5500.0, mute_below=0.3, mute_damping=6.0, drive=0.88, amp="high_gain",
       cabinet="closed_4x12"),
    # the second take of a double-tracked rhythm part: picked a little further from the bridge
    _t(name="overdrive_guitar_2", n_partials=20, rolloff=0.7, comb=(0.19, 0.09), decay=0.85, decay_tilt=0.6,
       decay_pitch=0.3, attack=0.002, release=0.1, transient=0.3, transient_band=(1300.0, 4800.0),
       vel_brightness=0.6, max_hz=5500.0, mute_below=0.3, mute_damping=6.0, drive=0.86, amp="high_gain",
       cabinet="closed_4x12"),
    _t(name="synth_lead", n_partials=40, rolloff=1.0, attack=0.01, release=0.1, unison=2, detune_cents=9.0,
       fenv=(10.0, 4.5, 0.25), vibrato=(5.5, 14.0, 0.35), env_decay=0.3, sustain=0.85),
    _t(name="synth_pluck", n_partials=36, rolloff=1.0, decay=2.5, decay_tilt=0.4, attack=0.003, release=0.1,
       unison=2, detune_cents=7.0, fenv=(10.0, 1.6, 0.09), vel_brightness=1.0),
    _t(name="synth_bass", n_partials=24, rolloff=1.0, even_gain=0.35, attack=0.004, release=0.06,
       unison=2, detune_cents=5.0, fenv=(9.0, 3.0, 0.12), env_decay=0.25, sustain=0.8, vel_brightness=0.8),
    _t(name="synth_pad", n_partials=14, rolloff=1.2, attack=0.7, release=1.4, unison=3, detune_cents=13.0,
       ensemble_side=0.25, cutoff_mult=5.0, max_hz=8000.0),
    _t(name="upright_bass", n_partials=14, rolloff=1.25, decay=2.2, decay_tilt=1.4, attack=0.004,
       release=0.09, transient=0.2, transient_band=(200.0, 1500.0), vel_brightness=1.0, max_hz=3000.0),
    # a bass guitar: a round plucked string that sings on (a fast, bright decay is a synth pluck),
    # with the comb of where it is plucked and of its pickup
    _t(name="electric_bass", n_partials=20, rolloff=1.1, comb=(0.22, 0.12), decay=0.3, decay_tilt=0.3,
       attack=0.012, release=0.07, transient=0.05, transient_band=(300.0, 2500.0), vel_brightness=0.8,
       max_hz=4000.0),
    _t(name="bell", ratios=(0.56, 0.92, 1.0, 1.19, 1.71, 2.0, 2.74, 3.0, 3.76, 4.07),
       amps=(0.6, 0.5, 1.0, 0.3, 0.2, 0.15, 0.1, 0.06, 0.04, 0.03),
       decay_mults=(0.6, 0.9, 1.0, 1.2, 1.6, 2.0, 2.6, 3.0, 3.6, 4.2), decay=0.9, attack=0.002,
       release=0.6, vel_brightness=1.0, max_seconds=6.0),
)

# a rhythm guitar on the edge of break-up: the crunch guitar with little drive and no vibrato, a
# blues band's comping (driven harder, its short triplet chords read as a synthesizer)
_RHYTHM_GUITAR = replace(next(t for t in _TIMBRES if t.name == "crunch_guitar"), name="rhythm_guitar",
                         vibrato=(0.0, 0.0, 0.0), drive=0.3)

# a celesta: the electric piano's tines struck by a felt hammer whose click rings up to 9 kHz, so
# every note stands out of a pad's wash (an ambient bed's struck figures)
_CELESTA = replace(next(t for t in _TIMBRES if t.name == "electric_piano"), name="celesta", transient=0.4,
                   transient_band=(1500.0, 9000.0))

TIMBRES: Mapping[str, Timbre] = MappingProxyType({t.name: t for t in (*_TIMBRES, _RHYTHM_GUITAR, _CELESTA)})


def get_timbre(name: str) -> Timbre:
    """The timbre called ``name``; raises ParameterError naming the known instruments."""
    try:
        return TIMBRES[name]
    except KeyError:
        known = ", ".join(sorted(TIMBRES))
        raise ParameterError("instrument", f"unknown instrument {name!r}; known: {known}") from None
