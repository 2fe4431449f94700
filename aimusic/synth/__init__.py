"""Additive synthesizer: timbres and drum kits as data, rendered into one stem per track."""
from __future__ import annotations

from .instruments import TIMBRES
from .levels import timbre_calibration
from .render import render_stems, render_track, track_streams
from .stream import TrackStream
from .voice import warm_up as _warm_noise

__all__ = ["TrackStream", "render_stems", "render_track", "track_streams", "warm_up"]


def warm_up(*, sr: int) -> None:
    """Build the noise tables and the timbres' level calibrations now (once, before forking)."""
    _warm_noise(sr=sr)
    for name in TIMBRES:
        timbre_calibration(name, sr)
