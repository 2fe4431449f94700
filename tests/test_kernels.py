"""The numeric kernels are pinned, so a request renders the same bytes on every x86-64 worker."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aimusic.kernels import cpu_flags, kernel_settings, pin_kernels

ROOT = Path(__file__).resolve().parent.parent


def test_the_flags_of_the_first_cpu_are_read(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma avx512f\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert cpu_flags(info) == {"fpu", "sse2", "avx2", "fma", "avx512f"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


@pytest.mark.parametrize("flags, expected", [
    ({"avx2", "fma", "avx512f"}, {"OPENBLAS_CORETYPE": "Haswell",
                                  "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}),
    ({"avx2", "fma"}, {"OPENBLAS_CORETYPE": "Haswell"}),
    ({"sse2", "avx"}, {}),          # no AVX2: the libraries' own choice
    (set(), {}),                    # not x86 (or no /proc): the same
])
def test_avx2_kernels_are_asked_for_only_where_the_cpu_runs_them(flags, expected):
    assert kernel_settings(frozenset(flags)) == expected


def test_a_setting_already_made_is_kept(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("flags\t: avx2 fma avx512f\n")
    env = {"OPENBLAS_CORETYPE": "SkylakeX"}
    assert pin_kernels(env, cpuinfo=info, modules={})
    assert env == {"OPENBLAS_CORETYPE": "SkylakeX", "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}
    late: dict[str, str] = {}
    assert not pin_kernels(late, cpuinfo=info), "too late once NumPy is loaded"
    assert late == {}


def test_a_fresh_process_that_imports_the_package_runs_the_avx2_kernels():
    probe = ("import aimusic, json, numpy\n"
             "from numpy._core._multiarray_umath import __cpu_features__ as f\n"
             "from threadpoolctl import threadpool_info\n"
             "blas = [i.get('architecture') for i in threadpool_info() if i['internal_api'] == 'openblas']\n"
             "print(json.dumps({'blas': blas, 'v4': f.get('X86_V4', False)}))\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")}
    got = json.loads(subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True,
                                    text=True, check=True).stdout)
    flags = cpu_flags()
    if {"avx2", "fma"} <= flags:
        assert got["blas"] == ["Haswell"]
    if "avx512f" in flags:
        assert got["v4"] is False, "NumPy's AVX-512 loops are off"
