"""Additive synthesizer: timbres and drum kits as data, rendered into one stem per track."""
from __future__ import annotations

import logging

from ..forked import Forked, ForkedError, can_fork
from .instruments import TIMBRES
from .levels import is_calibrated, measure_calibrations, remember_calibrations, timbre_calibration
from .render import render_stems, render_track, track_streams
from .stream import TrackStream
from .voice import warm_up as _warm_noise

__all__ = ["TrackStream", "render_stems", "render_track", "track_streams", "warm_up"]

log = logging.getLogger(__name__)


def warm_up(*, sr: int) -> None:
    """Build the noise tables and the timbres' level calibrations now (once, before forking).

    The amplified timbres (the guitars) cost most, their drive curves, each about a third of
    all the others and the noise tables together: where a second core is free
    (:func:`aimusic.forked.can_fork`), a copy of this process measures all of them but one
    meanwhile and hands them over, which halves the time. The numbers are the same, only sooner.
    """
    todo = [name for name in TIMBRES if not is_calibrated(name, sr)]
    amped = [name for name in todo if TIMBRES[name].amp]
    elsewhere = amped[:-1] if len(amped) > 1 and can_fork() else []
    helper = Forked(measure_calibrations, elsewhere, sr) if elsewhere else None
    _warm_noise(sr=sr)
    for name in todo:
        if name not in elsewhere:
            timbre_calibration(name, sr)
    if helper is not None:
        try:
            remember_calibrations(helper.result())
        except ForkedError as exc:   # measured here instead
            log.warning("warm-up: calibrations measured in process %d failed (%s); measuring them here",
                        helper.pid, exc)
    for name in elsewhere:
        timbre_calibration(name, sr)
