"""The track service: make a track, keep its files in the store and its record in the library.

This is the one place that chains pipeline → store → library, so the HTTP views, the command
line and background workers make tracks the same way. Nothing here knows about HTTP; the
views translate :class:`Unavailable` and :class:`Refused` into status codes.

Order of writes (what makes a crash harmless): a file is complete in the store before its row
is committed, and a row is deleted before its files. A crash between the two leaves a file
without a row, which :meth:`TrackService.reconcile` removes at the next start.
"""
from __future__ import annotations

import dataclasses
import errno
import logging
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import __version__, library
from .audio_io import encode_wav
from .compose.melody_context import Melodist
from .compose.variation import Variation
from .config import SAMPLE_RATE, Settings
from .melodists import MelodistInfo, load_melodist
from .pipeline import GeneratedTrack, generate, warm_up_styles
from .slots import GenerationSlots, Overloaded
from .store import STALE_TEMP_S, FileStore, StoreError, track_id_of
from .synth import warm_up
from .track_files import TrackFiles
from .track_record import (file_sha256, new_track_id, plan_summary, to_pipeline_request,
                           variation_summary)

log = logging.getLogger("aimusic.service")

LOCK_DIR_NAME = ".locks"
ORPHAN_GRACE_S = 120.0  # a file without a row this old is an orphan even while others generate
MEDIA_TYPES = {"wav": "audio/wav"}
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # disk full, quota, file-size limit
FULL_RECHECK_S = 60.0  # after a write failed for room, report degraded this long before trying again


class Unavailable(Exception):
    """The service cannot take this generation now (store not writable, database down, overloaded)."""

    def __init__(self, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Refused(Exception):
    """The subject is over its rate limit or daily quota."""

    def __init__(self, refusal: library.Refusal) -> None:
        what = "per minute" if refusal.reason == "rate" else "per day"
        super().__init__(f"too many requests: at most {refusal.limit} {what}")
        self.refusal = refusal


@dataclass(frozen=True)
class OutputStatus:
    """Whether the output folder takes files, and how much room it has."""

    writable: bool
    free_bytes: int
    reason: str | None = None


class TrackService:
    """Makes tracks, keeps them and answers for them.

    Parameters
    ----------
    settings : Settings
        Output folder, engine, limits, database.
    db : Database
        The open (migrated) library.
    melodist_info : MelodistInfo, optional
        An already loaded melodist; loaded on first use otherwise (once per process).
    """

    def __init__(self, settings: Settings, db: library.Database, melodist_info: MelodistInfo | None = None) -> None:
        self.settings = settings
        self.db = db
        self.output_dir = Path(settings.output_dir)
        self.store = FileStore(self.output_dir)
        self.slots = GenerationSlots(self.output_dir / LOCK_DIR_NAME, settings.max_concurrent_generations)
        self.started = time.monotonic()
        self.version = __version__
        self._melodist_info = melodist_info
        self._model_hash: str | None = None
        self._load_lock = threading.Lock()
        self._out_of_room: tuple[str, float] | None = None  # why the last write failed for room, and when

    # -- start-up ---------------------------------------------------------------------------

    def melodist_info(self) -> MelodistInfo:
        """The melodist, loaded on first use (a server loads it before forking its workers)."""
        if self._melodist_info is None:
            with self._load_lock:
                if self._melodist_info is None:
                    self._melodist_info = load_melodist(self.settings.melody_engine, self.settings.model_path)
        return self._melodist_info

    def model_hash(self) -> str | None:
        """SHA-256 of the checkpoint in use (None for the Markov baseline)."""
        info = self.melodist_info()
        if self._model_hash is None and info.loaded and info.path:
            self._model_hash = file_sha256(info.path)
        return self._model_hash

    def prepare(self, *, warm: bool | None = None) -> None:
        """Load the model, warm the caches and reconcile the store with the library: once per process group."""
        info = self.melodist_info()
        self.model_hash()
        warm_up(sr=SAMPLE_RATE)  # noise tables built once, before gunicorn forks its workers
        if self.settings.warm_up if warm is None else warm:
            log.info("warm-up: every style rendered once in %.0f ms", warm_up_styles(info.melodist))
        self.reconcile()

    def reconcile(self) -> dict[str, int]:
        """Make the store and the library agree after a crash; what was repaired (also logged).

        Files of ours without a row are deleted; rows whose main audio file is gone are
        deleted; rows of other missing files are dropped (those files are remade on request).
        While another process may be generating, only files older than ``ORPHAN_GRACE_S`` count
        as orphans, since a young one may be about to get its row.
        """
        repaired = {"orphan_files": 0, "tracks_without_audio": 0, "missing_files": 0, "temp_files": 0}
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.error("output folder %s cannot be created: %s", self.output_dir, exc)
            return repaired
        with self.slots.quiet() as quiet:
            recorded = library.all_file_names(self.db)
            grace = 0.0 if quiet else ORPHAN_GRACE_S
            for name in self.store.names():
                if name in recorded:
                    continue
                age = self.store.modified_age_s(name)
                if age is not None and age >= grace and self.store.delete(name):
                    repaired["orphan_files"] += 1
                    log.warning("reconcile: deleted %s, a file without a track (left by a crash)", name)
            missing = [name for name in recorded if not self.store.exists(name)]
            lost_tracks = sorted({recorded[n] for n in missing if n.endswith(".wav")})
            for name in library.forget_tracks(self.db, lost_tracks):
                if self.store.delete(name):
                    log.warning("reconcile: deleted %s, a file of a track whose audio was lost", name)
            repaired["tracks_without_audio"] = len(lost_tracks)
            for track_id in lost_tracks:
                log.warning("reconcile: forgot track %s, whose audio file is missing", track_id)
            others = [n for n in missing if recorded[n] not in lost_tracks]
            library.forget_files(self.db, others)
            repaired["missing_files"] = len(others)
            repaired["temp_files"] = self.store.remove_stale_temp_files(0.0 if quiet else STALE_TEMP_S)
        if any(repaired.values()):
            log.warning("reconcile: repaired %s", repaired)
        return repaired

    # -- status -----------------------------------------------------------------------------

    def output_status(self) -> OutputStatus:
        """Probe the output folder by creating (and dropping) an unnamed temporary file."""
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.output_dir):
                pass
            self.store.discard_stranded()   # writable again: what a failed write had to leave goes
            free = shutil.disk_usage(self.output_dir).free
        except OSError as exc:
            return OutputStatus(False, 0, f"output folder is not writable: {exc.strerror or exc}")
        longest = int(self.settings.max_duration * SAMPLE_RATE * 4)  # one 16-bit stereo WAV of MAX_DURATION
        if free < longest:
            return OutputStatus(False, int(free), f"output folder is full: {free} bytes free, a track may need "
                                                  f"{longest}")
        failed = self._out_of_room
        if failed is not None and time.monotonic() - failed[1] < FULL_RECHECK_S:
            return OutputStatus(False, int(free), failed[0])
        return OutputStatus(True, int(free))

    def database_status(self) -> tuple[bool, str | None]:
        """Whether the library answers a query, and why not (a library never migrated is migrated now)."""
        try:
            if self.db.current_revision() != self.db.head_revision():
                self.db.upgrade()
            library.count_tracks(self.db)
        except Exception as exc:  # any driver error means the same to a client: not ready
            return False, f"database unavailable: {type(exc).__name__}"
        return True, None

    def health(self) -> dict[str, Any]:
        """What ``/health`` reports: status, model, output folder, database, uptime."""
        info = self.melodist_info()
        out = self.output_status()
        db_ok, db_reason = self.database_status()
        warnings = []
        if not info.loaded:
            warnings.append(f"trained melody model could not be loaded ({info.error}); using {info.name}")
        ok = out.writable and db_ok
        return {
            "status": "ok" if ok else "degraded",
            "version": self.version,
            "model": {"name": info.name, "loaded": info.loaded, "parameters": info.parameters, "error": info.error},
            "output_dir": {"writable": out.writable, "free_bytes": out.free_bytes},
            "database": {"ok": db_ok, "backend": self.db.dialect},
            "auth": self.settings.auth,
            "uptime_s": round(time.monotonic() - self.started, 3),
            "reason": out.reason or db_reason,
            "warnings": warnings,
        }

    # -- work -------------------------------------------------------------------------------

    def admit(self, subject: str, cost: int = 1) -> None:
        """Count a request of ``subject`` against its rate limit and quota; :class:`Refused` when over."""
        try:
            refusal = library.check_and_count(self.db, subject, per_minute=self.settings.rate_limit_per_minute,
                                              per_day=self.settings.daily_quota, cost=cost)
        except Exception as exc:
            log.error("rate limit check failed: %s", exc)
            raise Unavailable("database unavailable", retry_after=5) from None
        if refusal is not None:
            raise Refused(refusal)

    def make_track(self, params: Any, *, owner: int | None, request: dict[str, Any], track_id: str | None = None,
                   progress: Callable[[float], None] | None = None, wait_s: float = 0.0,
                   variation: Variation | None = None, original: str | None = None,
                   recorder: Callable[[library.TrackInfo], None] | None = None) -> library.TrackInfo:
        """Compose, render, store and record one track for ``owner``; raise :class:`Unavailable` if it cannot now.

        ``request`` is the request as the client gave it, kept with the track. A background job
        passes its own ``track_id`` (so a retry records the track once), a ``progress`` callback,
        ``wait_s``, how long to wait for a generation slot, and a ``recorder`` that records the
        track with its request's outcome in one transaction (instead of ``library.record_track``).
        A variation of track ``original`` passes that track's request as ``params`` and how it
        varies it as ``variation``.
        """
        out = self.output_status()
        if not out.writable:
            raise Unavailable(out.reason or "output folder is not writable", retry_after=60)
        info = self.melodist_info()
        t0 = time.perf_counter()
        try:
            with self.slots.acquire(wait_s=wait_s):
                # the track's audio is let go inside the slot, so the heap its release hands back has it
                record, summary = self._generate_and_record(
                    params, info.melodist, owner=owner, request=request, track_id=track_id, progress=progress,
                    variation=variation, original=original, recorder=recorder, t0=t0)
        except Overloaded as exc:
            raise Unavailable(f"server busy: {exc}", retry_after=5) from None
        except StoreError as exc:
            log.error("store write failed: %s", exc)
            if exc.errno in FULL_ERRNOS:   # no probe sees a file-size limit or quota: remember it
                reason = f"output folder is full: {exc.strerror or exc}"
                self._out_of_room = (reason, time.monotonic())
                raise Unavailable(reason, retry_after=int(FULL_RECHECK_S)) from None
            raise Unavailable(f"output folder is not writable: {exc.strerror or exc}", retry_after=60) from None
        self._out_of_room = None
        self.prune()
        log.info("generated %s", summary)
        return record

    def _generate_and_record(self, params: Any, melodist: Melodist, *, owner: int | None, request: dict[str, Any],
                             track_id: str | None, progress: Callable[[float], None] | None,
                             variation: Variation | None, original: str | None,
                             recorder: Callable[[library.TrackInfo], None] | None,
                             t0: float) -> tuple[library.TrackInfo, str]:
        """Compose, render, store and record one track: its record and a line for the log.

        Nothing of the rendered track outlives this call but the files and the record.
        """
        asked = dataclasses.replace(to_pipeline_request(params), variation=variation)
        track = generate(asked, melodist, progress=progress)
        track_id = track_id or new_track_id()
        filename = f"{params.style}_{track_id}.wav"
        stored = self.store.write(filename, lambda handle: encode_wav(handle, track.audio, sr=track.sample_rate))
        try:   # the asked format and the stems, when asked, are made now too (files before rows)
            extra = TrackFiles(self).at_generation(
                track, style=params.style, track_id=track_id, fmt=getattr(params, "format", "wav"),
                stems=bool(getattr(params, "stems", False)), request=request)
        except BaseException:
            self.store.delete(stored.name)
            raise
        elapsed_ms = (time.perf_counter() - t0) * 1e3
        record = self._record(track, params, owner=owner, request=request, track_id=track_id, stored=stored,
                              elapsed_ms=elapsed_ms, extra=tuple(extra),
                              lineage=variation_summary(variation, original), recorder=recorder)
        summary = (f"{filename} ({track.duration_s:.1f} s of {params.style}, seed {track.seed}) in {elapsed_ms:.0f} ms "
                   f"{ {k: round(v) for k, v in track.timings_ms.items()} }")
        return record, summary

    def _record(self, track: GeneratedTrack, params: Any, *, owner: int | None, request: dict[str, Any],
                track_id: str, stored: Any, elapsed_ms: float, extra: tuple[library.FileInfo, ...] = (),
                lineage: dict[str, Any] | None = None,
                recorder: Callable[[library.TrackInfo], None] | None = None) -> library.TrackInfo:
        summary = plan_summary(track)
        if lineage:
            summary["variation"] = lineage
        record = library.TrackInfo(
            id=track_id, owner_id=owner, created_at=library.utc_now(), style=params.style,
            duration_s=round(track.duration_s, 3), tempo=int(track.plan.tempo), key=track.plan.key.name,
            time_signature=summary["time_signature"], bars=int(track.plan.total_bars), seed=int(track.seed),
            temperature=float(params.temperature), sample_rate=int(track.sample_rate),
            channels=int(track.audio.shape[1]), format=getattr(params, "format", "wav"),
            model_name=track.melody_engine,
            model_hash=self.model_hash(), service_version=self.version, generation_ms=int(round(elapsed_ms)),
            request=request, plan=summary, timings={k: round(v, 2) for k, v in track.timings_ms.items()},
            files=(library.FileInfo("wav", stored.name, MEDIA_TYPES["wav"], stored.size), *extra),
        )
        try:
            if recorder is None:
                return library.record_track(self.db, record)
            recorder(record)
            return record
        except Exception as exc:
            try:
                existing = library.get_track(self.db, track_id)
            except Exception:
                existing = None
            if existing is not None:  # a job's other attempt recorded the same track (same bytes): keep it
                return existing
            for name in (stored.name, *(f.filename for f in extra)):
                self.store.delete(name)  # never a file without its row
            log.error("recording track %s failed: %s", track_id, exc)
            raise Unavailable("database unavailable", retry_after=5) from None

    def delete(self, track_id: str, *, owner: int | None) -> bool:
        """Delete a track: its rows, then its files. False when ``owner`` has no such track."""
        names = library.delete_track(self.db, track_id, owner=owner)
        if names is None:
            return False
        for name in names:
            self.store.delete(name)
        return True

    def prune(self) -> int:
        """Delete the oldest tracks beyond ``keep_tracks`` (0 keeps all), rows then files; how many files went."""
        try:
            names = library.prune_tracks(self.db, self.settings.keep_tracks)
        except Exception as exc:
            log.error("pruning failed: %s", exc)
            return 0
        removed = sum(self.store.delete(name) for name in names)
        if names:
            log.info("retention: deleted %d tracks' files beyond KEEP_TRACKS=%d",
                     len({track_id_of(n) for n in names}), self.settings.keep_tracks)
        return removed
