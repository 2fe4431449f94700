"""One BLAS thread for a render or a calibration, without rescanning the loaded libraries each time.

``threadpoolctl.threadpool_limits`` looks through every shared library of the process at each
call (1.5 ms in a server); a render asks once, a server's start a few dozen times. The libraries
that matter (NumPy's own BLAS) are loaded with NumPy, long before the first render, so the
scan is done once and its controller kept; an import since (which may load another library, as
SciPy's own BLAS) has it scanned again, once.

The limit is the process's (a BLAS library has one pool), so :func:`one_thread` counts who is
inside, on every thread: the first in sets it, the last out restores it. Two threads each setting
and restoring it themselves would let one thread's exit give the other's matrix products back
their pool halfway through, and a multi-threaded product rounds differently. A thread that works
for another (a render's helper) must find the limit already held by the thread that started it:
with the OpenBLAS NumPy ships (0.3.31, pthreads), a limit first set on a helper thread is not the
one that helper's own products then see (they run on two threads).
"""
from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from threadpoolctl import ThreadpoolController

_kept: tuple[int, ThreadpoolController] | None = None   # (modules loaded at the scan, its controller)
_lock = threading.Lock()
_inside = 0              # threads (and nested calls) inside one_thread now
_limiter: Any = None     # the limit they share, restored by the last out


def _controller() -> ThreadpoolController:
    """The kept controller, scanned again once modules were imported since (one may bring a BLAS)."""
    global _kept
    loaded = len(sys.modules)
    if _kept is None or _kept[0] != loaded:
        _kept = (loaded, ThreadpoolController())
    return _kept[1]


@contextmanager
def one_thread() -> Iterator[None]:
    """A context manager inside which the BLAS and OpenMP pools run one thread (``threadpool_limits(1)``).

    Held for as long as any thread of the process is inside one (see the module's note).
    """
    global _inside, _limiter
    with _lock:
        if _inside == 0:
            _limiter = _controller().limit(limits=1)
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0:
                _limiter.restore_original_limits()
                _limiter = None
