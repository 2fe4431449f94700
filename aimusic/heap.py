"""Handing the heap's free pages back to the OS (glibc's ``malloc_trim``; a no-op elsewhere).

glibc keeps freed memory for reuse, and after a large block is freed it raises the size from
which a block gets a mapping of its own (up to 32 MB), so the buffers of a long track come from
the heap and stay there once freed: a worker that made one keeps hundreds of MB that nobody
uses, counted in its RSS until the same sizes are asked for again. The mix returns them between
its stages; :class:`~aimusic.slots.GenerationSlots` when a process's last generation ends.
"""
from __future__ import annotations

import ctypes
import ctypes.util

try:
    _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
except (OSError, AttributeError):   # not glibc
    _LIBC = None


def release_free_memory() -> None:
    """Return the free pages of every malloc arena to the OS (a few ms after a long track)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
