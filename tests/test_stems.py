"""Part stems: one per part, the mix's length, and summed they are the mix."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from aimusic.audio_io import to_pcm16
from aimusic.compose.markov import MarkovMelodist
from aimusic.mix import render_mix
from aimusic.pipeline import GenerationRequest, generate
from aimusic.stems import render_part_stems, sum_figures
from aimusic.styles import STYLES

SR = 44100


@pytest.mark.parametrize("style", ["jazz", "rock", "electronic", "ambient"])
def test_stems_are_one_per_part_aligned_and_sum_to_the_mix(style: str) -> None:
    made = generate(GenerationRequest(style=style, duration=12.0, seed=9), MarkovMelodist())
    mix = to_pcm16(made.audio).astype(np.float32) / 32767.0
    parts = render_part_stems(made.score, STYLES[style], mix, sr=SR)
    roles = list(dict.fromkeys(t.role for t in made.score.tracks))
    assert list(parts.stems) == roles, "one stem per part; a double-tracked part is one stem"
    for role, stem in parts.stems.items():
        assert stem.shape == mix.shape and stem.dtype == np.float32
        assert float(np.max(np.abs(stem))) < 1.0
        assert float(np.sqrt(np.mean(stem ** 2))) > 1e-4, f"{role} stem is silent"
    corr, residual = sum_figures(parts.stems, mix)
    assert (corr, residual) == (pytest.approx(parts.correlation), pytest.approx(parts.residual_db))
    assert corr > 0.999 and residual < -30.0, f"{style}: correlation {corr:.5f}, residual {residual:.1f} dB"


def test_stem_is_time_aligned_with_its_part_mixed_alone() -> None:
    """Each stem against its part rendered and mixed on its own: the best lag is zero, the match close."""
    made = generate(GenerationRequest(style="jazz", duration=8.0, seed=9), MarkovMelodist())
    parts = render_part_stems(made.score, STYLES["jazz"], made.audio, sr=SR)
    for role, stem in parts.stems.items():
        alone = replace(made.score, tracks=[t for t in made.score.tracks if t.role == role])
        reference = render_mix(alone, STYLES["jazz"], sr=SR, n_samples=made.audio.shape[0]).mean(axis=1)
        s = stem.mean(axis=1)
        lags = list(range(-32, 33))
        scores = [float(np.dot(s[32 + k:s.size - 32 + k], reference[32:reference.size - 32])) for k in lags]
        assert lags[int(np.argmax(scores))] == 0, role
        assert np.corrcoef(s, reference)[0, 1] > 0.9, role


def test_stems_keep_each_part_in_its_place_in_the_mix() -> None:
    """Drums are drums: their stem holds the kick's low end, the melody's does not."""
    made = generate(GenerationRequest(style="rock", duration=8.0, seed=9), MarkovMelodist())
    parts = render_part_stems(made.score, STYLES["rock"], made.audio, sr=SR)
    harmony = parts.stems["harmony"]
    left, right = np.sqrt(np.mean(harmony ** 2, axis=0))
    assert 0.5 < left / right < 2.0, "the double-tracked guitars stay on both sides"
    bass = parts.stems["bass"].mean(axis=1)
    spectrum = np.abs(np.fft.rfft(bass))
    f = np.fft.rfftfreq(bass.size, 1.0 / SR)
    assert spectrum[f < 250].sum() > spectrum[f > 1000].sum()


@pytest.mark.parametrize("style", ["ambient", "electronic"])
def test_loop_stems_wrap_like_the_loop_and_sum_to_it(style: str) -> None:
    """A loop's stems carry the tails of its end at their start, as the mix does, so they still sum to it."""
    made = generate(GenerationRequest(style=style, duration=8.0, seed=9, loop=True), MarkovMelodist())
    parts = render_part_stems(made.score, STYLES[style], made.audio, sr=SR, loop_beats=made.plan.total_beats)
    assert all(stem.shape == made.audio.shape for stem in parts.stems.values())
    assert parts.correlation > 0.999 and parts.residual_db < -30.0, (parts.correlation, parts.residual_db)
    first = int(0.05 * SR)
    assert float(np.sqrt(np.mean(sum(parts.stems.values())[:first] ** 2))) > 0.1 * float(
        np.sqrt(np.mean(made.audio ** 2))), "the stems start with the loop's own tails"
