"""Generation slots: a bounded number of generations at once, across every process of a machine.

The generation slots are ``flock`` locks on N small files in a folder: the kernel
counts them across every gunicorn worker process and releases a slot when its holder
dies, so a killed worker can never leak one. Each acquisition opens its own file
description, so threads of one process exclude each other too.

The files are opened once, when the slots are made (in the gunicorn master, before it forks), and
every acquisition reopens that same inode through ``/proc/self/fd``, not the path. Deleting the
folder while slots are held (a clean-up of the output folder) then changes nothing: the inodes
live on while a descriptor is open, so the workers of a server still count against the same N
locks. A process started after the deletion creates new files, and the limit holds among the
processes that share those.

A process generates one track at a time (:data:`PROCESS_TURN`): a slot's holder then waits for
its process's turn. Two renders in one process share one interpreter lock, and the GIL makes
them slower together than one after the other in two processes (on two cores, 3.9 tracks/s from
two threads of one process against 5.6 from two processes: ``bench/RESULTS.md``). A worker
that is generating lets an idle one take new connections first
(:func:`aimusic.web.server.accept_delay`), so the workers' renders spread over the cores.

When a process's last slot is released, its free heap goes back to the OS
(:func:`aimusic.heap.release_free_memory`): a generation's buffers are freed by then, and
without it an idle worker would keep the high-water mark of its last long track.
"""
from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .heap import release_free_memory


PROCESS_TURN = threading.RLock()   # held by this process's one generation at a time
_in_process = 0                    # slots this process holds now (generations running or waiting their turn)
_in_process_lock = threading.Lock()


def _own_turn_in_child() -> None:
    """A forked child generates nothing yet, whatever its parent's threads held: a turn of its own."""
    global PROCESS_TURN, _in_process, _in_process_lock
    PROCESS_TURN, _in_process, _in_process_lock = threading.RLock(), 0, threading.Lock()


os.register_at_fork(after_in_child=_own_turn_in_child)


def generating() -> bool:
    """Whether this process holds a generation slot now (a generation running, or waiting its turn)."""
    return _in_process > 0


class Overloaded(Exception):
    """Every generation slot is taken."""


class GenerationSlots:
    """At most ``count`` holders at once across processes sharing ``lock_dir``."""

    def __init__(self, lock_dir: Path, count: int) -> None:
        if count < 1:
            raise ValueError("MAX_CONCURRENT_GENERATIONS must be at least 1")
        self.lock_dir = Path(lock_dir)
        self.count = count
        self._anchors: list[int | None] = [None] * count
        try:
            for index in range(count):
                self._anchor(index)
        except OSError:   # the folder is not writable yet: anchored on first use
            pass

    def __del__(self) -> None:
        for fd in getattr(self, "_anchors", ()):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _paths(self) -> list[Path]:
        return [self.lock_dir / f"slot-{i}.lock" for i in range(self.count)]

    def _anchor(self, index: int) -> int:
        """The descriptor that keeps slot ``index``'s inode alive for this process and its children."""
        fd = self._anchors[index]
        if fd is None:
            self.lock_dir.mkdir(parents=True, exist_ok=True)
            fd = self._anchors[index] = os.open(self._paths()[index], os.O_RDWR | os.O_CREAT, 0o644)
        return fd

    def _open(self, index: int) -> int:
        """A new open file description of slot ``index``'s inode (its own flock), whatever became of the path."""
        anchor = self._anchor(index)
        try:
            return os.open(f"/proc/self/fd/{anchor}", os.O_RDWR)
        except FileNotFoundError:   # no /proc: fall back on the path
            return os.open(self._paths()[index], os.O_RDWR | os.O_CREAT, 0o644)

    def _try_lock(self, index: int) -> int | None:
        """Lock slot ``index`` without waiting: its file descriptor, or None if it is busy."""
        fd = self._open(index)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def _take(self) -> tuple[int, int] | None:
        """Lock the first free slot: its index and file descriptor, or None if all are busy."""
        for index in range(self.count):
            fd = self._try_lock(index)
            if fd is not None:
                return index, fd
        return None

    @contextmanager
    def acquire(self, wait_s: float = 0.0, poll_s: float = 0.05) -> Iterator[int]:
        """Hold one free slot, then this process's turn, for the ``with`` block; raise :class:`Overloaded` if none is free.

        ``wait_s`` > 0 keeps trying that long first (background jobs wait; requests do not).
        The turn (:data:`PROCESS_TURN`) is waited for as long as the generation ahead takes.
        """
        deadline = time.monotonic() + wait_s
        taken = self._take()
        while taken is None and time.monotonic() < deadline:
            time.sleep(poll_s)
            taken = self._take()
        if taken is None:
            raise Overloaded(f"all {self.count} generation slots are busy")
        index, fd = taken
        global _in_process
        with _in_process_lock:
            _in_process += 1
        try:
            with PROCESS_TURN:
                yield index
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            with _in_process_lock:
                _in_process -= 1
                idle = _in_process == 0
            if idle:   # this process generates nothing now: hand back what its generations freed
                release_free_memory()

    @contextmanager
    def quiet(self) -> Iterator[bool]:
        """Hold every slot for the block if none is busy; yields whether that succeeded.

        While it holds them no generation can start, so a caller that gets True knows that
        no process sharing the folder is between writing a file and recording it.
        """
        held: list[int] = []
        try:
            for index in range(self.count):
                fd = self._try_lock(index)
                if fd is None:
                    break
                held.append(fd)
            yield len(held) == self.count
        finally:
            for fd in held:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
