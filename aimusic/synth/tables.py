"""Tables the synthesizer builds once per process, which a forked copy of the process may build instead.

The timbres' calibrations (:mod:`.levels`) and the noise tables (:mod:`.voice`) are pure
functions of their keys. A server's start has a copy of itself build them on the second core
(:class:`aimusic.forked.Forked`) while it imports its app. Their keys, ``(kind, *key)``, are
*pending* until the copy's answer is collected: when one of them is first asked for, by
:func:`collect`, or at the latest before this process forks again, so a gunicorn worker never
inherits a copy half collected. A copy that fails leaves its tables to be built here when asked for.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any, Callable

from ..forked import Forked, ForkedError

log = logging.getLogger(__name__)

_PENDING: dict[tuple, Forked] = {}                       # key -> the copy building it
_KEEPERS: dict[str, Callable[[dict], None]] = {}          # kind -> how its tables are kept
_LOCK = threading.Lock()


def keep_with(kind: str, keep: Callable[[dict], None]) -> None:
    """How tables of ``kind`` built elsewhere are kept here (each module registers its own)."""
    _KEEPERS[kind] = keep


def build_elsewhere(fn: Callable[..., dict[str, dict]], keys: list[tuple], *args: Any) -> None:
    """Start ``fn(*args)`` in a copy of this process; it returns ``{kind: {key: table}}`` for ``keys``."""
    helper = Forked(fn, *args)
    with _LOCK:
        for key in keys:
            _PENDING[key] = helper


def is_pending(key: tuple) -> bool:
    """Whether the table of ``key`` (``(kind, *key)``) is being built by a copy of this process."""
    return key in _PENDING


def collect() -> None:
    """Wait for the copies building tables and keep what they built."""
    with _LOCK:
        helpers = list(dict.fromkeys(_PENDING.values()))
        _PENDING.clear()
        for helper in helpers:
            try:
                built = helper.result()
            except ForkedError as exc:
                log.warning("tables built in process %d failed (%s); they are built here instead", helper.pid, exc)
                continue
            for kind, tables in built.items():
                _KEEPERS[kind](tables)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=collect)
