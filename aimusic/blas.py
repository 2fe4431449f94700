"""One BLAS thread for a render or a calibration, without rescanning the loaded libraries each time.

``threadpoolctl.threadpool_limits`` looks through every shared library of the process at each
call (1.5 ms in a server); a render asks once, a server's start a few dozen times. The libraries
that matter (NumPy's own BLAS) are loaded with NumPy, long before the first render, so the
scan is done once and its controller kept; an import since (which may load another library, as
SciPy's own BLAS) has it scanned again, once.

A thread that works for another (a render's helper) must find the limit already held by the
thread that started it: with the OpenBLAS NumPy ships (0.3.31, pthreads), a limit first set on a
helper thread is not the one that helper's own products then see (they run on two threads, and
a multi-threaded product rounds differently).
"""
from __future__ import annotations

import sys
from typing import Any

from threadpoolctl import ThreadpoolController

_kept: tuple[int, ThreadpoolController] | None = None   # (modules loaded at the scan, its controller)


def _controller() -> ThreadpoolController:
    """The kept controller, scanned again once modules were imported since (one may bring a BLAS)."""
    global _kept
    loaded = len(sys.modules)
    if _kept is None or _kept[0] != loaded:
        _kept = (loaded, ThreadpoolController())
    return _kept[1]


def one_thread() -> Any:
    """A context manager inside which the BLAS and OpenMP pools run one thread (``threadpool_limits(1)``)."""
    return _controller().limit(limits=1)
