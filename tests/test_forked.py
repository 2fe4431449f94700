"""Work in a forked copy of the process: its result comes back as it would be computed here, failures as errors."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from aimusic import forked
from aimusic.forked import Forked, ForkedError, can_fork
from aimusic import synth
from aimusic.synth import levels, tables, voice
from aimusic.synth.instruments import TIMBRES

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def _fail() -> None:
    raise ValueError("no such thing")


def _die() -> None:
    os._exit(3)


def test_a_calibration_measured_in_a_copy_is_the_one_measured_here():
    names = ["overdrive_guitar", "piano"]
    there = Forked(levels.measure_calibrations, names, 44100).result()
    for name in names:
        here = levels.measure_calibration(name, 44100)
        crest, colour, curve = there[(name, 44100)]
        assert crest == here[0] and colour == here[1] and np.array_equal(curve, here[2]) and curve.dtype == here[2].dtype


def test_a_large_result_comes_back_whole():
    value = Forked(np.arange, 3_000_000).result()          # 24 MB through the pipe
    assert np.array_equal(value, np.arange(3_000_000))


def test_failures_in_the_copy_are_errors_here():
    with pytest.raises(ForkedError, match="ValueError: no such thing"):
        Forked(_fail).result()
    with pytest.raises(ForkedError, match="gave no result"):
        Forked(_die).result()


def test_a_copy_that_does_not_answer_is_ended():
    helper = Forked(threading.Event().wait)
    with pytest.raises(ForkedError, match="no answer"):
        helper.result(timeout=0.5)
    with pytest.raises(ChildProcessError):
        os.waitpid(helper.pid, os.WNOHANG)                  # reaped


def test_a_copy_only_where_it_gains_and_is_safe(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.3, 0.3, 0.3))
    assert can_fork() == (threading.active_count() == 1)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not can_fork(), "another thread's locks could be inherited held"
    finally:
        stop.set()
        thread.join()
    monkeypatch.setattr(os, "getloadavg", lambda: (1.4, 1.0, 1.0))
    assert forked.can_fork() == (threading.active_count() == 1), "more than half a core free"
    monkeypatch.setattr(os, "getloadavg", lambda: (1.6, 1.0, 1.0))
    assert not forked.can_fork(), "both cores busy: a copy would take this process's share"
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert not forked.can_fork(), "one core: nothing to gain"


@pytest.fixture
def fresh_tables(monkeypatch):
    """No calibration, noise table or pending copy kept yet (as in a new process)."""
    monkeypatch.setattr(levels, "_CALIBRATIONS", {})
    monkeypatch.setattr(voice, "_NOISE_TABLES", {})
    monkeypatch.setattr(tables, "_PENDING", {})


def _calibrated() -> set[str]:
    return {name for name, _ in levels._CALIBRATIONS}


def _pending(kind: str) -> set:
    return {key[1:] for key in tables._PENDING if key[0] == kind}


@pytest.mark.parametrize("copy_fails", [False, True])
def test_the_warm_up_calibrates_every_timbre_as_a_render_would(monkeypatch, fresh_tables, copy_fails):
    monkeypatch.setattr(synth, "can_fork", lambda: True)
    if copy_fails:                      # what the copy runs raises: those are measured here when asked for
        monkeypatch.setattr(synth, "measure_calibrations", lambda names, sr: _fail())
    synth.warm_up(sr=44100)
    pending = {name for name, _ in _pending("calibration")}
    assert pending == set(sorted(synth.amped_timbres())[:-1]), "the guitars but one, measured meanwhile"
    assert _calibrated() == set(TIMBRES) - pending
    assert len(voice._NOISE_TABLES) == len(voice.noise_bands())
    crest, colour, curve = levels.timbre_calibration("clean_guitar", 44100)   # waits for the copy
    assert not tables._PENDING
    assert _calibrated() == (set(TIMBRES) - pending) | ({"clean_guitar"} if copy_fails else pending)
    for name, (crest, colour, curve) in [("clean_guitar", (crest, colour, curve)),
                                         ("piano", levels.timbre_calibration("piano", 44100))]:
        here = levels.measure_calibration(name, 44100)
        assert crest == here[0] and colour == here[1] and np.array_equal(curve, here[2])


def test_a_start_has_every_table_built_by_a_copy_and_the_warm_up_collects_them(monkeypatch, fresh_tables):
    monkeypatch.setattr(synth, "can_fork", lambda: True)
    synth.start_warm_up(sr=44100)                 # what gunicorn.conf.py does when it is read
    assert {name for name, _ in _pending("calibration")} == set(TIMBRES)
    assert {(lo, hi) for lo, hi, _ in _pending("noise")} == set(voice.noise_bands())
    synth.warm_up(sr=44100)                       # finds them all being built: builds nothing itself
    assert not _calibrated() and not voice._NOISE_TABLES and tables._PENDING
    band = voice.noise_bands()[0]
    table = voice._noise_table(*band, 44100)      # the first read collects the copy's answer
    assert not tables._PENDING and _calibrated() == set(TIMBRES)
    assert not table.flags.writeable and np.array_equal(table, voice.build_noise_table(*band, 44100))
    assert len(voice._NOISE_TABLES) == len(voice.noise_bands())


def test_a_fork_collects_the_tables_being_built_first(fresh_tables):
    synth._build_elsewhere(["crunch_guitar"], [], 44100)
    assert tables._PENDING
    pid = os.fork()                     # as gunicorn forks a worker
    if pid == 0:
        os._exit(0 if not tables._PENDING and levels.is_calibrated("crunch_guitar", 44100) else 1)
    assert os.waitpid(pid, 0)[1] == 0, "the child inherits them collected"
    assert not tables._PENDING and levels.is_calibrated("crunch_guitar", 44100)
