"""The mix as WAV, FLAC, MP3 or Ogg Vorbis: libsndfile (through soundfile), pedalboard's LAME for MP3.

Every format is encoded from the same 16-bit samples the WAV holds (:func:`to_pcm16`), so a
FLAC decodes to exactly the WAV's samples and a file made later from the stored WAV is the
same as one made during the generation. MP3 is 320 kbps CBR at 44.1 kHz stereo with LAME's
info frame, whose encoder delay and padding decoders (ffmpeg, browsers) use to give back
exactly the encoded length, aligned to the sample; its tags are ID3v2 (mutagen).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import soundfile as sf
from mutagen.id3 import COMM, ID3, TIT2, TPE1, TSSE
from pedalboard.io import AudioFile

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
        Title and comment (Vorbis comments in FLAC and Ogg, ID3v2 in MP3); the WAV stays the
        plain PCM file it has always been, without tags.
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
    if fmt == "mp3":
        encode_mp3(handle, pcm, sr=sr, tags=tags)
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


def id3_tag(tags: AudioTags) -> bytes:
    """An ID3v2.3 tag (title, artist, comment, encoder) as bytes, made by mutagen."""
    tag = ID3()
    tag.add(TIT2(encoding=3, text=tags.title))
    tag.add(TPE1(encoding=3, text=tags.artist))
    tag.add(COMM(encoding=3, lang="eng", desc="", text=tags.comment))
    tag.add(TSSE(encoding=3, text=tags.software))
    buffer = io.BytesIO()
    tag.save(buffer, v2_version=3, padding=lambda info: 0)
    return buffer.getvalue()


def encode_mp3(handle: BinaryIO, pcm: np.ndarray, *, sr: int, tags: AudioTags | None = None) -> None:
    """320 kbps CBR MP3 of int16 ``pcm``: pedalboard's LAME, then an ID3v2 tag in front.

    Pedalboard encodes about three times faster than libsndfile's MP3 writer, and its LAME
    info frame carries the encoder delay and padding, so decoders give back exactly the
    encoded samples, aligned. The tag goes before the frames, where players look first.
    """
    frames = io.BytesIO()
    channels = 1 if pcm.ndim == 1 else pcm.shape[1]
    planar = pcm.reshape(pcm.shape[0], channels)
    with AudioFile(frames, "w", samplerate=sr, num_channels=channels, format="mp3",
                   quality=str(MP3_BITRATE_KBPS)) as out:
        for c0 in range(0, planar.shape[0], WRITE_FRAMES):
            out.write(np.ascontiguousarray(planar[c0:c0 + WRITE_FRAMES].T, dtype=np.float32) / np.float32(32768.0))
    if tags is not None:
        handle.write(id3_tag(tags))
    handle.write(frames.getvalue())


def encoded_bytes(y: np.ndarray, *, fmt: str, sr: int, tags: AudioTags | None = None) -> bytes:
    """:func:`encode_audio` into memory (tests and benchmarks)."""
    buffer = io.BytesIO()
    encode_audio(buffer, y, fmt=fmt, sr=sr, tags=tags)
    return buffer.getvalue()


def decode_pcm16(handle: BinaryIO) -> tuple[np.ndarray, int]:
    """(int16 samples ``(n, channels)``, sample rate) of a 16-bit WAV or FLAC, exactly as stored."""
    data, sr = sf.read(handle, dtype="int16", always_2d=True)
    return data, int(sr)
