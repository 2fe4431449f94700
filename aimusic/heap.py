"""Handing the heap's free pages back to the OS (glibc's ``malloc_trim``; a no-op elsewhere).

glibc keeps freed memory for reuse, and after a large block is freed it raises the size from
which a block gets a mapping of its own (up to 32 MB), so the buffers of a long track come from
the heap and stay there once freed: a worker that made one keeps hundreds of MB that nobody
uses, counted in its RSS until the same sizes are asked for again. The mix returns them between
its stages; :class:`~aimusic.slots.GenerationSlots` when a process's last generation ends.

A threaded server has a second cost: glibc gives each thread that allocates while another holds
the lock an arena of its own (up to eight per core), and what a generation frees in one arena is
not reused by the next generation in another. :func:`limit_arenas` caps them; a 2-worker server
measured at rest after 60 s of four clients held 286 and 294 MB per worker with the default
arenas, 227-239 MB with two, at the same throughput (``bench/bench_web_load.py --seconds 60``).
"""
from __future__ import annotations

import ctypes
import ctypes.util

try:
    _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
    _LIBC.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
except (OSError, AttributeError):   # not glibc
    _LIBC = None

M_ARENA_MAX = -8       # glibc's mallopt parameter
SERVING_ARENAS = 2     # malloc arenas of a serving process and the workers forked from it


def limit_arenas(count: int = SERVING_ARENAS) -> bool:
    """Let this process's threads share at most ``count`` malloc arenas; True when glibc took it.

    Call it before the threads start (a forked child keeps the setting): the arenas that
    already exist stay.
    """
    return _LIBC is not None and bool(_LIBC.mallopt(M_ARENA_MAX, int(count)))


def release_free_memory() -> None:
    """Return the free pages of every malloc arena to the OS (a few ms after a long track)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
