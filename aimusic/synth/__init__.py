"""Additive synthesizer: timbres and drum kits as data, rendered into one stem per track."""
from __future__ import annotations

import logging

from ..forked import can_fork
from .instruments import TIMBRES
from .levels import calibrate_elsewhere, collect_calibrations, is_calibrated, is_pending, timbre_calibration
from .render import render_stems, render_track, track_streams
from .stream import TrackStream
from .voice import warm_up as _warm_noise

__all__ = ["TrackStream", "amped_timbres", "collect_calibrations", "render_stems", "render_track", "start_warm_up",
           "track_streams", "warm_up"]

log = logging.getLogger(__name__)


def amped_timbres() -> set[str]:
    """The timbres played through an amplifier (the guitars), whose calibrations cost the most."""
    return {name for name, timbre in TIMBRES.items() if timbre.amp}


def _uncalibrated(sr: int) -> list[str]:
    return [name for name in TIMBRES if not is_calibrated(name, sr) and not is_pending(name, sr)]


def start_warm_up(*, sr: int) -> None:
    """Start measuring every timbre's calibration in a copy of this process, where one can run.

    For a process with more to do before its warm-up (a server importing its app): the copy
    works on the second core meanwhile, and :func:`warm_up` then finds the calibrations
    measured or being measured.
    """
    todo = _uncalibrated(sr)
    if todo and can_fork():
        calibrate_elsewhere(todo, sr)
        log.debug("start: calibrations of every timbre measured in a copy of the process")


def warm_up(*, sr: int) -> None:
    """Build the noise tables and the timbres' level calibrations now (once, before forking).

    The amplified timbres cost most, their drive curves, each about a third of all the other
    timbres and the noise tables together: where a second core is free
    (:func:`aimusic.forked.can_fork`), a copy of this process measures all of them but one
    meanwhile (:func:`~aimusic.synth.levels.calibrate_elsewhere`), unless :func:`start_warm_up`
    has had every calibration measured so already. They are collected when a render first needs
    one, by :func:`collect_calibrations`, or at the latest before the process forks, so work
    done after this (the warm-up's renders of styles without guitars) overlaps them. The
    numbers are the same, only sooner.
    """
    todo = _uncalibrated(sr)
    amped = sorted(amped_timbres() & set(todo))
    elsewhere = amped[:-1] if len(amped) > 1 and can_fork() else []
    if elsewhere:
        calibrate_elsewhere(elsewhere, sr)
        log.debug("warm-up: calibrations of %s measured in a copy of the process meanwhile", ", ".join(elsewhere))
    _warm_noise(sr=sr)
    for name in todo:
        if name not in elsewhere:
            timbre_calibration(name, sr)
