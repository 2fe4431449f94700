"""The mix as WAV, FLAC, MP3 or Ogg Vorbis, encoded by libsndfile (through soundfile).

Every format is encoded from the same 16-bit samples the WAV holds (:func:`to_pcm16`), so a
FLAC decodes to exactly the WAV's samples and a file made later from the stored WAV is the
same as one made during the generation. MP3 is 320 kbps CBR at 44.1 kHz stereo; libsndfile
writes LAME's info frame with the encoder delay and padding, which decoders (ffmpeg, browsers)
use to give back exactly the encoded length, aligned to the sample.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import soundfile as sf

from ..audio_io import to_pcm16
from ..errors import ParameterError

AUDIO_FORMATS = ("wav", "flac", "mp3", "ogg")
MEDIA_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg",
               "mid": "audio/midi", "json": "application/json", "zip": "application/zip"}
MP3_BITRATE_KBPS = 320
# libsndfile's compression level for Vorbis is 1 - quality: 0.3 is quality 0.7 (about 200 kbps)
VORBIS_COMPRESSION = 0.3
FLAC_COMPRESSION = 0.6    # libsndfile's level 0..1 (FLAC -5): lossless whatever it is
# Frames handed to libsndfile per write. Its Vorbis encoder takes stack in proportion to one
# write: a minute of stereo in one call overflows an 8 MiB stack (a segfault), and a worker
# thread's stack is smaller still.
WRITE_FRAMES = 1 << 14

# (libsndfile container, subtype, extra keyword arguments of soundfile.SoundFile)
_CODECS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "flac": ("FLAC", "PCM_16", {"compression_level": FLAC_COMPRESSION}),
    "mp3": ("MP3", "MPEG_LAYER_III", {"bitrate_mode": "CONSTANT", "compression_level": 0.0}),  # 320 kbps
    "ogg": ("OGG", "VORBIS", {"compression_level": VORBIS_COMPRESSION}),
}


@dataclass(frozen=True)
class AudioTags:
    """Metadata written into formats that carry it (FLAC and Ogg Vorbis comments, MP3 ID3)."""

    title: str
    comment: str
    artist: str = "AI Music Generation System"
    software: str = "aimusic"


def encode_audio(handle: BinaryIO, y: np.ndarray, *, fmt: str, sr: int, tags: AudioTags | None = None) -> None:
    """Encode ``y`` into the open, seekable binary ``handle`` as ``fmt``.

    Parameters
    ----------
    handle : binary file
        Where the bytes go; it must be seekable (the MP3 info frame and the WAV and FLAC
        headers are written last).
    y : np.ndarray
        Float audio in [-1, 1] (clipped, see :func:`to_pcm16`) or int16 samples,
        shape ``(n,)`` or ``(n, channels)``.
    fmt : str
        One of :data:`AUDIO_FORMATS`.
    sr : int
        Sample rate in Hz.
    tags : AudioTags, optional
        Title and comment; the WAV stays the plain PCM file it has always been, without tags.
    """
    if fmt not in AUDIO_FORMATS:
        raise ParameterError("format", "must be one of " + ", ".join(AUDIO_FORMATS))
    pcm = np.asarray(y) if np.asarray(y).dtype == np.int16 else to_pcm16(y)
    if pcm.ndim not in (1, 2) or pcm.shape[0] == 0:
        raise ParameterError("audio", "must be a non-empty (n,) or (n, channels) array")
    if sr <= 0:
        raise ParameterError("sr", "must be positive")
    if fmt == "wav":   # the same bytes as audio_io.encode_wav of the float samples
        sf.write(handle, pcm, sr, subtype="PCM_16", format="WAV")
        return
    container, subtype, options = _CODECS[fmt]
    channels = 1 if pcm.ndim == 1 else pcm.shape[1]
    with sf.SoundFile(handle, "w", samplerate=sr, channels=channels, format=container, subtype=subtype,
                      **options) as out:
        if tags is not None:
            out.title, out.comment, out.artist, out.software = tags.title, tags.comment, tags.artist, tags.software
        # The lossy encoders get the 16-bit samples as exact floats (pcm / 32768): libsndfile's
        # int16 path into LAME corrupts the signal (an error of -15 dB, peaks over full scale).
        for c0 in range(0, pcm.shape[0], WRITE_FRAMES):
            block = pcm[c0:c0 + WRITE_FRAMES]
            out.write(block if container == "FLAC" else block.astype(np.float32) / np.float32(32768.0))


def encoded_bytes(y: np.ndarray, *, fmt: str, sr: int, tags: AudioTags | None = None) -> bytes:
    """:func:`encode_audio` into memory (tests and benchmarks)."""
    buffer = io.BytesIO()
    encode_audio(buffer, y, fmt=fmt, sr=sr, tags=tags)
    return buffer.getvalue()


def decode_pcm16(handle: BinaryIO) -> tuple[np.ndarray, int]:
    """(int16 samples ``(n, channels)``, sample rate) of a 16-bit WAV or FLAC, exactly as stored."""
    data, sr = sf.read(handle, dtype="int16", always_2d=True)
    return data, int(sr)
