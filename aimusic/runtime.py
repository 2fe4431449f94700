"""Start-up of a serving process group: settings → library → model → warm caches → app.

Run once, in the gunicorn master before it forks (``preload_app``), so the workers share the
loaded model and the warm caches, and the library is migrated and reconciled exactly once.
Each step's time is logged in one line (``start-up: ...``), wall clock and CPU.
"""
from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

from .config import Settings

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger("aimusic.runtime")


def process_age_s() -> float | None:
    """Seconds since this process started (Linux; None elsewhere), to 10 ms."""
    try:
        with open("/proc/self/stat", "rb") as handle:
            started = int(handle.read().rsplit(b")", 1)[1].split()[19])   # field 22: start time, clock ticks
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class StartupClock:
    """Wall and CPU milliseconds of consecutive start-up steps, the first from the process's start."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, float, float]] = []
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        age = process_age_s()
        if age is not None:   # the interpreter, the server and whatever it imported before the app
            self.steps.append(("launch to app build", age * 1e3, self._cpu * 1e3))

    def done(self, step: str) -> None:
        """Close ``step``: the time since the previous step closed (or since the clock started)."""
        wall, cpu = time.perf_counter(), time.process_time()
        self.steps.append((step, (wall - self._wall) * 1e3, (cpu - self._cpu) * 1e3))
        self._wall, self._cpu = wall, cpu

    def summary(self) -> str:
        """``step 12 ms (cpu 11), ...``, then the total."""
        total = sum(wall for _, wall, _ in self.steps)
        return ", ".join(f"{step} {wall:.0f} ms (cpu {cpu:.0f})" for step, wall, cpu in self.steps) + \
            f"; {total:.0f} ms in all"


def build_app(settings: Settings | None = None) -> Flask:
    """The app a server runs: migrated library, loaded model, warm caches, store reconciled."""
    clock = StartupClock()
    from .web import create_app

    clock.done("app imports")
    settings = settings or Settings.from_env()
    app = create_app(settings)
    clock.done("library and app")
    service = app.extensions["aimusic"]
    service.melodist_info()
    service.model_hash()
    clock.done("model")
    service.prepare()   # the model is loaded by now: warm-up and reconciliation
    clock.done("warm-up and reconcile")
    log.info("start-up: %s", clock.summary())
    return app
