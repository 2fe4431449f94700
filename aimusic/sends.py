"""The send buses of a mix: the echo and the room every part sends a share of itself to.

The room is pedalboard's Reverb. The echo is a feedback delay line: what pedalboard's
``Delay`` (wet only) computes, sample for sample (``tests/test_sends.py`` compares, to the
bit), worked a delay's length at a time in NumPy. A delay line holds no arithmetic but
one multiply and one add a sample, and pedalboard's runs them one sample at a time: for the
0.375 s delay of a 4 s chunk the NumPy one is about ten times faster. Both buses are linear
and time-invariant, so what several buses make of their parts' sends sums to what one bus
makes of the summed sends (:mod:`aimusic.stems` relies on it).
"""
from __future__ import annotations

import numpy as np
import pedalboard as pb

from .score import Score
from .styles import MixSpec

DELAY_HIGHPASS_HZ = 250.0    # the echo leaves the low end to the dry parts
DELAY_LOWPASS_HZ = 6000.0    # ... and each repeat is darker than a tape-less copy would be
REVERB_HIGHPASS_HZ = 180.0   # no boom in the room


class FeedbackDelay:
    """A feedback delay line, wet only: ``out[n] = x[n - D] + feedback * out[n - D]``.

    ``D`` is ``int(seconds * sr)`` samples, as pedalboard's ``Delay`` takes it; the line's
    state carries from one call to the next (the chunks of a stream), per channel.
    """

    def __init__(self, seconds: float, feedback: float) -> None:
        self.seconds = float(seconds)
        self.feedback = np.float32(feedback)
        self.sr: int | None = None
        self.line: np.ndarray | None = None   # (channels, D): what goes out over the next D samples

    def __call__(self, x: np.ndarray, sr: int) -> np.ndarray:
        """The echoes of ``x`` ((channels, m) float32), a new array; the line keeps its tail."""
        x = np.asarray(x, dtype=np.float32)
        if self.line is None or self.sr != sr or self.line.shape[0] != x.shape[0]:
            self.sr = sr
            self.line = np.zeros((x.shape[0], max(int(self.seconds * sr), 1)), dtype=np.float32)
        out = np.empty_like(x)
        delay = self.line.shape[1]
        for c0 in range(0, x.shape[1], delay):      # a delay's length: out depends on earlier input alone
            k = min(delay, x.shape[1] - c0)
            now = out[:, c0:c0 + k]
            now[...] = self.line[:, :k]
            fed = now * self.feedback                # the line is fed what comes out, turned down, plus what comes in
            fed += x[:, c0:c0 + k]
            self.line = np.concatenate([self.line[:, k:], fed], axis=1)
        return out


class DelaySend:
    """The echo bus: high-pass, :class:`FeedbackDelay`, low-pass; called as a pedalboard is."""

    def __init__(self, seconds: float, feedback: float) -> None:
        self.before = pb.Pedalboard([pb.HighpassFilter(cutoff_frequency_hz=DELAY_HIGHPASS_HZ)])
        self.delay = FeedbackDelay(seconds, feedback)
        self.after = pb.Pedalboard([pb.LowpassFilter(cutoff_frequency_hz=DELAY_LOWPASS_HZ)])

    def __call__(self, x: np.ndarray, sr: int, reset: bool = False) -> np.ndarray:
        """The echoes of the (channels, m) send ``x``; state kept across calls unless ``reset``."""
        if reset:
            self.delay.line = None
        return self.after(self.delay(self.before(x, sr, reset=reset), sr), sr, reset=reset)


def send_boards(spec: MixSpec, score: Score) -> tuple[DelaySend, pb.Pedalboard]:
    """Fresh (delay, reverb) send buses of a style's mix (one pair per bus being rendered).

    The echo repeats every ``spec.delay_seconds``, or a dotted eighth of the piece's tempo.
    """
    delay = DelaySend(spec.delay_seconds or 0.75 * score.tempo.seconds_per_beat, spec.delay_feedback)
    reverb = pb.Pedalboard([
        pb.HighpassFilter(cutoff_frequency_hz=REVERB_HIGHPASS_HZ),
        pb.Reverb(room_size=spec.reverb_room, damping=spec.reverb_damping, width=spec.reverb_width,
                  wet_level=1.0, dry_level=0.0)])
    return delay, reverb
