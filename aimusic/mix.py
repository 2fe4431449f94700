"""Stems -> mastered stereo: per-track chains, panning, send effects, master bus, loudness.

Every stem is first brought to a reference level, so a part's ``gain_db`` in the style
means the same whatever the timbre. :func:`render_mix` streams: each track is rendered a
chunk at a time straight into the mix, its level predicted from its notes beforehand. Effects come from :mod:`pedalboard`; reverb and delay
are rendered once on send buses, never per track. Nothing here branches on a style's name:
the :class:`~aimusic.styles.MixSpec` and each :class:`~aimusic.styles.PartSpec` say it all.
"""
from __future__ import annotations

from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from time import perf_counter
from types import MappingProxyType
from typing import Callable, Mapping, Protocol

import numpy as np
import pedalboard as pb

from .halves import balance, run_halves, spare_core, split_range
from .heap import release_free_memory
from .mastering import db_to_gain, fade_in, master
from .sends import send_boards
from .score import KICK, Score
from .styles import MixSpec, PartSpec, StyleSpec
from .synth.levels import stem_level_db
from .synth.render import track_streams

REFERENCE_DB = -20.0    # RMS (of the sounding part) every stem is normalised to
DUCKED_ROLES = ("pad", "bass")   # what the kick pushes down when MixSpec.sidechain_duck > 0
DC_CUTOFF_HZ = 25.0
CHUNK_S = 4.0           # the mix streams in chunks this long
TRIM_EVERY = 8          # chunks between returns of freed heap memory to the OS, in a long render
# A render shorter than this hands no memory back while it runs: its freed chunk buffers are
# reused by its own next stages (a trim would give back pages faulted in again at once, some
# 5 % of a 30 s render's CPU), and the heap is trimmed when its generation's slot is released
# (:mod:`aimusic.slots`). Longer renders trim as they go, or their peak would add the loop's
# freed buffers to mastering's.
TRIM_WITHIN_FROM_S = 60.0
BUS_DB = -18.0          # RMS the summed mix is brought to before the glue compressor

# Per-role cleanup: (high-pass Hz or 0, compressor threshold dB re. REFERENCE_DB, ratio or 0).
# The synth makes no rumble, so only the parts that crowd the low mids are high-passed, and
# only the parts whose peaks fight the mix (drums, bass, lead) are compressed.
ROLE_CHAIN: Mapping[str, tuple[float, float, float]] = MappingProxyType({
    "melody": (0.0, 4.0, 2.0),
    "harmony": (120.0, 0.0, 0.0),
    "pad": (150.0, 0.0, 0.0),
    "bass": (0.0, 2.0, 3.0),
    "drums": (0.0, 8.0, 2.5),
})


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power (sin/cos) left and right gains for ``pan`` in [-1, 1]."""
    angle = (float(np.clip(pan, -1.0, 1.0)) + 1.0) * np.pi / 4.0
    return float(np.cos(angle)), float(np.sin(angle))


def duck_envelope(onsets_s: np.ndarray, *, sr: int, n: int, depth: float, recover_s: float) -> np.ndarray:
    """Gain curve that dips by ``depth`` at each kick and recovers exponentially over ``recover_s``.

    The dip is a 4 ms raised cosine that starts before the onset (look-ahead), so the pad
    is already down when the kick's attack arrives and nothing clicks. A kick arriving
    before the last dip has recovered follows the older, deeper curve until the new one
    overtakes it, so the gain never jumps.
    """
    env = np.ones(n, dtype=np.float32)
    lead = int(0.004 * sr)
    starts = np.sort(np.rint(np.asarray(onsets_s, dtype=np.float64) * sr).astype(np.int64) - lead)
    starts = starts[np.concatenate(([True], starts[1:] != starts[:-1]))] if starts.size else starts
    # (what np.unique gives; a plain np.unique imports numpy.ma, some 50 ms of a server's start)
    length = lead + int(7.0 * recover_s * sr)          # recovered to within 0.1 %
    starts = starts[(starts > -length) & (starts < n)]  # a kick just before still pulls down
    if starts.size == 0 or depth <= 0.0:
        return env
    t = np.arange(length, dtype=np.float32)
    kernel = np.exp(-np.maximum(t - lead, 0.0) / np.float32(recover_s * sr))
    kernel[:lead] *= 0.5 - 0.5 * np.cos(np.float32(np.pi) * (t[:lead] + 0.5) / lead)
    dip = np.zeros(n, dtype=np.float32)
    previous = None
    for i, start in enumerate(starts):
        stop = min(starts[i + 1] if i + 1 < starts.size else n, start + length, n)
        a = max(start, 0)
        if stop <= a:
            previous = start
            continue
        seg = kernel[a - start:stop - start]
        if previous is not None and a - previous < length:
            tail = kernel[a - previous:min(stop - previous, length)]
            seg = seg.copy()
            seg[:tail.size] = np.maximum(seg[:tail.size], tail)
        dip[a:a + seg.size] = seg
        previous = start
    return 1.0 - np.float32(depth) * dip


def stereo_chorus(amount: float) -> tuple[pb.Pedalboard, pb.Pedalboard]:
    """Two choruses with different rates and delays, one per side: a mono part made wide.

    One chorus on both channels would move them together and stay mono; unrelated
    modulation left and right decorrelates the sides, which the ear hears as width.
    """
    return (pb.Pedalboard([pb.Chorus(rate_hz=0.55, depth=0.3, centre_delay_ms=7.0, feedback=0.1, mix=amount)]),
            pb.Pedalboard([pb.Chorus(rate_hz=0.79, depth=0.3, centre_delay_ms=11.0, feedback=0.1, mix=amount)]))


def track_chain(part: PartSpec) -> pb.Pedalboard:
    """The insert chain of one track: role EQ and compression (chorus is stereo, later).

    An amplifier's drive belongs to the instrument, before its cabinet
    (:mod:`aimusic.synth.guitar`), never here after it.
    """
    hp, thresh, ratio = ROLE_CHAIN.get(part.role, (40.0, 6.0, 2.0))
    chain: list[pb.Plugin] = []
    if hp:
        chain.append(pb.HighpassFilter(cutoff_frequency_hz=hp))
    if ratio:
        chain.append(pb.Compressor(threshold_db=REFERENCE_DB + thresh, ratio=ratio, attack_ms=8.0,
                                   release_ms=120.0))
    return pb.Pedalboard(chain)


def _part_for(style: StyleSpec, role: str) -> PartSpec:
    found = next((p for p in style.parts if p.role == role), None)
    return found if found is not None else PartSpec(role, ("piano",), "none", (0, 127))


def _kick_onsets(score: Score) -> np.ndarray:
    drums = score.track("drums")
    beats = [n.start for n in drums.notes if n.pitch == KICK] if drums is not None else []
    return score.tempo.seconds(np.asarray(beats, dtype=np.float64))


class StemSource(Protocol):
    """Where a strip reads its stem: a level known up front and consecutive chunks."""

    level_db: float

    def read(self, m: int) -> np.ndarray:
        """The next ``m`` samples (a fresh float32 array the mixer may modify)."""


class ArraySource:
    """A whole stem already in memory, measured with :func:`stem_level_db`."""

    def __init__(self, stem: np.ndarray, *, sr: int) -> None:
        self.stem = stem
        self.level_db = stem_level_db(stem, sr=sr)
        self.pos = 0

    def read(self, m: int) -> np.ndarray:
        """The next ``m`` samples of the stem, copied."""
        y = np.array(self.stem[self.pos:self.pos + m], dtype=np.float32)
        self.pos += m
        return y


@dataclass
class _Strip:
    """One track's channel strip while streaming: its source, level, chain, pan and sends."""

    source: StemSource
    scale: np.float32
    board: pb.Pedalboard
    post_gain: float
    left: float
    right: float
    reverb: float
    delay: float
    ducked: bool
    chorus: tuple[pb.Pedalboard, pb.Pedalboard] | None = None


def _strips(sources: dict[str, StemSource], score: Score, style: StyleSpec) -> list[_Strip]:
    strips = []
    for track in score.tracks:
        source = sources.get(track.name)
        if source is None or not np.isfinite(source.level_db):
            continue
        part = _part_for(style, track.role)
        left, right = pan_gains(track.pan)
        strips.append(_Strip(source=source, scale=np.float32(db_to_gain(REFERENCE_DB - source.level_db)),
                             board=track_chain(part), post_gain=db_to_gain(track.gain_db),
                             left=left, right=right, reverb=float(part.reverb_send),
                             delay=float(part.effects.get("delay", 0.0)),
                             ducked=style.mix.sidechain_duck > 0 and track.role in DUCKED_ROLES,
                             chorus=stereo_chorus(float(part.effects["chorus"])) if part.effects.get("chorus")
                             else None))
    return strips


def mix_score(stems: dict[str, np.ndarray], score: Score, style: StyleSpec, *, sr: int) -> np.ndarray:
    """(n_samples, 2) float32 stereo, mastered, from whole stems (see :func:`mix_sources`)."""
    n = max((s.shape[0] for s in stems.values()), default=0)
    return mix_sources({k: ArraySource(v, sr=sr) for k, v in stems.items()}, score, style, sr=sr, n_samples=n)


def render_mix(score: Score, style: StyleSpec, *, sr: int, n_samples: int,
               progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Render and mix ``score`` in one stream: no track is ever held whole in memory.

    Each track's :class:`~aimusic.synth.stream.TrackStream` predicts its level from its
    notes, then hands the mixer one chunk at a time; only the stereo output is full length.
    ``progress`` is told the fraction of the piece rendered after each chunk.
    """
    with (ThreadPoolExecutor(max_workers=1, thread_name_prefix="mix-strips") if spare_core()
          else nullcontext()) as helper:
        return mix_sources(track_streams(score, sr=sr, n_samples=n_samples, helper=helper), score, style,
                           sr=sr, n_samples=n_samples, progress=progress, helper=helper)


def strip_chunk(strip: "_Strip", m: int, duck: np.ndarray | None, *, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """The next ``m`` samples of a strip's track through its chain: (left, right) before gain and pan.

    Read, then through :func:`strip_effects`. The mix and the stems both take their parts'
    chunks from here (the mix reads and processes on two threads, the same calls in order).
    """
    return strip_effects(strip, strip.source.read(m), duck, sr=sr)


def strip_effects(strip: "_Strip", y: np.ndarray, duck: np.ndarray | None, *,
                  sr: int) -> tuple[np.ndarray, np.ndarray]:
    """A chunk ``y`` just read from a strip's source, in place: scaled, through the strip's board.

    The board keeps its state across chunks; then ducked by the kick if the strip is, then
    split by the stereo chorus when it has one (linear: the gain can follow).
    """
    y *= strip.scale
    y = strip.board(y[None, :], sr, reset=False)[0]
    if duck is not None and strip.ducked:
        y *= duck
    if strip.chorus is None:
        return y, y
    return strip.chorus[0](y[None, :], sr, reset=False)[0], strip.chorus[1](y[None, :], sr, reset=False)[0]


def mix_sources(sources: dict[str, StemSource], score: Score, style: StyleSpec, *, sr: int,
                n_samples: int, progress: Callable[[float], None] | None = None,
                helper: Executor | None | bool = True) -> np.ndarray:
    """(n_samples, 2) float32 stereo, mastered: effects, panning, master bus, loudness, peak.

    The mix streams through the piece in chunks of a few seconds, with every effect keeping
    its state across chunks (``reset=False``), so the buses stay small and hot in cache
    whatever the length: only the output is full length. ``helper`` is the second thread
    to work on, None for none, or True (the default) to start one when a core is free.
    """
    spec = style.mix
    n = n_samples
    out = np.zeros((n, 2), dtype=np.float32)
    strips = _strips(sources, score, style)
    kicks = _kick_onsets(score) if spec.sidechain_duck > 0 else np.zeros(0)
    recover = 0.3 * score.tempo.seconds_per_beat
    use_delay = any(s.delay for s in strips)
    use_reverb = any(s.reverb for s in strips)
    delay_board, reverb_board = send_boards(spec, score)
    step = int(CHUNK_S * sr)
    scratch = np.empty(step, dtype=np.float32)
    trim = release_free_memory if n >= TRIM_WITHIN_FROM_S * sr else (lambda: None)

    def mix_chunk(c0: int, m: int, chunks: list, duck: np.ndarray | None) -> tuple[dict[int, float], float]:
        """One chunk of every strip through its chain (or already through it), panned and sent, the buses, out.

        ``chunks`` holds, per strip, the samples just read or the (left, right) its chain
        already made of them (:func:`~aimusic.halves.balance`). Returns the time of each chain
        run here, by strip, and the buses' time.
        """
        dry = np.zeros((2, m), dtype=np.float32)
        rev = np.zeros((2, m), dtype=np.float32) if use_reverb else None
        dly = np.zeros((2, m), dtype=np.float32) if use_delay else None
        chains: dict[int, float] = {}
        for i, (strip, y) in enumerate(zip(strips, chunks)):
            if not isinstance(y, tuple):
                t0 = perf_counter()
                y = strip_effects(strip, y, duck, sr=sr)
                chains[i] = perf_counter() - t0
            y_left, y_right = y
            for bus, amount in ((dry, 1.0), (rev, strip.reverb), (dly, strip.delay)):
                if bus is not None and amount:   # gain, pan and send in one multiply, no temporaries
                    for side, y_side, pan in ((0, y_left, strip.left), (1, y_right, strip.right)):
                        np.multiply(y_side, np.float32(amount * pan * strip.post_gain), out=scratch[:m])
                        bus[side] += scratch[:m]
        t0 = perf_counter()
        if dly is not None:
            echoes = delay_board(dly, sr, reset=False)
            dry += echoes
            if rev is not None:
                rev += np.float32(0.5) * echoes
        if rev is not None:
            wet = reverb_board(rev, sr, reset=False)
            if duck is not None:  # the pumping must reach the room too, or the tail fills the dips
                wet *= duck
            dry += wet
        out[c0:c0 + m] = dry.T
        return chains, perf_counter() - t0

    chain_s = [0.0] * len(strips)   # the last time of each strip's chain, and of the buses
    buses_s = 0.0

    def run_chains(chunks: list, which: set[int], duck: np.ndarray | None) -> None:
        """The chains of the strips ``which`` on this thread, in place in ``chunks``, timed."""
        for i in sorted(which):
            t0 = perf_counter()
            chunks[i] = strip_effects(strips[i], chunks[i], duck, sr=sr)
            chain_s[i] = perf_counter() - t0

    # Two stages on two threads when a core is free: this one reads chunk k + 1 from the tracks
    # (the notes are synthesized here, the note store is this thread's alone) while the other
    # takes chunk k through the strips' chains, the pan and the send buses. pedalboard and
    # NumPy's large operations release the GIL; every board is touched by one thread at a time
    # and in chunk order, so the result is the same to the bit as in sequence. This thread also
    # runs the chains of the strips that even out the two by the last chunk's times
    # (:func:`~aimusic.halves.balance`; a chain moved here from the other thread waits for that
    # thread to finish its last chunk): which thread runs a chain changes no sample. On a busy
    # machine (other renders on every core) a second thread would only contend: all runs here.
    with (ThreadPoolExecutor(max_workers=1, thread_name_prefix="mix-strips") if helper is True and spare_core()
          else nullcontext(None if helper is True else helper)) as helper:
        pending: Future | None = None
        near: set[int] = set()          # strips whose chains run here, in this chunk
        was_near: set[int] = set()      # ... and in the last
        for c0 in range(0, n, step):
            if progress is not None and c0:
                progress(c0 / n)
            m = min(c0 + step, n) - c0
            t0 = perf_counter()
            chunks: list = [strip.source.read(m) for strip in strips]
            read_s = perf_counter() - t0
            duck = (duck_envelope(kicks - c0 / sr, sr=sr, n=m, depth=spec.sidechain_duck, recover_s=recover)
                    if kicks.size else None)
            run_chains(chunks, near & was_near, duck)
            if pending is not None:
                chains, buses_s = pending.result()
                for i, seconds in chains.items():
                    chain_s[i] = seconds
            run_chains(chunks, near - was_near, duck)
            if helper is None:
                mix_chunk(c0, m, chunks, duck)
            else:
                pending = helper.submit(mix_chunk, c0, m, chunks, duck)
                was_near, near = near, balance(read_s, chain_s, buses_s)
            del chunks
            if (c0 // step) % TRIM_EVERY == TRIM_EVERY - 1:
                trim()
        if pending is not None:
            pending.result()
        del strips, sources, pending
        # The streaming loop freed thousands of chunk-sized buffers the allocator keeps for reuse;
        # mastering allocates other sizes, and the peak would be the sum of both: start it from a low base.
        trim()
        out = master_bus(out, spec, sr=sr, helper=helper)
        if spec.fade_in_s > 0:
            fade_in(out, sr=sr, seconds=spec.fade_in_s)
        return master(out, sr=sr, copy=False, helper=helper)


def master_eq(spec: MixSpec) -> list[pb.Plugin]:
    """The linear part of the master bus: DC and rumble high-pass, then the style's shelves."""
    chain: list[pb.Plugin] = [pb.HighpassFilter(cutoff_frequency_hz=DC_CUTOFF_HZ)]
    if spec.master_low_shelf_db:
        chain.append(pb.LowShelfFilter(cutoff_frequency_hz=120.0, gain_db=spec.master_low_shelf_db, q=0.7))
    if spec.master_high_shelf_db:
        chain.append(pb.HighShelfFilter(cutoff_frequency_hz=8000.0, gain_db=spec.master_high_shelf_db, q=0.7))
    return chain


def master_bus(y: np.ndarray, spec: MixSpec, *, sr: int, helper: Executor | None = None) -> np.ndarray:
    """Tone and glue of the summed (n, 2) mix, in place: DC high-pass, shelving EQ, bus compressor.

    Each channel runs through a board of its own (every one of these plugins treats the
    channels apart, the compressor included), the second on ``helper`` when given.
    """
    level = stem_level_db(y, sr=sr)
    if not np.isfinite(level):
        return y
    y *= np.float32(db_to_gain(BUS_DB - level))
    pieces = split_range(0, y.shape[0], int(CHUNK_S * sr))

    def one_channel(ch: int) -> None:
        chain = master_eq(spec)
        chain.append(pb.Compressor(threshold_db=BUS_DB - 2.0, ratio=spec.glue_ratio, attack_ms=25.0,
                                   release_ms=250.0))
        board = pb.Pedalboard(chain)
        for c0, c1 in pieces:
            y[c0:c1, ch] = board(np.ascontiguousarray(y[c0:c1, ch])[None, :], sr, reset=False)[0]

    run_halves(helper, [lambda ch=ch: one_channel(ch) for ch in range(y.shape[1])])
    return y
