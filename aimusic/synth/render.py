"""Score -> whole stems: every track collected from its :class:`~aimusic.synth.stream.TrackStream`.

The pipeline streams tracks straight into the mixer (:func:`aimusic.mix.render_mix`); these
functions hand out whole stems for tests, analysis and callers that want them.
"""
from __future__ import annotations

import numpy as np

from concurrent.futures import Executor

from ..score import Score, TempoMap, Track
from ..blas import one_thread
from ..errors import ParameterError
from .drums import get_kit
from .notes import DRUM_CACHE, NOTE_CACHE, NoteCache, RenderNotes, drum_hit, score_tonic, velocity_gain
from .stream import TrackStream, hit_keys, make_hits, onset_order

__all__ = ["NOTE_CACHE", "NoteCache", "drum_hit", "render_stems", "render_track", "score_tonic",
           "track_streams", "velocity_gain"]


def render_track(track: Track, tempo: TempoMap, *, sr: int, n_samples: int, tonic: int | None = None) -> np.ndarray:
    """One track as a mono float32 stem of exactly ``n_samples`` (drums tuned to ``tonic``)."""
    return TrackStream(track, tempo, sr=sr, n_samples=n_samples, tonic=tonic).render()


def track_streams(score: Score, *, sr: int, n_samples: int, helper: Executor | None = None) -> dict[str, TrackStream]:
    """One :class:`TrackStream` per track, keyed by track.name, ready to be read chunk by chunk.

    With a ``helper`` thread, the drum tracks are set up there (their hits synthesized, their
    levels predicted) while this thread sets up the pitched ones and then shares the hits not
    yet made: the same streams.
    """
    with one_thread():   # held here before the helper synthesizes anything (see aimusic.blas)
        return _track_streams(score, sr=sr, n_samples=n_samples, helper=helper)


def _track_streams(score: Score, *, sr: int, n_samples: int, helper: Executor | None) -> dict[str, TrackStream]:
    tonic = score_tonic(score)

    def stream(track: Track) -> TrackStream:
        return TrackStream(track, score.tempo, sr=sr, n_samples=n_samples, tonic=tonic)

    todo = new_hits(score, sr=sr, n_samples=n_samples, tonic=tonic) if helper is not None else []

    def drum_stream(track: Track) -> TrackStream:
        make_hits(todo, sr=sr)
        return stream(track)

    there = {t.name: helper.submit(drum_stream, t) for t in score.tracks if t.is_drums} if helper is not None else {}
    try:
        here = {t.name: stream(t) for t in score.tracks if t.name not in there}
        make_hits(todo, sr=sr)   # the drum hits still to make: shared with the helper
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


def new_hits(score: Score, *, sr: int, n_samples: int, tonic: int | None) -> list[tuple]:
    """The drum hits the score's drum tracks play that :data:`DRUM_CACHE` does not hold, shortest first.

    (A list to take from the end: the longest hits go first, so the two threads finish together.)
    """
    keys: set[tuple] = set()
    for track in score.tracks:
        if track.is_drums and track.notes:
            try:
                keys.update(hit_keys(track, onset_order(track, score.tempo, sr=sr, n_samples=n_samples)[2], tonic))
            except ParameterError:
                return []   # the set-up says which piece
    missing = [k for k in keys if DRUM_CACHE.get((*k[:4], sr, k[4])) is None]
    return sorted(missing, key=lambda k: (get_kit(k[0])[k[1]].length, k))


def render_stems(score: Score, *, sr: int, n_samples: int) -> dict[str, np.ndarray]:
    """One mono float32 stem per track, keyed by track.name, each exactly n_samples long."""
    return {name: stream.render() for name, stream in track_streams(score, sr=sr, n_samples=n_samples).items()}
