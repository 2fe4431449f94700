"""Work done in a forked copy of this process, its result handed back through a pipe.

A server's start is one process's work until gunicorn forks its workers, while the machine
usually has a second core idle. Pure computations the start needs (the synthesizer's
calibrations) can run in a copy of the process meanwhile: the same code on the same data in
the same libraries gives the same numbers, which come back pickled. Only where that is safe
and gains (:func:`can_fork`: a fork-capable OS, no other thread whose locks the copy could
inherit held, a core free); the caller computes the work itself whenever it cannot, or the
copy fails.
"""
from __future__ import annotations

import os
import pickle
import select
import threading
import time
from typing import Any, Callable

RESULT_TIMEOUT_S = 120.0


class ForkedError(RuntimeError):
    """The forked copy failed, or did not answer in time."""


def can_fork() -> bool:
    """Whether :class:`Forked` may run here and gain: fork exists, this is the only thread, and a core is free.

    A core is free enough when the process may run on more cores than the 1-minute load
    average by half a core at least. Measured on two cores (``bench/STARTUP.md``): with one core
    kept busy by another process a copy still saves 0.2 s of a 2.8 s start; at a load of 2.6 it
    saves nothing, and beyond it would only take its share from this process.
    """
    if not hasattr(os, "fork") or threading.active_count() != 1:
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    return cores >= 2 and load <= cores - 0.5


class Forked:
    """``fn(*args)`` running in a forked copy of this process from now; :meth:`result` waits for it."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:                                   # the copy: compute, answer, leave at once
            code = 0
            try:
                os.close(read_fd)
                try:
                    payload = pickle.dumps((True, fn(*args)), protocol=pickle.HIGHEST_PROTOCOL)
                except BaseException as exc:          # noqa: BLE001 - reported to the parent
                    payload = pickle.dumps((False, f"{type(exc).__name__}: {exc}"))
                view = memoryview(payload)
                while view:
                    view = view[os.write(write_fd, view):]
            except BaseException:                     # noqa: BLE001 - nothing may escape the copy
                code = 1
            finally:
                os._exit(code)                        # no atexit handlers, no flushing of the parent's buffers
        os.close(write_fd)
        self.pid, self._fd = pid, read_fd

    def result(self, timeout: float = RESULT_TIMEOUT_S) -> Any:
        """The value ``fn`` returned in the copy; :class:`ForkedError` if it raised, died or timed out."""
        chunks = []
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._fd], [], [], left)[0]:
                    os.kill(self.pid, 9)
                    raise ForkedError(f"no answer from process {self.pid} in {timeout:.0f} s")
                chunk = os.read(self._fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(self._fd)
            os.waitpid(self.pid, 0)
        try:
            ok, value = pickle.loads(b"".join(chunks))
        except Exception as exc:                       # a copy that died mid-answer
            raise ForkedError(f"process {self.pid} gave no result: {exc}") from None
        if not ok:
            raise ForkedError(value)
        return value
