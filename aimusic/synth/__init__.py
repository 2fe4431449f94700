"""Additive synthesizer: timbres and drum kits as data, rendered into one stem per track."""
from __future__ import annotations

from .render import render_stems, render_track
from .voice import warm_up

__all__ = ["render_stems", "render_track", "warm_up"]
