"""Additive synthesizer: timbres and drum kits as data, rendered into one stem per track."""
from __future__ import annotations

import logging

from ..forked import can_fork
from . import tables
from .instruments import TIMBRES
from .levels import is_calibrated, measure_calibrations, timbre_calibration
from .render import render_stems, render_track, track_streams
from .stream import TrackStream
from .voice import build_noise_tables, has_noise_table, noise_bands
from .voice import warm_up as _warm_noise

__all__ = ["TrackStream", "amped_timbres", "collect_tables", "render_stems", "render_track", "start_warm_up",
           "track_streams", "warm_up"]

log = logging.getLogger(__name__)


def amped_timbres() -> set[str]:
    """The timbres played through an amplifier (the guitars), whose calibrations cost the most."""
    return {name for name, timbre in TIMBRES.items() if timbre.amp}


def collect_tables() -> None:
    """Wait for the tables a copy of this process is building, and keep them (:mod:`.tables`)."""
    tables.collect()


def _build(names: list[str], bands: list[tuple[float, float]], sr: int) -> dict[str, dict]:
    """What a copy of the process builds: the calibrations of ``names`` and the noise tables of ``bands``."""
    return {"calibration": measure_calibrations(names, sr), "noise": build_noise_tables(bands, sr)}


def _build_elsewhere(names: list[str], bands: list[tuple[float, float]], sr: int) -> None:
    keys = [("calibration", name, sr) for name in names] + [("noise", lo, hi, sr) for lo, hi in bands]
    tables.build_elsewhere(_build, keys, names, bands, sr)


def _uncalibrated(sr: int) -> list[str]:
    return [name for name in TIMBRES
            if not is_calibrated(name, sr) and not tables.is_pending(("calibration", name, sr))]


def start_warm_up(*, sr: int) -> None:
    """Start building every calibration and noise table in a copy of this process, where one can run.

    For a process with more to do before its warm-up (a server importing its app): the copy
    works on the second core meanwhile, and :func:`warm_up` then finds the tables built or
    being built.
    """
    names = _uncalibrated(sr)
    bands = [(lo, hi) for lo, hi in noise_bands() if not has_noise_table(lo, hi, sr)]
    if (names or bands) and can_fork():
        _build_elsewhere(names, bands, sr)
        log.debug("start: the synthesizer's tables built in a copy of the process")


def warm_up(*, sr: int) -> None:
    """Build the noise tables and the timbres' level calibrations now (once, before forking).

    The amplified timbres cost most, their drive curves, each about a third of all the other
    timbres and the noise tables together: where a second core is free
    (:func:`aimusic.forked.can_fork`), a copy of this process measures all of them but one
    meanwhile, unless :func:`start_warm_up` has had every table built so already. They are
    collected when a render first needs one, by :func:`collect_tables`, or at the latest before
    the process forks, so work done after this (the warm-up's renders of styles without
    guitars) overlaps them. The numbers are the same, only sooner.
    """
    todo = _uncalibrated(sr)
    amped = sorted(amped_timbres() & set(todo))
    elsewhere = amped[:-1] if len(amped) > 1 and can_fork() else []
    if elsewhere:
        _build_elsewhere(elsewhere, [], sr)
        log.debug("warm-up: calibrations of %s measured in a copy of the process meanwhile", ", ".join(elsewhere))
    _warm_noise(sr=sr)
    for name in todo:
        if name not in elsewhere:
            timbre_calibration(name, sr)
