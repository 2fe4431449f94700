"""Electric guitars: string comb, partial decays, palm mutes, amplifier before cabinet, doubled takes."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import signal

from aimusic.analysis import partial_decays, spectral_shape
from aimusic.score import Note, TempoMap, Track
from aimusic.synth.guitar import CABINETS, adaa_clip, cabinet_sos, soft_clip
from aimusic.synth.instruments import get_timbre
from aimusic.synth.render import render_track
from aimusic.synth.voice import midi_to_hz, render_note

SR = 44100
TEMPO = TempoMap(bpm=120.0)


def harmonic_levels_db(y: np.ndarray, f0: float, count: int) -> np.ndarray:
    """Level in dB of harmonics 1..count of ``y`` (a long Hann-windowed FFT, peak near each)."""
    mag = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    f = np.fft.rfftfreq(y.size, 1.0 / SR)
    return np.array([20 * np.log10(mag[(f > h * f0 * 0.98) & (f < h * f0 * 1.02)].max() + 1e-12)
                     for h in range(1, count + 1)])


def test_pick_position_cuts_its_harmonics():
    # picked at a fifth of the string: the 5th and 10th harmonics (nearly) vanish
    timbre = replace(get_timbre("clean_guitar"), comb=(0.2,), amp="", cabinet="", transient=0.0)
    y = render_note(timbre, 45, 0.9, SR, sr=SR, rng=np.random.default_rng(0))
    levels = harmonic_levels_db(y[: SR // 2], midi_to_hz(45), 11)
    assert levels[4] < min(levels[3], levels[5]) - 12.0
    assert levels[9] < min(levels[8], levels[10]) - 12.0


def test_upper_partials_of_a_plucked_string_die_first():
    timbre = replace(get_timbre("clean_guitar"), amp="", cabinet="", transient=0.0)
    y = render_note(timbre, 52, 0.9, 2 * SR, sr=SR, rng=np.random.default_rng(1))
    rates = partial_decays(y, midi_to_hz(52), sr=SR, harmonics=5, seconds=1.0)
    assert rates[0] > 1.0                      # it decays: a pluck, not an organ
    assert rates[3] > 1.4 * rates[0] and rates[4] > 1.4 * rates[0]


def test_short_rhythm_notes_are_palm_muted():
    timbre = replace(get_timbre("overdrive_guitar"), amp="", cabinet="")
    short = render_note(timbre, 40, 0.8, int(0.15 * SR), sr=SR, rng=np.random.default_rng(2))
    long = render_note(timbre, 40, 0.8, int(1.0 * SR), sr=SR, rng=np.random.default_rng(2))
    a, b = int(0.02 * SR), int(0.12 * SR)
    centroid_short, _ = spectral_shape(short[a:b], sr=SR)
    centroid_long, _ = spectral_shape(long[a:b], sr=SR)
    assert centroid_short < 0.7 * centroid_long          # the palm takes the highs

    def fall(y: np.ndarray) -> float:
        return float(np.sqrt(np.mean(y[b - 441:b] ** 2) / np.mean(y[a:a + 441] ** 2)))

    assert fall(short) < 0.6 * fall(long)                # and the sustain


def test_cabinet_is_band_limited_and_resonant():
    for name in CABINETS:
        w, h = signal.sosfreqz(cabinet_sos(name, sr=SR), worN=8192, fs=SR)
        db = 20 * np.log10(np.abs(h) + 1e-12)
        mid = db[(w > 1500) & (w < 3500)].max()
        assert db[(w > 11000)].max() < mid - 30.0, name      # no buzz above the speaker
        assert db[(w > 20) & (w < 40)].max() < mid - 15.0, name
        assert mid > db[(w > 700) & (w < 1000)].mean() + 2.0, name   # a presence peak


def test_amplifier_comes_before_the_cabinet():
    # a driven chord through the whole stem chain keeps almost nothing above 9 kHz: the
    # distortion's harmonics are filtered by the cabinet after it, not added after the cabinet
    notes = [Note(0.0, 2.0, p, 0.9) for p in (40, 47, 52)]
    y = render_track(Track("harmony", "overdrive_guitar", "harmony", notes), TEMPO, sr=SR, n_samples=SR)
    mag2 = np.abs(np.fft.rfft(y * np.hanning(y.size))) ** 2
    f = np.fft.rfftfreq(y.size, 1.0 / SR)
    share_top = mag2[f > 9000].sum() / mag2.sum()
    share_presence = mag2[(f > 1500) & (f < 5000)].sum() / mag2.sum()
    assert 10 * np.log10(share_top) < -35.0
    assert share_presence > 0.1               # distorted: bright, dense upper mids


def test_anti_aliased_clipper_folds_back_less():
    # a hard-driven 3.1 kHz sine: aliases land between its harmonics
    f0 = 3100.0
    t = np.arange(SR) / SR
    x = 6.0 * np.sin(2 * np.pi * f0 * t)
    naive = soft_clip(x)
    smooth, _ = adaa_clip(x, 0.0)

    def alias_db(y: np.ndarray) -> float:
        mag2 = np.abs(np.fft.rfft(y * np.hanning(y.size))) ** 2
        f = np.fft.rfftfreq(y.size, 1.0 / SR)
        near = np.zeros_like(f, dtype=bool)
        for h in range(1, int(SR / 2 / f0) + 1):
            near |= np.abs(f - h * f0) < 30.0
        return float(10 * np.log10(mag2[~near & (f > 50)].sum() / mag2[near].sum()))

    assert alias_db(smooth) < alias_db(naive) - 6.0


def test_clipper_state_carries_across_chunks():
    x = np.sin(np.linspace(0, 60, 5000)) * 4.0
    whole, _ = adaa_clip(x, 0.0, bias=0.1)
    first, last = adaa_clip(x[:1234], 0.0, bias=0.1)
    second, _ = adaa_clip(x[1234:], last, bias=0.1)
    np.testing.assert_allclose(np.concatenate([first, second]), whole, atol=1e-6)


@pytest.mark.parametrize("name", ["clean_guitar", "crunch_guitar", "lead_guitar", "overdrive_guitar"])
def test_guitars_are_bright_like_guitars(name):
    # a played line's average spectrum: a guitar's centroid sits in the low kHz, not the
    # few hundred Hz of a dull sine-like tone (the FluidR3 guitars measure 1.7-2.6 kHz)
    notes = [Note(0.5 * k, 0.45, 52 + (k * 5) % 12, 0.8) for k in range(12)]
    y = render_track(Track("melody", name, "melody", notes), TEMPO, sr=SR, n_samples=4 * SR)
    centroid, rolloff = spectral_shape(y, sr=SR)
    assert 900.0 < centroid < 3500.0, centroid
    assert rolloff < 7000.0


def test_double_tracked_takes_differ():
    notes = [Note(0.5 * k, 0.4, p, 0.8) for k in range(8) for p in (40, 47, 52)]
    takes = [render_track(Track("harmony", name, "harmony", notes), TEMPO, sr=SR, n_samples=3 * SR)
             for name in ("overdrive_guitar", "overdrive_guitar_2")]
    r = np.corrcoef(takes[0], takes[1])[0, 1]
    assert r < 0.8, r


def test_skipping_a_known_rest_changes_nothing_audible():
    from aimusic.synth.guitar import Amp

    rng = np.random.default_rng(3)
    x = np.zeros(3 * SR, dtype=np.float32)
    x[:SR] = rng.standard_normal(SR) * np.hanning(SR)          # a phrase, a rest, a phrase
    x[2 * SR:] = rng.standard_normal(SR) * np.hanning(SR)
    full, skipped = x.copy(), x.copy()
    Amp("high_gain", "closed_4x12", sr=SR, pre=20.0, post=1.0)(full)
    quiet = np.array([[SR + int(0.1 * SR), 2 * SR]])
    amp = Amp("high_gain", "closed_4x12", sr=SR, pre=20.0, post=1.0, quiet=quiet)
    for c0 in range(0, x.size, 9973):                           # streamed in odd chunks
        amp(skipped[c0:c0 + 9973], c0)
    assert np.max(np.abs(full - skipped)) < 1e-6 * np.max(np.abs(full))
    assert not np.any(skipped[quiet[0, 0]:quiet[0, 1]])
