"""The echo send bus: pedalboard's Delay to the bit, whatever the chunking, and its feedback decay."""
import numpy as np
import pedalboard as pb
import pytest

from aimusic.sends import DelaySend, FeedbackDelay

SR = 44100


def _noise(seconds: float, channels: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((channels, int(seconds * SR)))).astype(np.float32)


def _in_chunks(process, x: np.ndarray, step: int) -> np.ndarray:
    return np.concatenate([process(x[:, c0:c0 + step]) for c0 in range(0, x.shape[1], step)], axis=1)


@pytest.mark.parametrize("seconds, feedback, step", [
    (0.375, 0.35, 4 * SR),      # electronic's echo, the mix's 4 s chunks
    (0.5, 0.45, 4 * SR),        # ambient's
    (0.3, 0.6, 1000),           # chunks shorter than the delay
    (0.25, 0.3, 11025),         # chunks of exactly a delay's length
])
def test_feedback_delay_is_pedalboards_delay_to_the_bit(seconds: float, feedback: float, step: int) -> None:
    x = _noise(6.0)
    board = pb.Pedalboard([pb.Delay(delay_seconds=seconds, feedback=feedback, mix=1.0)])
    theirs = _in_chunks(lambda c: board(c, SR, reset=False), x, step)
    line = FeedbackDelay(seconds, feedback)
    ours = _in_chunks(lambda c: line(c, SR), x, step)
    assert ours.dtype == np.float32 and ours.shape == x.shape
    assert np.array_equal(ours, theirs)


def test_echoes_repeat_at_the_delay_and_fall_by_the_feedback() -> None:
    x = np.zeros((1, 3 * SR), dtype=np.float32)
    x[0, 100] = 1.0
    y = FeedbackDelay(0.5, 0.4)(x, SR)[0]
    heard = np.flatnonzero(y)
    assert list(heard[:4]) == [100 + 22050 * k for k in range(1, 5)]
    assert np.allclose(y[heard[:4]], [1.0, 0.4, 0.16, 0.064], rtol=1e-6)


def test_delay_send_is_the_filtered_board_and_reset_forgets_the_tail() -> None:
    x = _noise(3.0, seed=1)
    board = pb.Pedalboard([pb.HighpassFilter(cutoff_frequency_hz=250.0),
                           pb.Delay(delay_seconds=0.4, feedback=0.3, mix=1.0),
                           pb.LowpassFilter(cutoff_frequency_hz=6000.0)])
    send = DelaySend(0.4, 0.3)
    step = 2 * SR
    assert np.array_equal(_in_chunks(lambda c: send(c, SR, reset=False), x, step),
                          _in_chunks(lambda c: board(c, SR, reset=False), x, step))
    silence = np.zeros_like(x)
    assert np.any(send(silence, SR, reset=False))          # the tail still rings
    assert not np.any(send(silence, SR, reset=True))       # reset: nothing left
