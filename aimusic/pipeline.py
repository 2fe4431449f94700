"""generate(request) -> GeneratedTrack: the one function that chains plan, compose and render_mix.

The web layer and the CLI both call :func:`generate`; nothing here knows about HTTP.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from .blas import one_thread
from .compose.arrange import compose, melody_start
from .compose.melody_context import Melodist
from .compose.planner import SongPlan, plan_song
from .compose.variation import Variation, vary_score
from .config import MAX_TEMPO, MIN_TEMPO, SAMPLE_RATE
from .heap import release_free_memory
from .loop import render_loop
from .energy import style_at_energy
from .tempo_feel import style_at_tempo
from .instrument_choices import resolve_instruments
from .meters import find_meter, meter_at_tempo, meter_names, style_in_meter
from .primer import Primer, interval_to, place_primer
from .mix import render_mix
from .score import Score
from .styles import STYLES, StyleSpec, get_style
from .synth import amped_timbres, collect_tables

MAX_SEED = 2**32 - 1
COMPOSED_SHARE = 0.05  # of a generation's time, what planning and composing take (measured: 2-6 %)
RENDER_SHARE = 0.9  # streaming render and mix; mastering takes the rest


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """A validated request: every field already checked by the web layer or the CLI."""

    style: str
    duration: float = 30.0
    tempo: int | None = None
    key: str | None = None
    seed: int | None = None
    temperature: float = 1.0
    loop: bool = False            # a seamless loop of whole bars (aimusic.loop)
    time_signature: str | None = None   # one of the style's meters (aimusic.meters); None: its own
    energy: float | None = None         # 0..1 (aimusic.energy); None: the style's own arrangement
    instruments: tuple[tuple[str, str], ...] = ()   # (part, instrument) asked; the seed chooses the rest
    primer: Primer | None = None        # a user's melody that opens the line (aimusic.primer)
    variation: Variation | None = None  # set for a variation of a track: its plan, its layers of new notes


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


def generate(request: GenerationRequest, melodist: Melodist, *, sample_rate: int = SAMPLE_RATE,
             progress: Callable[[float], None] | None = None) -> GeneratedTrack:
    """Compose and render one track for ``request`` with ``melodist`` writing the melody.

    One ``numpy.random.Generator`` seeded from the request's seed drives every random
    choice, so the same request always yields the same samples. ``progress``, if given, is
    called with the fraction done (0 to 1) as the stages finish; it may raise to stop the work.
    """
    report = progress or (lambda fraction: None)
    request = with_primer_defaults(request)
    style = request_style(request)
    seed = resolve_seed(request.seed)
    timings: dict[str, float] = {}

    # One generation is single-threaded: its matrix products are small (the melody model
    # steps one note at a time), and a BLAS pool spinning up threads for each of them costs
    # far more than it saves, ten times more when the other core is busy. Parallelism comes
    # from serving several requests at once.
    with one_thread():
        t0 = time.perf_counter()
        plan, score = _plan_and_score(request, style, melodist, seed=seed, timings=timings)
        t2 = time.perf_counter()
        report(COMPOSED_SHARE)
        n_samples = int(round(request.duration * sample_rate))
        if request.loop:   # the true length: whole bars
            audio = render_loop(score, style, sr=sample_rate, beats=plan.total_beats)
        else:
            audio = render_mix(score, style, sr=sample_rate, n_samples=n_samples,   # streamed: no whole stems
                               progress=lambda f: report(COMPOSED_SHARE + RENDER_SHARE * f))
        t3 = time.perf_counter()
    timings.update(compose=(t2 - t0) * 1e3 - timings["plan"], render_mix=(t3 - t2) * 1e3)
    report(1.0)
    return GeneratedTrack(audio=audio, sample_rate=sample_rate, plan=plan, score=score, seed=seed,
                          melody_engine=melodist.name, timings_ms=timings)


def request_style(request: GenerationRequest) -> StyleSpec:
    """The style of ``request`` as the composer reads it: restated in the asked meter, if any.

    Raises
    ------
    KeyError
        For an unknown style, or a time signature the style does not offer.
    """
    style = get_style(request.style)
    if request.time_signature is not None:
        style = style_in_meter(style, meter_at_tempo(find_meter(style.name, request.time_signature), request.tempo))
    return style_at_tempo(style_at_energy(style, request.energy), request.tempo)


def with_primer_defaults(request: GenerationRequest) -> GenerationRequest:
    """``request`` with the key, tempo and meter its primer gives, where the request gives none.

    A primer's meter is taken only when the style offers it; its tempo (quarter notes a
    minute in MIDI) is counted in the meter's beats and moved by octaves into 40-240.
    """
    primer = request.primer
    if primer is None:
        return request
    changes: dict[str, object] = {}
    if request.time_signature is None and primer.time_signature in meter_names(request.style):
        changes["time_signature"] = primer.time_signature
    if request.key is None:
        changes["key"] = primer.key.name
    if request.tempo is None and primer.qpm:
        pulse = find_meter(request.style, changes.get("time_signature", request.time_signature)).pulse
        changes["tempo"] = fold_tempo(primer.qpm / pulse)
    return replace(request, **changes)


def fold_tempo(bpm: float, low: int = MIN_TEMPO, high: int = MAX_TEMPO) -> int:
    """``bpm`` doubled or halved into ``[low, high]`` and rounded: the same pulse, counted playably."""
    while bpm < low:
        bpm *= 2
    while bpm > high:
        bpm /= 2
    return int(min(max(round(bpm), low), high))


def _plan_and_score(request: GenerationRequest, style: StyleSpec, melodist: Melodist, *, seed: int,
                    timings: dict[str, float] | None = None) -> tuple[SongPlan, Score]:
    """The plan and Score of ``request``: one generator for both, or a variation's layers.

    A variation plans with its original's seed (the same plan) and composes the original's
    Score, then each layer composes again from its own seed and takes the parts it varies.
    """
    variation = request.variation
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed if variation is None else variation.plan_seed)
    plan = plan_piece(request, style, seed=seed if variation is None else variation.plan_seed, rng=rng)
    if timings is not None:
        timings["plan"] = (time.perf_counter() - t0) * 1e3
    score = compose_plan(request, plan, style, melodist, rng=rng)
    for layer_seed, vary in (variation.layers if variation else ()):
        again = compose_plan(request, plan, style, melodist, rng=np.random.default_rng(layer_seed))
        score = vary_score(score, again, vary)
    return plan, score


def plan_piece(request: GenerationRequest, style: StyleSpec, *, seed: int, rng: np.random.Generator) -> SongPlan:
    """The plan of ``request`` (the first use of ``rng``): the one place a request becomes a plan."""
    plan = plan_song(style, duration=request.duration, tempo=request.tempo, key=request.key, seed=seed, rng=rng,
                     loop=request.loop, energy=request.energy)
    if request.instruments:
        asked = resolve_instruments(style.name, dict(request.instruments))
        plan = replace(plan, instruments=tuple((role, asked.get(role, name)) for role, name in plan.instruments))
    if request.primer is not None:
        primer = request.primer.transposed(interval_to(request.primer.key, plan.key.tonic))
        plan = replace(plan, primer=place_primer(primer, melody_start(plan), plan.total_beats))
    return plan


def compose_plan(request: GenerationRequest, plan: SongPlan, style: StyleSpec, melodist: Melodist, *,
                 rng: np.random.Generator) -> Score:
    """The Score of ``plan`` (the second use of ``rng``), as :func:`generate` composes it."""
    return compose(plan, style, melodist, rng=rng, temperature=request.temperature)


def compose_piece(request: GenerationRequest, melodist: Melodist) -> tuple[SongPlan, Score, int]:
    """(plan, Score, seed) of ``request`` without rendering: exactly the Score :func:`generate` renders.

    MIDI, score JSON and stems of a stored track are made from this: the same request and
    seed give the same random draws in the same order, so the same notes.
    """
    request = with_primer_defaults(request)
    style = request_style(request)
    seed = resolve_seed(request.seed)
    with one_thread():
        plan, score = _plan_and_score(request, style, melodist, seed=seed)
    return plan, score, seed


WARM_UP_SECONDS = 1.0   # the first second of every style: all of its code runs once; longer renders fill more cache


def warm_up_styles(melodist: Melodist, *, seconds: float = WARM_UP_SECONDS, sample_rate: int = SAMPLE_RATE) -> float:
    """Render ``seconds`` of every style once and discard them; returns the time taken in ms.

    The first track in a fresh process otherwise pays for what runs once per process: the
    style's filters designed, its drum kit's untuned hits and first notes rendered, lazy
    imports (NumPy's ``ma``), first calls. A server does this once, before it forks its
    workers, which then share the warm caches. The caches are keyed by content, so later
    tracks are unchanged by it. One second does about as much for a first track of 30 s as
    six did (within a few percent, ``bench/STARTUP.md``), for a third of the time: what a
    later track has and a first one lacks is the notes and drum hits of its own key and tempo,
    which no short render has.
    """
    t0 = time.perf_counter()
    amped = amped_timbres()
    # Styles without guitars first: the guitars' calibrations may still be being measured by a
    # copy of the process (aimusic.synth.warm_up), which these renders then overlap.
    order = sorted(STYLES, key=lambda name: any(i in amped for part in STYLES[name].parts for i in part.instruments))
    for name in order:
        generate(GenerationRequest(style=name, duration=seconds, seed=0), melodist, sample_rate=sample_rate)
    collect_tables()
    release_free_memory()   # the warm-up's buffers are freed: the forked workers need not carry them
    return (time.perf_counter() - t0) * 1e3
