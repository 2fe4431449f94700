"""aimusic.dsp computes what SciPy's filters compute, to the bit, and a server imports neither scipy.signal nor ndimage."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from pyloudnorm import IIRfilter
from scipy import ndimage, signal

from aimusic import dsp
from aimusic.mastering import k_weighting
from aimusic.synth import drums, guitar, voice
from aimusic.synth.instruments import TIMBRES

from .conftest import PROJECT_ROOT


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize("sr", [22050, 44100, 48000])
@pytest.mark.parametrize("order", [1, 2, 3, 4, 5, 6])
def test_butterworth_designs_are_scipys(sr, order):
    rng = np.random.default_rng(order * sr)
    for _ in range(40):
        f = float(rng.uniform(5.0, 0.49 * sr))
        for btype in ("lowpass", "highpass", "low", "high"):
            assert same(dsp.butter(order, f, btype=btype, fs=sr), signal.butter(order, f, btype, fs=sr, output="sos"))
        lo, hi = sorted(float(v) for v in rng.uniform(5.0, 0.49 * sr, 2))
        assert same(dsp.butter(order, [lo, hi], btype="bandpass", fs=sr),
                    signal.butter(order, [lo, hi], btype="bandpass", fs=sr, output="sos"))


def test_the_synthesizers_own_filters_are_scipys():
    sr = 44100
    for timbre in TIMBRES.values():
        for band in (timbre.noise_band, timbre.transient_band):
            lo, hi = float(band[0]), min(float(band[1]), 0.45 * sr)
            if lo < hi:
                assert same(voice._bandpass(float(band[0]), float(band[1]), sr),
                            signal.butter(2, [lo, hi], btype="bandpass", fs=sr, output="sos"))
    for name, cab in guitar.CABINETS.items():
        assert same(dsp.butter(4, cab.top_hz, btype="lowpass", fs=sr),
                    signal.butter(4, cab.top_hz, btype="lowpass", fs=sr, output="sos")), name
    for name, amp in guitar.AMPS.items():
        assert same(dsp.butter(1, amp.tighten_hz, btype="highpass", fs=sr),
                    signal.butter(1, amp.tighten_hz, btype="highpass", fs=sr, output="sos")), name
    for kit in drums.KITS.values():
        for spec in kit.values():
            if spec.highpass:
                assert same(drums._sos("highpass", spec.highpass, 0.0, sr),
                            signal.butter(2, spec.highpass, btype="highpass", fs=sr, output="sos"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axis", [((5000,), -1), ((5000, 2), 0), ((3, 700), -1), ((2, 300, 3), 1)])
def test_sosfilt_is_scipys_with_and_without_state(dtype, shape, axis):
    rng = np.random.default_rng(len(shape))
    cabinet = guitar.cabinet_sos(next(iter(guitar.CABINETS)), sr=44100)
    sos = np.vstack([signal.butter(4, 3000.0, fs=44100, output="sos"), cabinet]).astype(dtype)
    x = rng.standard_normal(shape).astype(dtype)
    assert same(dsp.sosfilt(sos, x, axis=axis), signal.sosfilt(sos, x, axis=axis))
    zi_shape = list(shape)
    zi_shape[axis] = 2
    zi = rng.standard_normal([sos.shape[0], *zi_shape]).astype(dtype)
    before = zi.copy()
    (y, zf), (y_ref, zf_ref) = dsp.sosfilt(sos, x, axis=axis, zi=zi), signal.sosfilt(sos, x, axis=axis, zi=zi)
    assert same(y, y_ref) and same(zf, zf_ref)
    assert np.array_equal(zi, before), "the caller's state is not overwritten"


def test_a_stream_filtered_in_chunks_is_the_whole_filtered():
    sos = dsp.butter(2, [300.0, 3000.0], btype="bandpass", fs=44100)
    x = np.random.default_rng(3).standard_normal(10_000)
    state = np.zeros((sos.shape[0], 2))
    parts = []
    for c0 in range(0, x.size, 1500):
        y, state = dsp.sosfilt(sos, x[c0:c0 + 1500], zi=state)
        parts.append(y)
    assert np.array_equal(np.concatenate(parts), dsp.sosfilt(sos, x))


@pytest.mark.parametrize("name", ["maximum_filter1d", "uniform_filter1d"])
def test_moving_maximum_and_mean_are_ndimages(name):
    rng = np.random.default_rng(5)
    for length in [*range(1, 40), 1000, 41_000]:
        x = rng.standard_normal(length) * 10.0
        for size in [*range(1, 30), 51]:           # windows longer than the array reflect more than once
            assert same(getattr(dsp, name)(x, size), getattr(ndimage, name)(x, size=size)), (length, size)


def test_k_weighting_is_pyloudnorms():
    for sr in (44100, 48000):
        stages = (IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, sr, "high_shelf"), IIRfilter(0.0, 0.5, 38.0, sr, "high_pass"))
        expected = np.vstack([np.concatenate([np.asarray(f.b) * f.passband_gain / f.a[0], np.asarray(f.a) / f.a[0]])
                              for f in stages])
        assert same(k_weighting(sr), expected)


def test_serving_imports_neither_scipy_signal_nor_ndimage_nor_alembic():
    code = ("import sys; import aimusic.runtime, aimusic.web, aimusic.pipeline; "
            "print(sorted(m for m in ('scipy.signal', 'scipy.ndimage', 'scipy.stats', 'pyloudnorm', 'alembic') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
