"""generate(request) -> GeneratedTrack: the one function that chains plan, compose and render_mix.

The web layer and the CLI both call :func:`generate`; nothing here knows about HTTP.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .compose.arrange import compose
from .compose.melody_context import Melodist
from .compose.planner import SongPlan, plan_song
from .config import SAMPLE_RATE
from .mix import render_mix
from .score import Score
from .styles import STYLES, get_style

MAX_SEED = 2**32 - 1


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """A validated request: every field already checked by the web layer or the CLI."""

    style: str
    duration: float = 30.0
    tempo: int | None = None
    key: str | None = None
    seed: int | None = None
    temperature: float = 1.0


@dataclass(slots=True)
class GeneratedTrack:
    """The finished stereo audio and everything a client may want to know about it."""

    audio: np.ndarray          # (n_samples, 2) float32, peak <= -1 dBFS
    sample_rate: int
    plan: SongPlan
    score: Score
    seed: int
    melody_engine: str
    timings_ms: dict[str, float]

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / self.sample_rate


def resolve_seed(seed: int | None) -> int:
    """The request's seed, or a fresh one from the OS when none was given."""
    if seed is not None:
        return int(seed)
    return int(np.random.SeedSequence().entropy % (MAX_SEED + 1))


def generate(request: GenerationRequest, melodist: Melodist, *, sample_rate: int = SAMPLE_RATE) -> GeneratedTrack:
    """Compose and render one track for ``request`` with ``melodist`` writing the melody.

    One ``numpy.random.Generator`` seeded from the request's seed drives every random
    choice, so the same request always yields the same samples.
    """
    style = get_style(request.style)
    seed = resolve_seed(request.seed)
    rng = np.random.default_rng(seed)
    timings: dict[str, float] = {}

    # One generation is single-threaded: its matrix products are small (the melody model
    # steps one note at a time), and a BLAS pool spinning up threads for each of them costs
    # far more than it saves, ten times more when the other core is busy. Parallelism comes
    # from serving several requests at once.
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        plan = plan_song(style, duration=request.duration, tempo=request.tempo, key=request.key, seed=seed, rng=rng)
        t1 = time.perf_counter()
        score = compose(plan, style, melodist, rng=rng, temperature=request.temperature)
        t2 = time.perf_counter()
        n_samples = int(round(request.duration * sample_rate))
        audio = render_mix(score, style, sr=sample_rate, n_samples=n_samples)   # streamed: no whole stems
        t3 = time.perf_counter()
    timings.update(plan=(t1 - t0) * 1e3, compose=(t2 - t1) * 1e3, render_mix=(t3 - t2) * 1e3)
    return GeneratedTrack(audio=audio, sample_rate=sample_rate, plan=plan, score=score, seed=seed,
                          melody_engine=melodist.name, timings_ms=timings)


WARM_UP_SECONDS = 6.0


def warm_up_styles(melodist: Melodist, *, seconds: float = WARM_UP_SECONDS, sample_rate: int = SAMPLE_RATE) -> float:
    """Render ``seconds`` of every style once and discard them; returns the time taken in ms.

    The first track in a fresh process otherwise pays for filling the note, drum and filter
    caches (about 150 ms for 30 s of jazz). A server does this once, before it forks its
    workers, which then share the warm caches. The caches are keyed by content, so later
    tracks are unchanged by it.
    """
    t0 = time.perf_counter()
    for name in STYLES:
        generate(GenerationRequest(style=name, duration=seconds, seed=0), melodist, sample_rate=sample_rate)
    return (time.perf_counter() - t0) * 1e3
