"""The filters the synthesizer and the mastering use, without importing ``scipy.signal`` or ``scipy.ndimage``.

Importing ``scipy.signal`` imports most of SciPy (stats, interpolate, optimize, spatial: about
a second, half of a server's start), and ``scipy.ndimage`` a good part of the rest, for the
four functions a render needs. They are here, each computing what SciPy's function computes
the same way, so a render's bytes do not change (``tests/test_dsp.py`` compares each with
SciPy's own, to the bit):

- :func:`sosfilt` runs SciPy's own compiled kernel (``scipy/signal/_sosfilt``), loaded from its
  file without running ``scipy.signal``'s ``__init__``, behind the argument handling of
  ``scipy.signal.sosfilt``;
- :func:`butter` is ``scipy.signal.butter(..., output="sos")`` for digital low-, high- and
  band-pass filters: the same prototype, frequency transform, bilinear transform and pairing
  into second-order sections, operation for operation;
- :func:`maximum_filter1d` and :func:`uniform_filter1d` are ``scipy.ndimage``'s 1-D filters in
  its default ``reflect`` mode for 1-D float64 arrays: the moving mean accumulates as
  SciPy's C code does, one running sum.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = ["butter", "maximum_filter1d", "sosfilt", "uniform_filter1d"]

_KERNEL = "scipy.signal._sosfilt"


def _load_kernel() -> Callable[..., None]:
    """SciPy's ``_sosfilt(sos, x, zi)`` (in place, C-contiguous), without importing ``scipy.signal``."""
    module = sys.modules.get(_KERNEL)
    if module is None:
        spec = importlib.util.find_spec("scipy")
        folder = Path(spec.origin).parent / "signal" if spec is not None and spec.origin else None
        paths = [folder / f"_sosfilt{suffix}" for suffix in importlib.machinery.EXTENSION_SUFFIXES] if folder else []
        path = next((p for p in paths if p.is_file()), None)
        if path is None:       # another layout: the package's own way
            from scipy.signal._sosfilt import _sosfilt
            return _sosfilt
        loader = importlib.machinery.ExtensionFileLoader(_KERNEL, str(path))
        module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(_KERNEL, path, loader=loader))
        loader.exec_module(module)
        sys.modules.setdefault(_KERNEL, module)   # what ``scipy.signal`` itself imports, should it be imported later
    return module._sosfilt


_sosfilt = _load_kernel()


def sosfilt(sos: np.ndarray, x: np.ndarray, axis: int = -1, zi: np.ndarray | None = None) -> Any:
    """``scipy.signal.sosfilt``: ``x`` filtered by the second-order sections ``sos`` along ``axis``.

    With ``zi`` (shape ``(n_sections, ..., 2, ...)``) returns ``(y, zf)``, the final state
    in the same shape; without it, ``y`` from rest.
    """
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError("x must be at least 1-D")
    sos = np.atleast_2d(np.asarray(sos))
    if sos.ndim != 2 or sos.shape[1] != 6:
        raise ValueError("sos array must be shape (n_sections, 6)")
    if not np.all(sos[:, 3] == 1):
        raise ValueError("sos[:, 3] should be all ones")
    n_sections = sos.shape[0]
    x_zi_shape = list(x.shape)
    x_zi_shape[axis] = 2
    x_zi_shape = tuple([n_sections] + x_zi_shape)
    inputs = [sos, x] if zi is None else [sos, x, np.asarray(zi)]
    dtype = np.result_type(*inputs)
    if dtype.char not in "fdgFDGO":
        raise NotImplementedError(f"input type '{dtype}' not supported")
    if zi is not None:
        zi = np.array(zi, dtype=dtype)          # a copy: the kernel works in place
        if zi.shape != x_zi_shape:
            raise ValueError(f"Invalid zi shape: zi must have shape {x_zi_shape!r}, got {zi.shape!r}.")
        return_zi = True
    else:
        zi = np.zeros(x_zi_shape, dtype=dtype)
        return_zi = False
    if x.ndim == 1:          # the usual case, without the axis shuffles below (the same arrays reach the kernel)
        y = np.array(x, dtype, order="C").reshape(1, -1)
        state = np.ascontiguousarray(zi.reshape(1, n_sections, 2))
        _sosfilt(sos.astype(dtype, copy=False), y, state)
        return (y.reshape(-1), state.reshape(n_sections, 2)) if return_zi else y.reshape(-1)
    axis = axis % x.ndim
    x = np.moveaxis(x, axis, -1)
    zi = np.moveaxis(zi, (0, axis + 1), (-2, -1))
    x_shape, zi_shape = x.shape, zi.shape
    x = np.reshape(x, (-1, x.shape[-1]))
    x = np.array(x, dtype, order="C")
    zi = np.ascontiguousarray(np.reshape(zi, (-1, n_sections, 2)))
    sos = sos.astype(dtype, copy=False)
    _sosfilt(sos, x, zi)
    x = np.moveaxis(x.reshape(x_shape), -1, axis)
    if return_zi:
        return x, np.moveaxis(zi.reshape(zi_shape), (-2, -1), (0, axis + 1))
    return x


# -- Butterworth design (scipy.signal.butter, digital, output="sos") ------------------------------

_BANDS = {"l": "lowpass", "low": "lowpass", "lowpass": "lowpass", "lp": "lowpass",
          "h": "highpass", "high": "highpass", "highpass": "highpass", "hp": "highpass",
          "band": "bandpass", "bandpass": "bandpass", "pass": "bandpass", "bp": "bandpass"}


def butter(order: int, wn: float | tuple[float, float] | list[float], btype: str = "low", *, fs: float,
           output: str = "sos") -> np.ndarray:
    """``scipy.signal.butter(order, wn, btype, fs=fs, output="sos")`` for a digital filter."""
    if output != "sos":
        raise ValueError("only second-order sections (output='sos') are designed here")
    try:
        band = _BANDS[btype.lower()]
    except KeyError:
        raise ValueError(f"'{btype}' is not a band type designed here") from None
    if abs(int(order)) != order:
        raise ValueError("Filter order must be a nonnegative integer")
    fs = float(fs)
    w = np.asarray(wn, dtype=np.float64) / (fs / 2)
    if np.any(w <= 0) or np.any(w >= 1):
        raise ValueError(f"Digital filter critical frequencies must be 0 < Wn < fs/2 (fs={fs} -> fs/2={fs / 2})")
    if w.size > 1 and not w[0] < w[1]:
        raise ValueError("Wn[0] must be less than Wn[1]")
    z = np.asarray([], dtype=np.float64)                 # the analog prototype (buttap)
    m = np.arange(-order + 1, order, 2, dtype=np.float64)
    p = -np.exp(1j * np.pi * m / (2 * order))
    k = 1.0
    warped = 2 * 2.0 * np.tan(np.pi * w / 2.0)            # pre-warped for the bilinear transform at fs = 2
    if band in ("lowpass", "highpass"):
        if w.size != 1:
            raise ValueError("Must specify a single critical frequency Wn for lowpass or highpass filter")
        wo = float(warped)
        degree = p.shape[0] - z.shape[0]
        if band == "lowpass":                             # lp2lp_zpk
            z, p, k = wo * z, wo * p, k * wo ** degree
        else:                                             # lp2hp_zpk
            z_hp, p_hp = wo / z, wo / p
            k = k * np.real(np.prod(-z) / np.prod(-p))
            z, p = np.concatenate((z_hp, np.zeros(degree))), p_hp
    else:                                                 # lp2bp_zpk
        if w.size != 2:
            raise ValueError("Wn must specify start and stop frequencies for bandpass or bandstop filter")
        bw = float(warped[1] - warped[0])
        wo = float(np.sqrt(warped[0] * warped[1]))
        z = z.astype(np.result_type(z, p))
        degree = p.shape[0] - z.shape[0]
        z_lp = (z * bw / 2).astype(np.complex128)
        p_lp = (p * bw / 2).astype(np.complex128)
        z = np.concatenate((z_lp + np.sqrt(z_lp ** 2 - wo ** 2), z_lp - np.sqrt(z_lp ** 2 - wo ** 2)))
        p = np.concatenate((p_lp + np.sqrt(p_lp ** 2 - wo ** 2), p_lp - np.sqrt(p_lp ** 2 - wo ** 2)))
        z = np.concatenate((z, np.zeros(degree)))
        k = k * bw ** degree
    degree = p.shape[0] - z.shape[0]                      # bilinear_zpk at fs = 2
    fs2 = 2.0 * 2.0
    z_z = (fs2 + z) / (fs2 - z)
    p_z = (fs2 + p) / (fs2 - p)
    z_z = np.concatenate((z_z, -np.ones(degree)))
    k_z = k * np.real(np.prod(fs2 - z) / np.prod(fs2 - p))
    return _zpk2sos(z_z, p_z, k_z)


def _cplxreal(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One of each complex-conjugate pair of ``z``, and its real values, sorted (``scipy.signal``'s)."""
    z = np.atleast_1d(z)
    if z.size == 0:
        return z, z
    tol = 100 * np.finfo((1.0 * z).dtype).eps
    z = z[np.lexsort((abs(z.imag), z.real))]
    real_indices = abs(z.imag) <= tol * abs(z)
    zr = z[real_indices].real
    if len(zr) == len(z):
        return np.array([]), zr
    z = z[~real_indices]
    zp = z[z.imag > 0]
    zn = z[z.imag < 0]
    if len(zp) != len(zn):
        raise ValueError("Array contains complex value with no matching conjugate.")
    same_real = np.diff(zp.real) <= tol * abs(zp[:-1])
    diffs = np.diff(np.concatenate(([0], same_real, [0])))
    run_starts = np.nonzero(diffs > 0)[0]
    run_stops = np.nonzero(diffs < 0)[0]
    for i in range(len(run_starts)):
        start, stop = run_starts[i], run_stops[i] + 1
        for chunk in (zp[start:stop], zn[start:stop]):
            chunk[...] = chunk[np.lexsort([abs(chunk.imag)])]
    if any(abs(zp - zn.conj()) > tol * abs(zn)):
        raise ValueError("Array contains complex value with no matching conjugate.")
    return (zp + zn.conj()) / 2, zr


def _poly(zeros: Any) -> np.ndarray:
    """Coefficients of the monic polynomial with ``zeros`` (real when they come in conjugate pairs)."""
    zeros = np.atleast_1d(np.asarray(zeros))
    if zeros.shape[0] == 0:
        return np.asarray(1.0, dtype=np.real(zeros).dtype)
    a = np.ones((1,), dtype=zeros.dtype)
    one = np.ones_like(zeros[0])
    for zero in zeros:
        a = np.convolve(a, np.stack((one, -zero)), mode="full")
    if np.iscomplexobj(a):
        roots = np.asarray(zeros, dtype=np.complex128)
        if np.all(np.sort(np.imag(roots)) == np.sort(np.imag(np.conj(roots)))):
            a = np.array(np.real(a), copy=True)
    return a


def _section(z: list, p: list) -> np.ndarray:
    """One second-order section (unit gain) of zeros ``z`` and poles ``p`` (``_single_zpksos``)."""
    z, p = np.asarray(z), np.asarray(p)
    k = np.atleast_1d(np.asarray(1, dtype=np.result_type(np.real(z), np.real(p), 1)))
    b = np.multiply(k, _poly(z))
    a = np.atleast_1d(np.asarray(_poly(p)))
    sos = np.zeros(6)
    sos[3 - len(b):3] = b
    sos[6 - len(a):6] = a
    return sos


def _nearest(fro: np.ndarray, to: complex, which: str) -> int:
    order = np.argsort(np.abs(fro - to))
    if which == "any":
        return order[0]
    mask = np.isreal(fro[order])
    if which == "complex":
        mask = ~mask
    return order[np.nonzero(mask)[0][0]]


def _zpk2sos(z: np.ndarray, p: np.ndarray, k: Any) -> np.ndarray:
    """``scipy.signal.zpk2sos`` of a digital filter (``pairing="nearest"``)."""
    z, p, k = np.asarray(z), np.asarray(p), np.asarray(k)
    if len(z) == len(p) == 0:
        return np.asarray([[k, 0., 0., 1., 0., 0.]])
    p = np.concatenate((p, np.zeros(max(len(z) - len(p), 0))))
    z = np.concatenate((z, np.zeros(max(len(p) - len(z), 0))))
    n_sections = (max(len(p), len(z)) + 1) // 2
    if len(p) % 2 == 1:
        p = np.concatenate((p, [0.]))
        z = np.concatenate((z, [0.]))
    z = np.concatenate(_cplxreal(z))
    p = np.concatenate(_cplxreal(p))
    if not np.isreal(k):
        raise ValueError("k must be real")
    k = k.real

    def idx_worst(q: np.ndarray) -> int:                  # the closest to the unit circle
        return np.argmin(np.abs(1 - np.abs(q)))

    sos = np.zeros((n_sections, 6))
    for si in range(n_sections - 1, -1, -1):             # the "worst" sections last
        p1_idx = idx_worst(p)
        p1 = p[p1_idx]
        p = np.delete(p, p1_idx)
        if np.isreal(p1) and np.isreal(p).sum() == 0:     # the last real pole
            z1_idx = _nearest(z, p1, "real")
            z1 = z[z1_idx]
            z = np.delete(z, z1_idx)
            sos[si] = _section([z1, 0], [p1, 0])
        elif len(p) + 1 == len(z) and not np.isreal(p1) and np.isreal(p).sum() == 1 and np.isreal(z).sum() == 1:
            z1_idx = _nearest(z, p1, "complex")           # one real pole and zero left: a complex zero
            z1 = z[z1_idx]
            z = np.delete(z, z1_idx)
            sos[si] = _section([z1, z1.conj()], [p1, p1.conj()])
        else:
            if np.isreal(p1):
                prealidx = np.flatnonzero(np.isreal(p))
                p2_idx = prealidx[idx_worst(p[prealidx])]
                p2 = p[p2_idx]
                p = np.delete(p, p2_idx)
            else:
                p2 = p1.conj()
            if len(z) > 0:
                z1_idx = _nearest(z, p1, "any")
                z1 = z[z1_idx]
                z = np.delete(z, z1_idx)
                if not np.isreal(z1):
                    sos[si] = _section([z1, z1.conj()], [p1, p2])
                elif len(z) > 0:
                    z2_idx = _nearest(z, p1, "real")
                    z2 = z[z2_idx]
                    z = np.delete(z, z2_idx)
                    sos[si] = _section([z1, z2], [p1, p2])
                else:
                    sos[si] = _section([z1], [p1, p2])
            else:
                sos[si] = _section([], [p1, p2])
    sos[0][:3] *= k
    return sos


# -- scipy.ndimage's 1-D filters, mode "reflect" ---------------------------------------------------

def _reflected(x: np.ndarray, before: int, after: int) -> np.ndarray:
    """``x`` as float64 extended by ``before`` and ``after`` samples: ``d c b a | a b c d | d c b a``."""
    return np.pad(np.asarray(x, dtype=np.float64), (before, after), mode="symmetric")


def _check(x: np.ndarray, size: int) -> None:
    if np.asarray(x).ndim != 1:
        raise ValueError("only 1-D arrays are filtered here")
    if size < 1:
        raise RuntimeError("incorrect filter size")


def maximum_filter1d(x: np.ndarray, size: int) -> np.ndarray:
    """``scipy.ndimage.maximum_filter1d(x, size)``: the maximum of each ``size``-sample window (float64)."""
    _check(x, size)
    n = len(x)
    before = size // 2
    ext = _reflected(x, before, size - before - 1)
    out = ext[:n].copy()
    for j in range(1, size):
        np.maximum(out, ext[j:j + n], out=out)
    return out


def uniform_filter1d(x: np.ndarray, size: int) -> np.ndarray:
    """``scipy.ndimage.uniform_filter1d(x, size)``: the mean of each ``size``-sample window (float64).

    As SciPy computes it: the first window summed in order, then one running sum to which each
    step adds the entering sample less the leaving one, in sequence (``numpy.cumsum`` adds in
    order too), divided by ``size`` at every sample: the same to the bit.
    """
    _check(x, size)
    n = len(x)
    if n == 0:
        return np.zeros(0)
    before = size // 2
    ext = _reflected(x, before, size - before - 1)
    first = 0.0
    for value in ext[:size]:
        first += value
    steps = np.empty(n)
    steps[0] = first
    np.subtract(ext[size:size + n - 1], ext[:n - 1], out=steps[1:])
    running = np.cumsum(steps, out=steps)
    running /= size
    return running
