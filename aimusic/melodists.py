"""Choosing and loading the melody writer once per process (trained model or Markov baseline)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from .compose.markov import MarkovMelodist
from .compose.melody_context import Melodist
from .errors import ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MelodistInfo:
    """The melodist in use and what /health reports about it."""

    melodist: Melodist
    name: str
    loaded: bool            # True when the engine asked for is the one in use
    parameters: int
    path: str | None
    error: str | None = None


def load_melodist(engine: str, model_path: Path) -> MelodistInfo:
    """Load the trained model (``engine="model"``) or the Markov baseline (``"markov"``).

    A model that cannot be loaded leaves the service usable on the baseline, with
    ``loaded=False`` and the reason in ``error`` so /health can report it as degraded.
    """
    if engine == "markov":
        baseline = MarkovMelodist()
        return MelodistInfo(baseline, baseline.name, True, 0, None)
    try:
        from .model.melodist import load_model_melodist

        model = load_model_melodist(Path(model_path))
    except (ModelError, OSError, ImportError, RuntimeError, KeyError, ValueError) as exc:
        log.error("melody model unavailable at %s: %s", model_path, exc)
        baseline = MarkovMelodist()
        return MelodistInfo(baseline, baseline.name, False, 0, str(model_path), error=str(exc))
    return MelodistInfo(model, model.name, True, int(model.parameters), str(model_path))
