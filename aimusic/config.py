"""Service settings, read from environment variables in this one place."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

PACKAGE_ROOT = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_ROOT.parent
DEFAULT_MODEL_PATH = PROJECT_ROOT / "models" / "melody.pt"

SAMPLE_RATE = 44100
MIN_TEMPO, MAX_TEMPO = 40, 240   # BPM a request may ask, for every style
MAX_BODY_BYTES = 64 * 1024


def _flag(text: str) -> bool:
    """An on/off environment value: 1/0, true/false, yes/no, on/off (any case)."""
    value = text.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


@dataclass(frozen=True)
class Settings:
    """Everything the service can be configured with, with its defaults.

    Environment variables (see README): ``HOST``, ``PORT``, ``OUTPUT_DIR``,
    ``MAX_DURATION``, ``LOG_LEVEL``, ``MODEL_PATH``, ``MELODY_ENGINE``,
    ``RATE_LIMIT_PER_MINUTE``, ``DAILY_QUOTA``, ``MAX_CONCURRENT_GENERATIONS``, ``KEEP_TRACKS`` (or the
    older ``KEEP_FILES``), ``WARM_UP``, ``DATABASE_URL``, ``AUTH``, ``BROKER_URL``, ``JOB_TIME_LIMIT_S``,
    ``JOB_STALE_S``, ``JOB_THREADS``, ``WORKER_THREADS``, ``PROXY_HOPS``.
    """

    host: str = "0.0.0.0"
    port: int = 5001
    output_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "output")
    max_duration: float = 300.0
    log_level: str = "INFO"
    model_path: Path = DEFAULT_MODEL_PATH
    melody_engine: str = "model"  # "model" or "markov"
    rate_limit_per_minute: int = 0  # 0 = off; per key (or per client address with AUTH=off), all workers
    daily_quota: int = 0  # generations per key (or client address) per UTC day; 0 = off
    max_concurrent_generations: int = 4
    keep_tracks: int = 500  # oldest tracks beyond this count are deleted, rows and files together (0 = all kept)
    warm_up: bool = True  # render a few seconds of every style at start, so first requests are not slower
    database_url: str = ""  # empty: an SQLite file in the output folder
    auth: str = "off"  # "off" (one shared library) or "keys" (Authorization: Bearer on every /api/ route)
    broker_url: str = ""  # empty: jobs run in the service's own processes; redis://… for workers elsewhere
    job_time_limit_s: float = 1800.0  # a job running longer fails with a reason
    job_stale_s: float = 30.0  # a running job whose runner is silent this long is taken over
    job_threads: int = 1  # job runner threads per serving process (embedded queue)
    worker_threads: int = 2  # job threads per `worker` process (distributed queue)
    proxy_hops: int = 0  # reverse proxies in front whose X-Forwarded-For is trusted (client address)

    @property
    def keep_files(self) -> int:
        """The older name of :attr:`keep_tracks`, still read from ``KEEP_FILES``."""
        return self.keep_tracks

    @property
    def resolved_database_url(self) -> str:
        """``DATABASE_URL``, or the embedded SQLite file ``library.sqlite3`` in the output folder."""
        if self.database_url:
            return self.database_url
        return "sqlite:///" + str(Path(self.output_dir).resolve() / "library.sqlite3")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "Settings":
        """Build settings from ``env`` (default ``os.environ``), then apply ``overrides``."""
        env = os.environ if env is None else env
        base = cls()
        values: dict[str, object] = {}
        readers = {
            "HOST": ("host", str),
            "PORT": ("port", int),
            "OUTPUT_DIR": ("output_dir", Path),
            "MAX_DURATION": ("max_duration", float),
            "LOG_LEVEL": ("log_level", lambda v: v.upper()),
            "MODEL_PATH": ("model_path", Path),
            "MELODY_ENGINE": ("melody_engine", lambda v: v.lower()),
            "RATE_LIMIT_PER_MINUTE": ("rate_limit_per_minute", int),
            "DAILY_QUOTA": ("daily_quota", int),
            "MAX_CONCURRENT_GENERATIONS": ("max_concurrent_generations", int),
            "KEEP_FILES": ("keep_tracks", int),  # the older name; KEEP_TRACKS wins when both are set
            "KEEP_TRACKS": ("keep_tracks", int),
            "WARM_UP": ("warm_up", _flag),
            "DATABASE_URL": ("database_url", str),
            "AUTH": ("auth", lambda v: v.lower()),
            "BROKER_URL": ("broker_url", str),
            "JOB_TIME_LIMIT_S": ("job_time_limit_s", float),
            "JOB_STALE_S": ("job_stale_s", float),
            "JOB_THREADS": ("job_threads", int),
            "WORKER_THREADS": ("worker_threads", int),
            "PROXY_HOPS": ("proxy_hops", int),
        }
        for var, (name, convert) in readers.items():
            raw = env.get(var)
            if raw is not None and raw.strip() != "":
                try:
                    values[name] = convert(raw.strip())
                except ValueError as exc:
                    raise ValueError(f"environment variable {var}={raw!r} is invalid: {exc}") from exc
        if "keep_files" in overrides:  # the older name, as a keyword too
            overrides = dict(overrides)
            overrides.setdefault("keep_tracks", overrides.pop("keep_files"))
        values.update(overrides)
        settings = replace(base, **values)
        if settings.melody_engine not in ("model", "markov"):
            raise ValueError("MELODY_ENGINE must be 'model' or 'markov'")
        if not 1.0 <= settings.max_duration <= 3600.0:
            raise ValueError("MAX_DURATION must be between 1 and 3600 seconds")
        if settings.auth not in ("off", "keys"):
            raise ValueError("AUTH must be 'off' or 'keys'")
        for name in ("rate_limit_per_minute", "daily_quota", "keep_tracks"):
            if getattr(settings, name) < 0:
                raise ValueError(f"{name.upper()} must not be negative")
        if settings.broker_url and not settings.broker_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("BROKER_URL must be a redis:// URL")
        if settings.job_stale_s < 1 or settings.job_time_limit_s <= 0:
            raise ValueError("JOB_STALE_S must be at least 1 and JOB_TIME_LIMIT_S positive")
        if not 0 <= settings.proxy_hops <= 5:
            raise ValueError("PROXY_HOPS must be between 0 and 5")
        if settings.job_threads < 0 or settings.worker_threads < 1:
            raise ValueError("JOB_THREADS must not be negative and WORKER_THREADS must be at least 1")
        if settings.database_url and not settings.database_url.startswith(("sqlite:", "postgresql")):
            raise ValueError("DATABASE_URL must be an sqlite:// or postgresql+psycopg:// URL")
        return settings
