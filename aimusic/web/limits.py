"""Load limits: a bounded number of generations at once, and an optional rate limit.

The generation slots are ``flock`` locks on N small files in a folder: the kernel
counts them across every gunicorn worker process and releases a slot when its holder
dies, so a killed worker can never leak one. Each acquisition opens its own file
description, so threads of one process exclude each other too.
"""
from __future__ import annotations

import fcntl
import math
import os
import threading
import time
from collections import deque
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


class Overloaded(Exception):
    """Every generation slot is taken."""


class GenerationSlots:
    """At most ``count`` holders at once across processes sharing ``lock_dir``."""

    def __init__(self, lock_dir: Path, count: int) -> None:
        if count < 1:
            raise ValueError("MAX_CONCURRENT_GENERATIONS must be at least 1")
        self.lock_dir = Path(lock_dir)
        self.count = count

    def _paths(self) -> list[Path]:
        return [self.lock_dir / f"slot-{i}.lock" for i in range(self.count)]

    @contextmanager
    def acquire(self) -> Iterator[int]:
        """Hold one free slot for the ``with`` block; raise :class:`Overloaded` if none is free."""
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        for index, path in enumerate(self._paths()):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield index
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            return
        raise Overloaded(f"all {self.count} generation slots are busy")


class RateLimiter:
    """Sliding one-minute window per client, in memory (per worker process).

    Parameters
    ----------
    per_minute : int
        Requests allowed per client in any 60 s window; 0 turns the limit off.
    clock : callable
        Monotonic time in seconds.
    """

    WINDOW_S = 60.0

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = max(0, int(per_minute))
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether any limit applies."""
        return self.per_minute > 0

    def hit(self, client: str) -> int | None:
        """Count one request from ``client``; the seconds to wait when over the limit, else None."""
        if not self.enabled:
            return None
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(client, deque())
            while hits and now - hits[0] >= self.WINDOW_S:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(1, math.ceil(self.WINDOW_S - (now - hits[0])))
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle clients so memory stays bounded
                self._hits = {k: v for k, v in self._hits.items() if v and now - v[-1] < self.WINDOW_S}
            return None
