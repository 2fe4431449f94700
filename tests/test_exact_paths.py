"""Faster paths of the renderer give the bits of the plain computations they stand for."""
from __future__ import annotations

import numpy as np
import pytest

from aimusic.mastering import _interp_samples, block_centres
from aimusic.synth.additive import TURN, one_turn
from aimusic.synth.levels import tone_power


def test_one_turn_is_np_mod_to_the_bit() -> None:
    rng = np.random.default_rng(5)
    turns = np.arange(1, 200_001, dtype=np.float64) * TURN
    x = np.concatenate([rng.uniform(0.0, 3e6, 500_000), turns, np.nextafter(turns, 0.0),
                        np.nextafter(turns, np.inf), [0.0, TURN / 2, 2.0 ** 24 * TURN * 0.999]])
    assert np.array_equal(one_turn(x.copy()).view(np.uint64), np.mod(x, TURN).view(np.uint64))


def test_one_turn_outside_its_range_falls_back_to_np_mod() -> None:
    x = np.array([-1.0, -TURN, 2.0 ** 30 * TURN + 0.5, 3.0])
    assert np.array_equal(one_turn(x.copy()), np.mod(x, TURN))


@pytest.mark.parametrize("blocks", [1, 2, 3, 100, 2049])
def test_block_interpolation_is_np_interp_to_the_bit(blocks: int) -> None:
    rng = np.random.default_rng(blocks)
    gains = np.power(10.0, -np.abs(rng.standard_normal(blocks)))
    centres = block_centres(blocks)
    n = blocks * 32 + 7
    for s0, s1 in [(0, n), (0, 15), (15, 17), (16, 48), (n // 3, n), (5, n - 40)]:
        if s1 > s0:
            want = np.interp(np.arange(s0, s1), centres, gains)
            got = _interp_samples(gains, centres, s0, s1, block=32)
            assert np.array_equal(want.view(np.uint64), got.view(np.uint64))


@pytest.mark.parametrize("name", ["strings", "piano", "synth_pluck", "brass", "organ"])
def test_a_tone_power_cut_short_is_the_start_of_the_whole(name: str) -> None:
    for pitch in (40, 64, 88):
        whole = tone_power(name, pitch, 0.75, 44100)
        for frames in (1, 2, 5, 33):
            part = tone_power(name, pitch, 0.75, 44100, frames=frames)
            m = min(frames, whole.size)
            assert part.size >= m
            assert np.array_equal(part[:m].view(np.uint64), whole[:m].view(np.uint64))
