"""Independent pieces of one render's work on two threads: here, and on a helper thread.

A render runs on the thread that asked for it, with one helper thread beside it when a
core is free (:func:`spare_core`; :func:`aimusic.mix.mix_sources` owns it). Work that splits into independent pieces (the
two channels of a filter, the chunks of a peak scan) runs half here and half there, each
piece computed as it would be alone, so the result is the same to the bit as in sequence;
the libraries doing the arithmetic (pedalboard, SciPy's filter kernel, NumPy's large
operations) release the GIL while they compute.
"""
from __future__ import annotations

import os
from concurrent.futures import Executor, wait
from itertools import combinations
from pathlib import Path
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
LOADAVG = Path("/proc/loadavg")
BALANCE_EVERY_SET = 8   # up to this many strips, :func:`balance` tries every set of them


def usable_cores() -> int:
    """Cores this process may run on (its affinity where the system tells it, else the CPU count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def runnable_tasks(loadavg: Path = LOADAVG) -> int | None:
    """Threads running or ready to run on the whole machine now (``/proc/loadavg``), this one included."""
    try:
        return int(loadavg.read_text().split()[3].partition("/")[0])
    except (OSError, ValueError, IndexError):
        return None


def spare_core(*, loadavg: Path = LOADAVG, cores: int | None = None) -> bool:
    """Whether a second thread would find a core of its own: fewer runnable threads than cores.

    A render asks once, as it starts. On a loaded server every core already runs a render, and
    splitting one would only make the threads contend (less throughput for no lower latency);
    where the kernel does not say (not Linux), no.
    """
    running = runnable_tasks(loadavg)
    return running is not None and running < (cores if cores is not None else usable_cores())


def run_halves(helper: Executor | None, tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Results of ``tasks`` in order: the later half run on ``helper``, the rest here (all here if None)."""
    if helper is None or len(tasks) < 2:
        return [task() for task in tasks]
    cut = (len(tasks) + 1) // 2
    later = helper.submit(lambda: [task() for task in tasks[cut:]])
    try:
        first = [task() for task in tasks[:cut]]
    except BaseException:
        wait([later])          # never leave the helper working on buffers the caller gives up
        raise
    return first + later.result()


def split_range(start: int, stop: int, step: int) -> list[tuple[int, int]]:
    """``[start, stop)`` as consecutive ``(c0, c1)`` pieces of ``step`` (the last may be short)."""
    return [(c0, min(c0 + step, stop)) for c0 in range(start, stop, step)]


def balance(read_s: float, chains_s: list[float], buses_s: float) -> set[int]:
    """Which strips' chains the reading thread should run so that the two threads finish together.

    From the last times: reading every track (``read_s``, the reading thread), each strip's
    chain (``chains_s``) and the send buses (``buses_s``, the other thread). The set whose
    chains, added to the reading, leave the longer of the two threads shortest (ties: the
    fewest strips); empty when the reading alone is the longer. Every set is tried up to
    :data:`BALANCE_EVERY_SET` strips, larger ones are filled greedily, costliest chain first.
    """
    total = sum(chains_s)
    best, best_time = set(), max(read_s, total + buses_s)
    if len(chains_s) > BALANCE_EVERY_SET:
        here = 0.0
        for i in sorted(range(len(chains_s)), key=lambda i: -chains_s[i]):
            if max(read_s + here + chains_s[i], total - here - chains_s[i] + buses_s) < best_time:
                here += chains_s[i]
                best.add(i)
                best_time = max(read_s + here, total - here + buses_s)
        return best
    for size in range(1, len(chains_s) + 1):
        for chosen in combinations(range(len(chains_s)), size):
            here = sum(chains_s[i] for i in chosen)
            longer = max(read_s + here, total - here + buses_s)
            if longer < best_time:
                best, best_time = set(chosen), longer
    return best
