"""The generation service: one melodist per process, files in one folder, bounded load.

Nothing here knows about HTTP: the views (and the CLI) call :meth:`GenerationService.generate`
and :meth:`GenerationService.find_download`, and translate the exceptions.
"""
from __future__ import annotations

import logging
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..audio_io import TEMP_PREFIX, TEMP_SUFFIX, write_wav
from ..config import SAMPLE_RATE, Settings
from ..melodists import MelodistInfo, load_melodist
from ..pipeline import GeneratedTrack, GenerationRequest, generate, warm_up_styles
from ..styles import get_style
from ..synth import warm_up
from .limits import GenerationSlots, Overloaded, RateLimiter
from .schemas import FILENAME_PATTERN, GenerateRequest, GenerateResponse

log = logging.getLogger("aimusic.service")

FILENAME_RE = re.compile(FILENAME_PATTERN)
LOCK_DIR_NAME = ".locks"
STALE_TEMP_S = 3600.0


class Unavailable(Exception):
    """The service cannot take this generation now (folder not writable, or overloaded)."""

    def __init__(self, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class OutputStatus:
    """Whether the output folder takes files, and how much room it has."""

    writable: bool
    free_bytes: int
    reason: str | None = None


def new_file_id() -> str:
    """A fresh random 12-hex-digit id (48 bits: collisions are not a practical concern)."""
    return secrets.token_hex(6)


def describe_track(track: GeneratedTrack, *, style: str, file_id: str, filename: str, download_url: str,
                   temperature: float, generation_ms: float) -> GenerateResponse:
    """The metadata API clients and the CLI receive for a generated ``track``."""
    return GenerateResponse(
        id=file_id, filename=filename, download_url=download_url, style=style,
        duration=round(track.duration_s, 3), tempo=int(track.plan.tempo), key=track.plan.key.name,
        seed=int(track.seed), temperature=float(temperature), sample_rate=int(track.sample_rate),
        channels=int(track.audio.shape[1]), bars=int(track.plan.total_bars),
        time_signature=get_style(style).time_signature, model=track.melody_engine,
        generation_time_ms=int(round(generation_ms)),
    )


def to_pipeline_request(params: GenerateRequest) -> GenerationRequest:
    """The pipeline's plain request from validated API parameters."""
    return GenerationRequest(style=params.style, duration=float(params.duration), tempo=params.tempo,
                             key=params.key, seed=params.seed, temperature=float(params.temperature))


class GenerationService:
    """Holds the melodist (loaded once), writes tracks into the output folder, bounds the load.

    Parameters
    ----------
    settings : Settings
        Output folder, engine, limits.
    melodist_info : MelodistInfo, optional
        An already loaded melodist; loaded from ``settings`` when omitted.
    """

    def __init__(self, settings: Settings, melodist_info: MelodistInfo | None = None) -> None:
        self.settings = settings
        self.output_dir = Path(settings.output_dir)
        self.melodist_info = melodist_info or load_melodist(settings.melody_engine, settings.model_path)
        warm_up(sr=SAMPLE_RATE)  # noise tables built once, before gunicorn forks its workers
        if settings.warm_up:
            log.info("warm-up: every style rendered once in %.0f ms", warm_up_styles(self.melodist_info.melodist))
        self.slots = GenerationSlots(self.output_dir / LOCK_DIR_NAME, settings.max_concurrent_generations)
        self.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
        self.started = time.monotonic()
        self.version = __version__
        self._prepare_output_dir()

    def _prepare_output_dir(self) -> None:
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.error("output folder %s cannot be created: %s", self.output_dir, exc)
            return
        self.remove_stale_temp_files()

    def output_status(self) -> OutputStatus:
        """Probe the output folder by creating (and dropping) an unnamed temporary file."""
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.output_dir):
                pass
            free = shutil.disk_usage(self.output_dir).free
        except OSError as exc:
            return OutputStatus(False, 0, f"output folder is not writable: {exc.strerror or exc}")
        return OutputStatus(True, int(free))

    def health(self) -> dict[str, Any]:
        """What ``/health`` reports: status, model, output folder, uptime."""
        info = self.melodist_info
        out = self.output_status()
        warnings = []
        if not info.loaded:
            warnings.append(f"trained melody model could not be loaded ({info.error}); using {info.name}")
        return {
            "status": "ok" if out.writable else "degraded",
            "version": self.version,
            "model": {"name": info.name, "loaded": info.loaded, "parameters": info.parameters, "error": info.error},
            "output_dir": {"writable": out.writable, "free_bytes": out.free_bytes},
            "uptime_s": round(time.monotonic() - self.started, 3),
            "reason": out.reason,
            "warnings": warnings,
        }

    def generate(self, params: GenerateRequest, *, download_prefix: str = "/api/download/") -> GenerateResponse:
        """Compose, render and write one track; raise :class:`Unavailable` when it cannot now."""
        out = self.output_status()
        if not out.writable:
            raise Unavailable(out.reason or "output folder is not writable", retry_after=60)
        t0 = time.perf_counter()
        try:
            with self.slots.acquire():
                track = generate(to_pipeline_request(params), self.melodist_info.melodist)
                file_id = new_file_id()
                filename = f"{params.style}_{file_id}.wav"
                write_wav(self.output_dir / filename, track.audio, sr=track.sample_rate)
        except Overloaded as exc:
            raise Unavailable(f"server busy: {exc}", retry_after=5) from None
        elapsed_ms = (time.perf_counter() - t0) * 1e3
        self.prune()
        log.info("generated %s (%.1f s of %s, seed %d) in %.0f ms %s", filename, track.duration_s, params.style,
                 track.seed, elapsed_ms, {k: round(v) for k, v in track.timings_ms.items()})
        return describe_track(track, style=params.style, file_id=file_id, filename=filename,
                              download_url=download_prefix + filename, temperature=params.temperature,
                              generation_ms=elapsed_ms)

    def find_download(self, filename: str) -> Path | None:
        """The path of a finished file the service wrote, or None.

        Only names of the service's own pattern are looked up, so a name holding a path
        separator, ``..``, a NUL byte or anything else never reaches the file system.
        """
        if len(filename) > 64 or not FILENAME_RE.fullmatch(filename):
            return None
        path = self.output_dir / filename
        return path if path.is_file() else None

    def generated_files(self) -> list[Path]:
        """The service's finished files in the output folder, oldest first."""
        try:
            entries = [p for p in self.output_dir.iterdir() if FILENAME_RE.fullmatch(p.name)]
        except OSError:
            return []
        stamped = []
        for path in entries:
            try:
                stamped.append((path.stat().st_mtime_ns, path.name, path))
            except FileNotFoundError:
                continue
        return [p for _, _, p in sorted(stamped)]

    def prune(self) -> int:
        """Delete the oldest generated files beyond ``keep_files`` (0 keeps everything); how many went."""
        if self.settings.keep_files <= 0:
            return 0
        files = self.generated_files()
        excess = len(files) - self.settings.keep_files
        removed = 0
        for path in files[:max(0, excess)]:
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
        return removed

    def remove_stale_temp_files(self, max_age_s: float = STALE_TEMP_S) -> int:
        """Remove temporary files left by a write interrupted long ago (a crashed worker)."""
        removed = 0
        now = time.time()
        try:
            candidates = list(self.output_dir.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"))
        except OSError:
            return 0
        for path in candidates:
            try:
                if now - path.stat().st_mtime > max_age_s:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                pass
        return removed
