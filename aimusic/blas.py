"""One BLAS thread for a render or a calibration, without rescanning the loaded libraries each time.

``threadpoolctl.threadpool_limits`` looks through every shared library of the process at each
call (1.5 ms in a server); a render asks once, a server's start a few dozen times. The libraries
that matter (NumPy's own BLAS) are loaded with NumPy, long before the first render, so the
scan is done once and its controller kept.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from threadpoolctl import ThreadpoolController


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def one_thread() -> Any:
    """A context manager inside which the BLAS and OpenMP pools run one thread (``threadpool_limits(1)``)."""
    return _controller().limit(limits=1)
