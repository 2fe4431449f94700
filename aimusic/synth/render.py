"""Score -> whole stems: every track collected from its :class:`~aimusic.synth.stream.TrackStream`.

The pipeline streams tracks straight into the mixer (:func:`aimusic.mix.render_mix`); these
functions hand out whole stems for tests, analysis and callers that want them.
"""
from __future__ import annotations

import numpy as np

from concurrent.futures import Executor

from ..score import Score, TempoMap, Track
from .notes import NOTE_CACHE, NoteCache, RenderNotes, drum_hit, score_tonic, velocity_gain
from .stream import TrackStream

__all__ = ["NOTE_CACHE", "NoteCache", "drum_hit", "render_stems", "render_track", "score_tonic",
           "track_streams", "velocity_gain"]


def render_track(track: Track, tempo: TempoMap, *, sr: int, n_samples: int, tonic: int | None = None) -> np.ndarray:
    """One track as a mono float32 stem of exactly ``n_samples`` (drums tuned to ``tonic``)."""
    return TrackStream(track, tempo, sr=sr, n_samples=n_samples, tonic=tonic).render()


def track_streams(score: Score, *, sr: int, n_samples: int, helper: Executor | None = None) -> dict[str, TrackStream]:
    """One :class:`TrackStream` per track, keyed by track.name, ready to be read chunk by chunk.

    With a ``helper`` thread, the drum tracks are set up there (their hits synthesized, their
    levels predicted) while this thread sets up the pitched ones: the same streams.
    """
    tonic = score_tonic(score)

    def stream(track: Track) -> TrackStream:
        return TrackStream(track, score.tempo, sr=sr, n_samples=n_samples, tonic=tonic)

    there = {t.name: helper.submit(stream, t) for t in score.tracks if t.is_drums} if helper is not None else {}
    try:
        here = {t.name: stream(t) for t in score.tracks if t.name not in there}
    finally:
        made = {name: future.result() for name, future in there.items()}
    streams = {t.name: here[t.name] if t.name in here else made[t.name] for t in score.tracks}
    uses: dict[tuple, list[int]] = {}
    for stream in streams.values():
        for key, starts in stream.uses().items():
            uses.setdefault(key, []).extend(starts)
    shared = RenderNotes(uses)   # one store: the tracks are read side by side, chunk by chunk
    for stream in streams.values():
        stream.notes = shared
    return streams


def render_stems(score: Score, *, sr: int, n_samples: int) -> dict[str, np.ndarray]:
    """One mono float32 stem per track, keyed by track.name, each exactly n_samples long."""
    return {name: stream.render() for name, stream in track_streams(score, sr=sr, n_samples=n_samples).items()}
