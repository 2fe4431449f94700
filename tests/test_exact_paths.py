"""The phase reduction of the additive engine gives np.mod's bits, near whole turns too."""
from __future__ import annotations

import numpy as np

from aimusic.synth.additive import TURN, one_turn


def test_one_turn_is_np_mod_to_the_bit() -> None:
    rng = np.random.default_rng(5)
    turns = np.arange(1, 200_001, dtype=np.float64) * TURN
    x = np.concatenate([rng.uniform(0.0, 3e6, 500_000), turns, np.nextafter(turns, 0.0),
                        np.nextafter(turns, np.inf), [0.0, TURN / 2, 2.0 ** 24 * TURN * 0.999]])
    assert np.array_equal(one_turn(x.copy()).view(np.uint64), np.mod(x, TURN).view(np.uint64))


def test_one_turn_outside_its_range_falls_back_to_np_mod() -> None:
    x = np.array([-1.0, -TURN, 2.0 ** 30 * TURN + 0.5, 3.0])
    assert np.array_equal(one_turn(x.copy()), np.mod(x, TURN))
