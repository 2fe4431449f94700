"""The files of a track beyond its WAV: made on first request (or during the generation) and kept.

A track's WAV is its master copy. The other formats of the mix are encoded from the WAV's own
samples, so a FLAC is the WAV bit for bit and an MP3 or Ogg is the same whenever it is made.
MIDI, score JSON and stems need the Score, which is composed again from the stored request
and seed (the same request and seed give the same Score and the same samples; stems are
printed against the stored mix). Each is written to the store atomically, then recorded with
:func:`aimusic.library.add_file`; the kernel lock of one file (``flock``, shared by every
process of the folder) makes concurrent first requests wait for the first one rather than
make the file twice, and a unique row per (track, kind) settles anything that slips through.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import tempfile
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import numpy as np
from sqlalchemy.exc import IntegrityError

from . import library
from .audio_io import to_pcm16
from .encode.audio import AUDIO_FORMATS, MEDIA_TYPES, AudioTags, decode_pcm16, encode_audio
from .encode.midi import write_midi_file
from .encode.score_json import score_json_bytes
from .encode.stems_zip import write_stems_zip
from .compose.variation import Variation
from .pipeline import GenerationRequest, compose_piece
from .stems import render_part_stems
from .styles import get_style
from .track_record import to_pipeline_request

log = logging.getLogger("aimusic.files")

FILE_KINDS = (*AUDIO_FORMATS, "midi", "score", "stems")
LOCK_WAIT_S = 600.0        # how long a request waits for another making the same file
LOCK_POLL_S = 0.05
LOCK_STRIPES = 256         # names share a lock when their CRC-32s agree modulo this: rare, and only a wait


class TrackGone(Exception):
    """The track was deleted while its file was being made."""


@dataclass(frozen=True)
class FileSpec:
    """What a kind of file is called and served as."""

    kind: str
    suffix: str       # "" or "_score", "_stems"
    ext: str

    def filename(self, style: str, track_id: str) -> str:
        """The store name of this file of track ``track_id``."""
        return f"{style}_{track_id}{self.suffix}.{self.ext}"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.ext]


SPECS = {**{fmt: FileSpec(fmt, "", fmt) for fmt in AUDIO_FORMATS},
         "midi": FileSpec("midi", "", "mid"), "score": FileSpec("score", "_score", "json"),
         "stems": FileSpec("stems", "_stems", "zip")}


def audio_tags(*, style: str, track_id: str, seed: int, tempo: int, key: str, time_signature: str,
               duration_s: float, request: dict[str, Any]) -> AudioTags:
    """Title and comment of a track's audio files: its style and id, seed and parameters."""
    params = {k: v for k, v in sorted(request.items()) if k not in ("seed", "format", "stems")}
    comment = (f"seed={seed} style={style} tempo={tempo} key={key} time_signature={time_signature} "
               f"duration={duration_s} request={json.dumps(params)}")
    return AudioTags(title=f"{style.capitalize()} {track_id}", comment=comment)


def tags_of(info: library.TrackInfo) -> AudioTags:
    """:func:`audio_tags` of a recorded track."""
    return audio_tags(style=info.style, track_id=info.id, seed=info.seed, tempo=info.tempo, key=info.key,
                      time_signature=info.time_signature, duration_s=info.duration_s, request=info.request)


def stored_request(info: library.TrackInfo) -> GenerationRequest:
    """The pipeline request the track was made from, with the seed it was made with.

    The stored request is validated again by the API's own model (with the widest duration
    limit, so a track made before ``MAX_DURATION`` was lowered can still be remade).
    """
    from .web.schemas import GenerateRequest

    return dataclasses.replace(to_pipeline_request(GenerateRequest.model_validate(info.request)), seed=info.seed,
                               variation=stored_variation(info))


def stored_variation(info: library.TrackInfo) -> Variation | None:
    """How a variation track varies its first original (None for a track that is no variation)."""
    found = info.plan.get("variation")
    if not found:
        return None
    return Variation(plan_seed=int(found["plan_seed"]),
                     layers=tuple((int(seed), str(vary)) for seed, vary in found["layers"]))


def variation_of(info: library.TrackInfo, *, seed: int, vary: str) -> Variation:
    """The :class:`Variation` of a new track that varies ``info`` with ``seed`` and ``vary``."""
    lineage = stored_variation(info) or Variation(plan_seed=int(info.seed), layers=())
    return lineage.then(seed, vary)


@contextmanager
def file_lock(lock_dir: Path, name: str, *, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the kernel lock of one store file name (across threads and processes) for the block.

    Raises :class:`TimeoutError` after ``wait_s`` while another holds it.
    """
    lock_dir.mkdir(parents=True, exist_ok=True)
    stripe = zlib.crc32(name.encode()) % LOCK_STRIPES   # a fixed set of lock files, however many tracks
    fd = os.open(lock_dir / f"file-{stripe:03d}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} is still being made by another request") from None
                time.sleep(LOCK_POLL_S)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class TrackFiles:
    """Makes and keeps the files of tracks for a :class:`~aimusic.service.TrackService`.

    Parameters
    ----------
    service : TrackService
        Its store, library, slots and melodist are used.
    """

    def __init__(self, service: Any) -> None:
        self.service = service

    def ensure(self, info: library.TrackInfo, kind: str) -> library.FileInfo:
        """The file of ``kind`` of the track, made and recorded now if it has none yet.

        Raises
        ------
        TrackGone
            The track was deleted meanwhile (nothing is left behind), or its WAV is gone.
        Overloaded, StoreError, TimeoutError
            No generation slot is free, the store cannot be written, or another request
            making the same file did not finish.
        """
        spec = SPECS[kind]
        svc = self.service
        existing = info.file(kind)
        if existing is not None and svc.store.exists(existing.filename):
            return existing
        master = info.file("wav")
        if kind == "wav" or master is None or not svc.store.exists(master.filename):
            raise TrackGone(info.id)   # the master is made with the track, never remade; without it no file is
        name = spec.filename(info.style, info.id)
        with file_lock(svc.output_dir / ".locks", name):
            fresh = library.get_track(svc.db, info.id)
            if fresh is None:
                raise TrackGone(info.id)
            existing = fresh.file(kind)
            if existing is not None and svc.store.exists(existing.filename):
                return existing   # made by the request we waited for
            t0 = time.perf_counter()
            with svc.slots.acquire():
                stored = svc.store.write(name, lambda handle: self.fill(fresh, kind, handle))
            log.info("made %s for track %s in %.0f ms", name, info.id, (time.perf_counter() - t0) * 1e3)
            file = library.FileInfo(kind, stored.name, spec.media_type, stored.size)
            if existing is not None:   # the row outlived its file: the file is back under the same name
                return file
            self.record(info.id, file)
            return file

    def record(self, track_id: str, file: library.FileInfo) -> None:
        """Record a file already in the store; delete it again when its track is gone."""
        try:
            added = library.add_file(self.service.db, track_id, file)
        except IntegrityError:   # another process recorded the same (track, kind): same bytes, one row
            log.info("%s was recorded by another process", file.filename)
            return
        if not added:
            self.service.store.delete(file.filename)
            raise TrackGone(track_id)

    def at_generation(self, track: Any, *, style: str, track_id: str, fmt: str, stems: bool,
                      request: dict[str, Any]) -> list[library.FileInfo]:
        """Write the files a generation asks for besides its WAV (the ``format`` file, the stems).

        Called under the generation's slot, before the track is recorded (files before rows);
        the caller deletes these files if recording fails.
        """
        kinds = ([fmt] if fmt != "wav" else []) + (["stems"] if stems else [])
        plan = track.plan
        meter = plan.time_signature
        tags = audio_tags(style=style, track_id=track_id, seed=track.seed, tempo=int(plan.tempo), key=plan.key.name,
                          time_signature=meter, duration_s=round(track.duration_s, 3), request=request)
        if not kinds:
            return []
        pcm = to_pcm16(track.audio)
        made: list[library.FileInfo] = []
        try:
            for kind in kinds:
                spec = SPECS[kind]
                if kind == "stems":
                    manifest = stems_manifest(track_id=track_id, style=style, seed=track.seed, tempo=int(plan.tempo),
                                              key=plan.key.name, time_signature=meter, sample_rate=track.sample_rate)

                    def fill(handle: BinaryIO) -> None:
                        write_stems(handle, track.score, style, pcm, sr=track.sample_rate, manifest=manifest,
                                    loop_beats=plan.total_beats if plan.loop else None)
                else:

                    def fill(handle: BinaryIO, kind: str = kind) -> None:
                        encode_audio(handle, pcm, fmt=kind, sr=track.sample_rate, tags=tags)
                stored = self.service.store.write(spec.filename(style, track_id), fill)
                made.append(library.FileInfo(kind, stored.name, spec.media_type, stored.size))
        except BaseException:
            for file in made:
                self.service.store.delete(file.filename)
            raise
        return made

    # -- making the bytes ---------------------------------------------------------------------

    def fill(self, info: library.TrackInfo, kind: str, handle: BinaryIO) -> None:
        """Write the file of ``kind`` of the track into ``handle``."""
        if kind in AUDIO_FORMATS:
            encode_audio(handle, self.stored_mix(info), fmt=kind, sr=info.sample_rate, tags=tags_of(info))
            return
        request = stored_request(info)
        plan, score, _ = compose_piece(request, self.service.melodist_info().melodist)
        if kind == "midi":
            write_midi_file(handle, score)
        elif kind == "score":
            handle.write(score_json_bytes(score, plan, loop=request.loop))
        else:
            write_stems(handle, score, plan.style, self.stored_mix(info), sr=info.sample_rate,
                        loop_beats=plan.total_beats if plan.loop else None,
                        manifest=stems_manifest(track_id=info.id, style=info.style, seed=info.seed, tempo=info.tempo,
                                                key=info.key, time_signature=info.time_signature,
                                                sample_rate=info.sample_rate))

    def stored_mix(self, info: library.TrackInfo) -> np.ndarray:
        """The int16 samples of the track's WAV, exactly as stored."""
        wav = info.file("wav")
        opened = self.service.store.open_file(wav.filename) if wav is not None else None
        if opened is None:   # its master is gone (reconciling at the next start forgets the track)
            raise TrackGone(info.id)
        with opened.handle:
            samples, _ = decode_pcm16(opened.handle)
        return samples


def stems_manifest(*, track_id: str, style: str, seed: int, tempo: int, key: str, time_signature: str,
                   sample_rate: int) -> dict[str, Any]:
    """What ``stems.json`` in the zip says about the track (the parts and figures are added to it)."""
    return {"track": track_id, "style": style, "seed": seed, "tempo": tempo, "key": key,
            "time_signature": time_signature, "sample_rate": sample_rate}


def write_stems(handle: BinaryIO, score: Any, style: str, mix_pcm: np.ndarray, *, sr: int,
                manifest: dict[str, Any], loop_beats: float | None = None) -> None:
    """Render the part stems of ``score`` against the stored mix and write them as a zip.

    ``loop_beats`` is the loop's length when the track is a loop (see :func:`render_part_stems`).
    """
    mix = mix_pcm.astype(np.float32) / np.float32(32767.0)
    with tempfile.TemporaryDirectory(prefix="aimusic-stems-") as folder:
        parts = render_part_stems(score, get_style(style), mix, sr=sr, folder=Path(folder), loop_beats=loop_beats)
        instruments = {}
        for track in score.tracks:
            instruments.setdefault(track.role, []).append(track.instrument)
        body = dict(manifest, parts=[{"name": role, "file": f"{role}.wav", "instruments": instruments.get(role, [])}
                                     for role in parts.stems],
                    sum_vs_mix={"correlation": round(parts.correlation, 6),
                                "residual_db": round(parts.residual_db, 2), "scale": round(parts.scale, 6)})
        write_stems_zip(handle, parts.stems, sr=sr, manifest=body)
        del parts
