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
    ``RATE_LIMIT_PER_MINUTE``, ``MAX_CONCURRENT_GENERATIONS``, ``KEEP_FILES``, ``WARM_UP``.
    """

    host: str = "0.0.0.0"
    port: int = 5001
    output_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "output")
    max_duration: float = 300.0
    log_level: str = "INFO"
    model_path: Path = DEFAULT_MODEL_PATH
    melody_engine: str = "model"  # "model" or "markov"
    rate_limit_per_minute: int = 0  # 0 = off
    max_concurrent_generations: int = 4
    keep_files: int = 500  # oldest generated files beyond this count are removed
    warm_up: bool = True  # render a few seconds of every style at start, so first requests are not slower

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
            "MAX_CONCURRENT_GENERATIONS": ("max_concurrent_generations", int),
            "KEEP_FILES": ("keep_files", int),
            "WARM_UP": ("warm_up", _flag),
        }
        for var, (name, convert) in readers.items():
            raw = env.get(var)
            if raw is not None and raw.strip() != "":
                try:
                    values[name] = convert(raw.strip())
                except ValueError as exc:
                    raise ValueError(f"environment variable {var}={raw!r} is invalid: {exc}") from exc
        values.update(overrides)
        settings = replace(base, **values)
        if settings.melody_engine not in ("model", "markov"):
            raise ValueError("MELODY_ENGINE must be 'model' or 'markov'")
        if not 1.0 <= settings.max_duration <= 3600.0:
            raise ValueError("MAX_DURATION must be between 1 and 3600 seconds")
        return settings
