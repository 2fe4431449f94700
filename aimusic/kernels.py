"""The same bytes on every x86-64 machine: which OpenBLAS and NumPy kernels a render runs.

OpenBLAS and NumPy pick their compute kernels for the CPU they find. A kernel written for
AVX-512 adds the same numbers in another order (and NumPy's AVX-512 ``sin``, ``exp`` and
``log`` round some results differently) than the AVX2 one, so one request and seed would
give other bytes on a worker with AVX-512 than on one without: a job retried on another
machine, or a track remade from its stored request, would not be the track it was.

:func:`pin_kernels` asks both libraries, through the environment variables they read when
they load, for their AVX2 kernels (Haswell's, which every x86-64 CPU of the last ten years
runs) and never the AVX-512 ones. It must run before NumPy is imported, so the package's
``__init__`` calls it; a variable already set is left as it is (a deployment may choose).
Other CPUs (ARM, or x86 without AVX2) keep their libraries' own choice.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping, MutableMapping

OPENBLAS_CORE = "Haswell"
# NumPy 2.4's dispatch targets beyond AVX2 (``X86_V3``); naming one it lacks fails its import.
NUMPY_ABOVE_AVX2 = "X86_V4 AVX512_ICL AVX512_SPR"
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The instruction-set flags of the first CPU in ``/proc/cpuinfo`` (empty where there is none)."""
    try:
        with cpuinfo.open(encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def kernel_settings(flags: frozenset[str]) -> dict[str, str]:
    """The environment that pins AVX2 kernels on a CPU with these flags (nothing if it lacks AVX2)."""
    if not {"avx2", "fma"} <= flags:
        return {}
    settings = {"OPENBLAS_CORETYPE": OPENBLAS_CORE}
    if "avx512f" in flags:
        settings["NPY_DISABLE_CPU_FEATURES"] = NUMPY_ABOVE_AVX2
    return settings


def pin_kernels(environ: MutableMapping[str, str] = os.environ, *, cpuinfo: Path = CPUINFO,
                modules: Mapping[str, object] = sys.modules) -> bool:
    """Set :func:`kernel_settings` in ``environ`` (keeping any already set); False if NumPy is loaded.

    Child processes (server workers, job workers) inherit the settings with the environment.
    ``modules`` is where a loaded NumPy would be found (the interpreter's own).
    """
    if "numpy" in modules:
        return False
    for name, value in kernel_settings(cpu_flags(cpuinfo)).items():
        environ.setdefault(name, value)
    return True
