"""Part stems that add up to the mix: each part through its own chain and its share of the sends.

Every part (melody, harmony, pad, bass, drums, … ; a double-tracked part is one stem) is
rendered through exactly the strip the mix gives it (level, insert EQ and compression,
chorus, ducking, pan) and through its own copy of the delay and reverb buses, fed with
that part's sends alone. The buses and the master EQ are linear, so the parts summed are
the mix's bus before its glue compressor and limiter. Those two are dynamics of the whole
mix; a stem gets the gain they applied to the mix at each moment (measured from the mix
itself, per 1.5 ms block and channel), the way stems are printed through a master bus keyed
by the full mix. So the stems' sum is the mix a producer hears, before their own mastering.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pedalboard as pb

from .loop import close_loop, loop_cut, tile_score
from .mastering import db_to_gain
from .mix import (
    BUS_DB, CHUNK_S, StemSource, _kick_onsets, _strips, duck_envelope, master_eq, strip_chunk,
)
from .score import Score
from .sends import send_boards
from .styles import StyleSpec
from .synth.levels import stem_level_db
from .synth.render import track_streams

GAIN_BLOCK = 64            # samples per block of the measured master gain
HEADROOM = 0.98            # stems are scaled together (rarely) so that none reaches full scale

__all__ = ["GAIN_BLOCK", "PartStems", "master_gain", "render_part_stems", "sum_figures"]


@dataclass
class PartStems:
    """Stereo float32 stems by part, how they compare with the mix, and the shared scale applied."""

    stems: dict[str, np.ndarray]     # part -> (n, 2), memory-mapped when a folder was given
    correlation: float               # of the stems' sum with the mix
    residual_db: float               # level of (sum - mix) relative to the mix, dB
    scale: float                     # common gain applied for headroom (1.0 almost always)


def _buffer(shape: tuple[int, int], folder: Path | None, name: str) -> np.ndarray:
    if folder is None:
        return np.zeros(shape, dtype=np.float32)
    return np.lib.format.open_memmap(folder / f"{name}.npy", mode="w+", dtype=np.float32, shape=shape)


def _render_parts(sources: dict[str, StemSource], score: Score, style: StyleSpec, *, sr: int, n: int,
                  folder: Path | None) -> dict[str, np.ndarray]:
    """Each part's strips and send buses, streamed chunk by chunk as :func:`aimusic.mix.mix_sources` does."""
    spec = style.mix
    parts: dict[str, list] = {}
    for track in score.tracks:
        parts.setdefault(track.role, [])
        if track.name in sources:
            parts[track.role] += _strips({track.name: sources[track.name]}, score, style)
    out = {role: _buffer((n, 2), folder, role) for role in parts}
    buses = {role: send_boards(spec, score) for role in parts}
    every = [strip for strips in parts.values() for strip in strips]
    use_delay, use_reverb = any(s.delay for s in every), any(s.reverb for s in every)   # as the mix has them
    kicks = _kick_onsets(score) if spec.sidechain_duck > 0 else np.zeros(0)
    recover = 0.3 * score.tempo.seconds_per_beat
    step = int(CHUNK_S * sr)
    for c0 in range(0, n, step):
        m = min(c0 + step, n) - c0
        duck = (duck_envelope(kicks - c0 / sr, sr=sr, n=m, depth=spec.sidechain_duck, recover_s=recover)
                if kicks.size else None)
        for role, strips in parts.items():
            dry, rev, dly = (np.zeros((2, m), dtype=np.float32) for _ in range(3))
            for strip in strips:
                sides = strip_chunk(strip, m, duck, sr=sr)
                for bus, amount in ((dry, 1.0), (rev, strip.reverb), (dly, strip.delay)):
                    if amount:
                        bus[0] += sides[0] * np.float32(amount * strip.left * strip.post_gain)
                        bus[1] += sides[1] * np.float32(amount * strip.right * strip.post_gain)
            delay_board, reverb_board = buses[role]
            sends_delay = use_delay and any(s.delay for s in strips)
            if sends_delay:
                echoes = delay_board(dly, sr, reset=False)
                dry += echoes
                if use_reverb:
                    rev += np.float32(0.5) * echoes
            if use_reverb and (sends_delay or any(s.reverb for s in strips)):
                wet = reverb_board(rev, sr, reset=False)
                if duck is not None:
                    wet *= duck
                dry += wet
            out[role][c0:c0 + m] = dry.T
    return out


def master_gain(mix: np.ndarray, bus: np.ndarray, *, block: int = GAIN_BLOCK) -> np.ndarray:
    """Per-sample, per-channel gain ``g`` with ``g * bus`` closest to ``mix``: the master's dynamics.

    Least squares per block of ``block`` samples and channel, interpolated between block
    centres; blocks where the bus is silent take the gain of their neighbours.
    """
    n = bus.shape[0]
    n_blocks = -(-n // block)
    gains = np.ones((n, bus.shape[1]), dtype=np.float32)
    centres = np.minimum(np.arange(n_blocks) * block + (block - 1) / 2.0, n - 1)
    edges = np.arange(0, n, block)
    for ch in range(bus.shape[1]):
        x = bus[:, ch].astype(np.float64)
        num = np.add.reduceat(x * mix[:, ch], edges)
        den = np.add.reduceat(x * x, edges)
        valid = den > 1e-9 * max(float(den.max(initial=0.0)), 1e-30)
        if not np.any(valid):
            continue
        g = num[valid] / den[valid]
        gains[:, ch] = np.interp(np.arange(n), centres[valid], g).astype(np.float32)
    return gains


def sum_figures(stems: dict[str, np.ndarray], mix: np.ndarray) -> tuple[float, float]:
    """(correlation, residual level in dB re. the mix) of the stems' sum against the mix."""
    total = np.zeros(mix.shape, dtype=np.float64)
    for stem in stems.values():
        total += stem
    a, b = total.ravel(), np.asarray(mix, dtype=np.float64).ravel()
    if not np.any(b) or not np.any(a):
        return 0.0, 0.0
    corr = float(np.corrcoef(a, b)[0, 1])
    residual = float(np.sqrt(np.mean((a - b) ** 2)) / np.sqrt(np.mean(b ** 2)))
    return corr, 20.0 * np.log10(max(residual, 1e-12))


def render_part_stems(score: Score, style: StyleSpec, mix: np.ndarray, *, sr: int,
                      folder: Path | None = None, loop_beats: float | None = None) -> PartStems:
    """One stereo stem per part of ``score``, as long as and time-aligned with ``mix``.

    Parameters
    ----------
    score, style
        What was mixed.
    mix : np.ndarray
        The finished (n, 2) mix the stems must add up to (float, e.g. the WAV's samples).
    sr : int
        Sample rate.
    folder : Path, optional
        Keep the stems in memory-mapped files there (a five-minute track has eight stems
        of 100 MB); in memory otherwise.
    loop_beats : float, optional
        ``score`` is a loop of this many beats, mixed by :func:`aimusic.loop.render_loop`: the
        parts are rendered the same way (copies after copies) and closed the same way.
    """
    n = mix.shape[0]
    cut = loop_cut(score, loop_beats, sr=sr) if loop_beats is not None else None
    rendered = score if cut is None else tile_score(score, cut.copies, loop_beats, offset=cut.offset)
    length = n if cut is None else cut.total
    sources = track_streams(rendered, sr=sr, n_samples=length)
    parts = _render_parts(sources, rendered, style, sr=sr, n=length, folder=folder)
    del sources
    if cut is not None:
        parts = {role: close_loop(stem, cut) for role, stem in parts.items()}
    bus = np.zeros((n, 2), dtype=np.float32)
    for stem in parts.values():
        bus += stem
    level = stem_level_db(bus, sr=sr)
    bus_gain = np.float32(db_to_gain(BUS_DB - level)) if np.isfinite(level) else np.float32(1.0)
    step = int(CHUNK_S * sr)
    bus[:] = 0.0
    for stem in parts.values():   # the master EQ per part (linear: the parts still sum to the bus)
        board = pb.Pedalboard(master_eq(style.mix))
        for c0 in range(0, n, step):
            c1 = min(c0 + step, n)
            stem[c0:c1] = board(np.ascontiguousarray(stem[c0:c1].T * bus_gain), sr, reset=False).T
        bus += stem
    gain = master_gain(np.asarray(mix, dtype=np.float32), bus)
    del bus
    peak = 0.0
    for stem in parts.values():
        stem *= gain
        peak = max(peak, float(np.max(np.abs(stem), initial=0.0)))
    scale = HEADROOM / peak if peak > HEADROOM else 1.0
    if scale != 1.0:
        for stem in parts.values():
            stem *= np.float32(scale)
    corr, residual = sum_figures(parts, np.asarray(mix) * scale)
    return PartStems(parts, corr, residual, scale)
