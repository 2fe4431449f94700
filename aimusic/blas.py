"""One BLAS thread for a render or a calibration, without rescanning the loaded libraries each time.

``threadpoolctl.threadpool_limits`` looks through every shared library of the process at each
call (1.5 ms in a server); a render asks once, a server's start a few dozen times. The libraries
that matter (NumPy's own BLAS) are loaded with NumPy, long before the first render, so the
scan is done once and its controller kept; an import since (which may load another library, as
SciPy's own BLAS) has it scanned again, once.
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
