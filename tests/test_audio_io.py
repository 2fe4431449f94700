"""WAV encoding at the file boundary: clipped, exact, and atomic."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from aimusic.audio_io import to_pcm16, write_wav
from aimusic.errors import ParameterError


def test_round_trip_is_exact_to_one_lsb(tmp_path, rng):
    y = (rng.uniform(-0.9, 0.9, size=(44100, 2))).astype(np.float32)
    path = write_wav(tmp_path / "a.wav", y, sr=44100)
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (44100, 2, "PCM_16", 44100)
    back, _ = sf.read(str(path), dtype="float64")
    assert np.abs(back - y).max() <= 2 / 32768  # rounding plus the reader's 1/32768 scale


def test_out_of_range_samples_clip_instead_of_wrapping(tmp_path):
    y = np.array([[1.5, -2.0], [1.0, -1.0], [np.nan, np.inf], [0.5, -np.inf]], dtype=np.float32)
    pcm = to_pcm16(y)
    assert pcm.tolist() == [[32767, -32767], [32767, -32767], [0, 32767], [16384, -32767]]
    write_wav(tmp_path / "c.wav", y, sr=8000)
    back, _ = sf.read(str(tmp_path / "c.wav"), dtype="int16")
    assert back.tolist() == pcm.tolist()


def test_mono_is_written_as_one_channel(tmp_path, rng):
    write_wav(tmp_path / "m.wav", rng.uniform(-0.5, 0.5, 1000), sr=22050)
    assert sf.info(str(tmp_path / "m.wav")).channels == 1


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path, rng):
    dest = tmp_path / "t.wav"
    dest.write_bytes(b"old complete file")
    write_wav(dest, rng.uniform(-0.5, 0.5, (100, 2)), sr=44100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.wav"]
    assert dest.read_bytes()[:4] == b"RIFF"


@pytest.mark.parametrize("bad", [np.zeros((0, 2)), np.zeros((2, 2, 2))])
def test_bad_arrays_are_refused_before_any_file_exists(tmp_path, bad):
    with pytest.raises(ParameterError):
        write_wav(tmp_path / "x.wav", bad, sr=44100)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_removes_its_temporary_file(tmp_path):
    with pytest.raises(sf.LibsndfileError):
        write_wav(tmp_path / "x.wav", np.zeros((10, 2000), np.float32), sr=44100)  # beyond WAV's channel limit
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("nonfinite", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(100_003, 2), (70_001,), (3, 2)])
def test_block_conversion_gives_the_samples_of_the_plain_formula(rng, shape, dtype, nonfinite):
    y = (rng.standard_normal(shape) * 0.6).astype(dtype)
    flat = y.reshape(-1)
    if nonfinite:
        flat[::97], flat[::89], flat[::83] = np.nan, np.inf, -np.inf
    flat[1::7] = ((np.arange(flat.size)[1::7] % 65535) - 32767 + 0.5) / 32767   # exact half steps round to even
    plain = np.round(np.clip(np.nan_to_num(y.astype(np.float64), nan=0.0, posinf=1.0, neginf=-1.0),
                             -1.0, 1.0) * 32767).astype(np.int16)
    assert np.array_equal(to_pcm16(y), plain)
