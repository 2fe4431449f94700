"""Encode float audio as 16-bit PCM WAV and write it atomically.

The file boundary is the one place float samples become integers: they are clipped
first (int16 conversion of an unclipped sample wraps around into a loud click), and a
file only appears under its final name once it is complete, so a reader never sees a
half-written WAV.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from .config import SAMPLE_RATE
from .errors import ParameterError

PCM16_MAX = 32767
TEMP_PREFIX = ".partial-"
TEMP_SUFFIX = ".tmp"
PCM_BLOCK = 1 << 15    # samples converted at once by to_pcm16 (its buffer stays in cache)


def to_pcm16(y: np.ndarray) -> np.ndarray:
    """Clip float samples to [-1, 1] and scale them to int16.

    Parameters
    ----------
    y : np.ndarray
        Float audio, shape ``(n,)`` or ``(n, channels)``.

    Returns
    -------
    np.ndarray
        int16 samples of the same shape; NaN becomes silence.

    Computed in float64 (a float32 sample times 32767 is exact there, so the rounding is the
    only one), a block at a time in one reused buffer: a track's worth of float64
    temporaries would cost more than the arithmetic. Scaling before clipping to +-32767 gives
    the same numbers as clipping to +-1 first (the product is monotonic, and exact for a
    float32 sample), with one pass fewer; NaN is looked for once, over the whole input.
    """
    y = np.asarray(y)
    out = np.empty(y.shape, dtype=np.int16)
    flat_in, flat_out = y.reshape(-1), out.reshape(-1)
    work = np.empty(min(flat_in.size, PCM_BLOCK), dtype=np.float64)
    scale = np.float64(PCM16_MAX)   # a float64 scalar: the product is taken in float64
    any_nan = flat_in.dtype.kind == "f" and bool(np.isnan(flat_in).any())
    for b0 in range(0, flat_in.size, PCM_BLOCK):
        b1 = min(b0 + PCM_BLOCK, flat_in.size)
        t = work[: b1 - b0]
        np.multiply(flat_in[b0:b1], scale, out=t)
        if any_nan:
            np.nan_to_num(t, copy=False, nan=0.0)
        np.clip(t, -scale, scale, out=t)
        np.rint(t, out=t)
        flat_out[b0:b1] = t
    return out


def encode_wav(handle: BinaryIO, y: np.ndarray, *, sr: int = SAMPLE_RATE) -> None:
    """Write ``y`` as 16-bit PCM WAV into the open binary ``handle`` (clipped, see :func:`to_pcm16`)."""
    if y.ndim not in (1, 2) or y.shape[0] == 0:
        raise ParameterError("audio", "must be a non-empty (n,) or (n, channels) array")
    if sr <= 0:
        raise ParameterError("sr", "must be positive")
    sf.write(handle, to_pcm16(y), sr, subtype="PCM_16", format="WAV")


def discard_temporary(path: str | os.PathLike[str]) -> bool:
    """Remove the temporary file of a failed write if its folder allows it; whether it is gone.

    A folder made read-only or immutable during the write keeps the file (hidden, never
    served): the write's own error is what the caller reports, never the clean-up's.
    """
    try:
        Path(path).unlink(missing_ok=True)
    except OSError:
        return False
    return True


def write_wav(path: str | os.PathLike[str], y: np.ndarray, *, sr: int = SAMPLE_RATE) -> Path:
    """Write ``y`` as a 16-bit PCM WAV at ``path``, atomically.

    The samples go to a hidden temporary file in the same folder, which is then renamed
    with :func:`os.replace`; the rename is atomic on one file system, so ``path`` either
    does not exist or holds the complete file.

    Parameters
    ----------
    path : path-like
        Destination file; its folder must exist.
    y : np.ndarray
        Float audio in [-1, 1], shape ``(n,)`` or ``(n, channels)``.
    sr : int
        Sample rate in Hz.

    Returns
    -------
    Path
        The destination path.
    """
    if y.ndim not in (1, 2) or y.shape[0] == 0:
        raise ParameterError("audio", "must be a non-empty (n,) or (n, channels) array")
    if sr <= 0:
        raise ParameterError("sr", "must be positive")
    dest = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            encode_wav(handle, y, sr=sr)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, dest)
    except BaseException:
        discard_temporary(tmp_name)
        raise
    return dest
