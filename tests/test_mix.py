"""Mixer and mastering: loudness, peaks, DC, ends, audibility of every part, ducking."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from aimusic.compose.arrange import compose
from aimusic.compose.markov import MarkovMelodist
from aimusic.compose.planner import plan_song
from aimusic.mastering import limit, master, true_peak_db
from aimusic.mix import duck_envelope, mix_score, pan_gains, render_mix
from aimusic.score import KICK, Note, Score, TempoMap, Track
from aimusic.styles import STYLE_NAMES, get_style
from aimusic.synth.render import render_stems

SR = 44100
SECONDS = 8.0


def oversampled_peak_db(y: np.ndarray) -> float:
    up = signal.resample_poly(y.astype(np.float64), 4, 1, axis=0)
    return float(20 * np.log10(np.max(np.abs(up))))


def lufs(y: np.ndarray) -> float:
    return float(pyloudnorm.Meter(SR).integrated_loudness(y.astype(np.float64)))


@pytest.fixture(scope="module")
def rendered():
    """Score, stems and mix of a short piece per style, composed and rendered for real."""
    cache = {}

    def get(style_name: str):
        if style_name not in cache:
            style = get_style(style_name)
            rng = np.random.default_rng(7)
            plan = plan_song(style, duration=SECONDS, tempo=None, key=None, seed=7, rng=rng)
            score = compose(plan, style, MarkovMelodist(), rng=rng)
            stems = render_stems(score, sr=SR, n_samples=int(SECONDS * SR))
            cache[style_name] = (score, stems, mix_score(stems, score, style, sr=SR))
        return cache[style_name]

    return get


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_mix_is_mastered(rendered, style):
    _, _, mix = rendered(style)
    n = int(SECONDS * SR)
    assert mix.shape == (n, 2) and mix.dtype == np.float32
    assert np.all(np.isfinite(mix))
    assert abs(lufs(mix) - (-14.0)) <= 1.0
    assert oversampled_peak_db(mix) <= -1.0
    assert np.max(np.abs(np.mean(mix, axis=0))) < 1e-3            # no DC
    tail = np.abs(mix[-int(0.001 * SR):]).max()
    assert tail < 0.01 * np.abs(mix).max() and np.all(mix[-1] == 0.0)   # faded to zero
    # 16-bit PCM conversion never clips
    assert np.max(np.abs(mix)) * 32767 < 32767


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_every_stem_is_audible_in_the_mix(rendered, style):
    score, stems, mix = rendered(style)
    spec = get_style(style)
    for name in stems:
        silenced = dict(stems, **{name: np.zeros_like(stems[name])})
        without = mix_score(silenced, score, spec, sr=SR)
        diff = np.mean((mix.astype(np.float64) - without) ** 2)
        share_db = 10 * np.log10(diff / np.mean(mix.astype(np.float64) ** 2))
        assert share_db > -25.0, f"{name} contributes only {share_db:.1f} dB"


def test_mix_is_deterministic(rendered):
    score, stems, mix = rendered("jazz")
    again = mix_score({k: v.copy() for k, v in stems.items()}, score, get_style("jazz"), sr=SR)
    np.testing.assert_array_equal(mix, again)


@pytest.mark.parametrize("pan", [-1.0, -0.3, 0.0, 0.5, 1.0])
def test_panning_is_constant_power(pan):
    left, right = pan_gains(pan)
    assert left ** 2 + right ** 2 == pytest.approx(1.0)
    assert (left > right) == (pan < 0) or pan == 0.0


def test_hard_panned_part_lands_in_one_channel():
    score = Score([Track("melody", "flute", "melody", [Note(0.0, 6.0, 72)], pan=-1.0)], TempoMap(120.0),
                  4, 4, "C major", 4.0)
    stems = render_stems(score, sr=SR, n_samples=4 * SR)
    style = get_style("classical")
    mix = mix_score(stems, score, replace(style, parts=tuple(replace(p, reverb_send=0.0) for p in style.parts)),
                    sr=SR)
    assert np.sum(mix[:, 0] ** 2) > 1000 * np.sum(mix[:, 1] ** 2)


def ducking_score(bpm: float = 120.0) -> Score:
    kicks = [Note(float(b), 0.5, KICK, 1.0) for b in range(2, 14)]
    pad = Track("pad", "synth_pad", "pad", [Note(0.0, 16.0, 69, 0.8)])
    return Score([pad, Track("drums", "electronic_kit", "drums", kicks)], TempoMap(bpm), 4, 4, "A minor", 8.0)


def pad_mono(duck: float) -> np.ndarray:
    """The pad of :func:`ducking_score` alone (the kick notes kept, their sound silenced), mixed in mono."""
    style = get_style("electronic")
    style = replace(style, mix=replace(style.mix, sidechain_duck=duck))
    score = ducking_score()
    stems = render_stems(score, sr=SR, n_samples=8 * SR)
    stems["drums"] = np.zeros_like(stems["drums"])
    return np.mean(mix_score(stems, score, style, sr=SR), axis=1).astype(np.float64)


def windows_db(ducked: np.ndarray, flat: np.ndarray, start_s: float, end_s: float) -> float:
    """Power of ``ducked`` against ``flat`` in the window ``start_s``..``end_s`` after each kick.

    Measured against the same pad without ducking, so the pad's own ensemble beating cancels out.
    """
    num, den = [], []
    for beat in range(4, 14):
        k = int(beat * 0.5 * SR)
        a, b = k + int(start_s * SR), k + int(end_s * SR)
        num.append(np.mean(ducked[a:b] ** 2))
        den.append(np.mean(flat[a:b] ** 2))
    return float(10 * np.log10(np.mean(num) / np.mean(den)))


def test_sidechain_ducking_is_measurable():
    assert get_style("electronic").mix.sidechain_duck > 0
    ducked, flat = pad_mono(0.6), pad_mono(0.0)
    assert windows_db(ducked, flat, 0.01, 0.05) < -2.5      # the pad dips just after each kick
    assert abs(windows_db(ducked, flat, -0.06, -0.02)) < 1.0  # and is back before the next one


def test_duck_envelope_shape():
    env = duck_envelope(np.array([0.5, 1.0, 1.02]), sr=SR, n=2 * SR, depth=0.6, recover_s=0.1)
    assert env.shape == (2 * SR,) and env.dtype == np.float32
    assert env[0] == 1.0 and env[int(0.4 * SR)] == 1.0
    assert env[int(0.5 * SR)] == pytest.approx(0.4, abs=0.01)
    assert env[int(0.95 * SR)] > 0.95                                  # recovered before the next kick
    assert np.max(np.abs(np.diff(env))) < 0.01                         # no jumps, even for close kicks


def test_quiet_sparse_music_reaches_target_without_pumping():
    # ambient-like: soft sustained tone with rare loud bell strikes
    t = np.arange(10 * SR) / SR
    bed = 0.02 * np.sin(2 * np.pi * 220 * t)
    strikes = np.zeros_like(t)
    for s in (1.0, 4.5, 8.0):
        k = int(s * SR)
        strikes[k:] += 0.6 * np.exp(-(t[k:] - s) * 6) * np.sin(2 * np.pi * 1320 * (t[k:] - s))
    y = np.stack([bed + strikes, bed + 0.8 * strikes], axis=1).astype(np.float32)
    out = master(y, sr=SR)
    assert abs(lufs(out) - (-14.0)) <= 1.0
    assert oversampled_peak_db(out) <= -1.0
    # the bed between strikes is steady: its level wobbles by well under a dB (no pumping)
    gain = np.abs(out[:, 0]) / np.maximum(np.abs(y[:, 0]), 1e-9)
    quiet = gain[int(3.0 * SR):int(4.4 * SR)][np.abs(y[int(3.0 * SR):int(4.4 * SR), 0]) > 0.01]
    assert 20 * np.log10(np.max(quiet) / np.min(quiet)) < 0.5


def test_limiter_holds_the_true_peak_ceiling():
    rng = np.random.default_rng(5)
    sos = signal.butter(4, 8000.0, fs=SR, output="sos")   # music-like band, not white
    y = signal.sosfilt(sos, rng.standard_normal((3 * SR, 2)) * 0.3, axis=0).astype(np.float32)
    y[SR] = 3.0                                                           # a wild spike
    out = limit(y, sr=SR, ceiling_db=-1.0)
    assert oversampled_peak_db(out) <= -0.95
    assert np.mean(out[: SR // 2] ** 2) > 0.5 * np.mean(y[: SR // 2] ** 2)   # far from the spike: untouched-ish


def test_true_peak_estimate_agrees_with_oversampling():
    t = np.arange(SR) / SR
    # a quarter-sample-rate sine sampled 45 degrees off its crests: peaks fall between samples
    y = (0.9 * np.sin(2 * np.pi * (SR / 4) * t + np.pi / 4)).astype(np.float32)[:, None]
    assert true_peak_db(y) == pytest.approx(oversampled_peak_db(y), abs=0.2)
    assert true_peak_db(y) > 20 * np.log10(np.max(np.abs(y))) + 0.3


@pytest.mark.parametrize("seconds", [0.5, 3.3, 12.0])
def test_streamed_loudness_equals_pyloudnorm(seconds):
    from aimusic.mastering import integrated_loudness

    rng = np.random.default_rng(11)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    y = np.stack([0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 0.3 * t)),
                  0.05 * rng.standard_normal(n)], axis=1).astype(np.float32)
    assert integrated_loudness(y, sr=SR) == pytest.approx(lufs(y), abs=0.05)


def test_silent_stems_give_silence_not_noise():
    score = ducking_score()
    stems = {t.name: np.zeros(2 * SR, dtype=np.float32) for t in score.tracks}
    mix = mix_score(stems, score, get_style("electronic"), sr=SR)
    assert mix.shape == (2 * SR, 2) and np.all(np.isfinite(mix)) and not np.any(mix)


def test_chorus_makes_a_centred_pad_wide():
    pad = Track("pad", "synth_pad", "pad", [Note(0.0, 12.0, 57, 0.8), Note(0.0, 12.0, 64, 0.8)], pan=0.0)
    score = Score([pad], TempoMap(120.0), 4, 4, "A minor", 6.0)
    stems = render_stems(score, sr=SR, n_samples=6 * SR)
    style = get_style("electronic")
    dry = tuple(replace(p, reverb_send=0.0, effects={}) for p in style.parts)

    def side_share(parts):
        mix = mix_score(stems, score, replace(style, parts=parts), sr=SR).astype(np.float64)
        side, mid = mix[:, 0] - mix[:, 1], mix[:, 0] + mix[:, 1]
        return np.sum(side ** 2) / np.sum(mid ** 2)

    wide = tuple(replace(p, effects={"chorus": 0.5}) if p.role == "pad" else p for p in dry)
    assert side_share(dry) < 1e-6
    assert side_share(wide) > 0.01


@pytest.mark.parametrize("style_name", ["rock", "ambient"])
def test_streamed_render_mix_is_mastered_and_independent_of_the_note_cache(style_name):
    from aimusic.synth.render import NOTE_CACHE

    style = get_style(style_name)
    rng = np.random.default_rng(9)
    score = compose(plan_song(style, duration=6.0, tempo=None, key=None, seed=9, rng=rng), style,
                    MarkovMelodist(), rng=rng)
    n = 6 * SR + 123
    NOTE_CACHE.clear()
    cold = render_mix(score, style, sr=SR, n_samples=n)
    warm = render_mix(score, style, sr=SR, n_samples=n)
    np.testing.assert_array_equal(cold, warm)
    assert cold.shape == (n, 2) and cold.dtype == np.float32
    assert abs(lufs(cold) - (-14.0)) <= 1.0
    assert oversampled_peak_db(cold) <= -1.0
    # the streamed mix balances the parts as the mix of whole, measured stems does
    whole = mix_score(render_stems(score, sr=SR, n_samples=n), score, style, sr=SR)
    diff = np.mean((cold.astype(np.float64) - whole) ** 2) / np.mean(whole.astype(np.float64) ** 2)
    assert 10 * np.log10(diff) < -10.0


def test_ambient_swells_in_and_the_others_start_at_once():
    """Ambient's first 1.5 s rise from -60 dB evenly in decibels, so no moment of it is a step;
    a style without a swell has its full level within the first beat."""
    from aimusic.mastering import fade_in

    ramp = fade_in(np.ones((44100 * 2, 1), dtype=np.float32), sr=44100, seconds=1.5)[:, 0]
    db = 20 * np.log10(ramp[: int(1.5 * 44100)])
    assert db[0] == pytest.approx(-60.0) and np.all(ramp[int(1.5 * 44100):] == 1.0)
    assert np.all(np.diff(db) > 0) and np.max(np.diff(db)) < 1e-3     # even steps of 0.9 mdB
    ambient = _opening_levels_db("ambient", None, (0.0, 0.5, 1.0), 2.5)
    assert ambient[0] < -25 and ambient[0] < ambient[1] < ambient[2]
    assert _opening_levels_db("classical", None, (0.0,), 2.5)[0] > -25


def test_a_driving_electronic_track_rises_in_and_a_middle_one_starts_at_once():
    """At a high energy an electronic mix swells in over its first second (its first stab no longer
    slams in from silence); at the middle energy it does not."""
    assert _opening_levels_db("electronic", 0.9, (0.0,), 3.0)[0] < -20 < _opening_levels_db(
        "electronic", 0.5, (0.0,), 3.0)[0]


def _opening_levels_db(style: str, energy: float | None, starts: tuple[float, ...], reference: float) -> list[float]:
    """RMS of the quarter seconds of a 12 s mix at ``starts``, in dB against the one at ``reference``."""
    from aimusic.pipeline import GenerationRequest, generate

    mix = generate(GenerationRequest(style=style, duration=12.0, seed=4, energy=energy), MarkovMelodist()).audio
    rms = [float(np.sqrt(np.mean(mix[int(a * 44100):int((a + 0.25) * 44100)] ** 2)) + 1e-12)
           for a in (*starts, reference)]
    return [20 * np.log10(r / rms[-1]) for r in rms[:-1]]
