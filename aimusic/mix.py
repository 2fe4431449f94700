"""Stems -> mastered stereo: per-track chains, panning, send effects, master bus, loudness.

Every stem is first brought to a reference level, so a part's ``gain_db`` in the style
means the same whatever the timbre. Effects come from :mod:`pedalboard`; reverb and delay
are rendered once on send buses, never per track. Nothing here branches on a style's name:
the :class:`~aimusic.styles.MixSpec` and each :class:`~aimusic.styles.PartSpec` say it all.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

import numpy as np
import pedalboard as pb
from scipy import ndimage, signal

from .mastering import db_to_gain, master
from .score import KICK, Score
from .styles import MixSpec, PartSpec, StyleSpec

REFERENCE_DB = -20.0    # RMS (of the sounding part) every stem is normalised to
DUCKED_ROLES = ("pad", "bass")   # what the kick pushes down when MixSpec.sidechain_duck > 0
DC_CUTOFF_HZ = 25.0
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


def stem_level_db(y: np.ndarray, *, sr: int, frame_s: float = 0.05) -> float:
    """RMS level in dB of the frames where the stem actually plays (gated at -45 dB)."""
    n = int(frame_s * sr)
    frames = y[: (y.shape[0] // n) * n].reshape(-1, n)
    if frames.size == 0:
        return -np.inf
    power = np.mean(frames.astype(np.float64) ** 2, axis=1)
    loudest = float(np.max(power))
    if loudest <= 0.0:
        return -np.inf
    sounding = power[power > loudest * 10 ** (-45 / 10)]
    return float(10.0 * np.log10(np.mean(sounding)))


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
    starts = np.unique(np.rint(np.asarray(onsets_s, dtype=np.float64) * sr).astype(np.int64) - lead)
    starts = starts[(starts > -lead) & (starts < n)]
    if starts.size == 0 or depth <= 0.0:
        return env
    length = lead + int(7.0 * recover_s * sr)          # recovered to within 0.1 %
    t = np.arange(length, dtype=np.float32)
    kernel = np.exp(-np.maximum(t - lead, 0.0) / np.float32(recover_s * sr))
    kernel[:lead] *= 0.5 - 0.5 * np.cos(np.float32(np.pi) * (t[:lead] + 0.5) / lead)
    dip = np.zeros(n, dtype=np.float32)
    previous = None
    for i, start in enumerate(starts):
        stop = min(starts[i + 1] if i + 1 < starts.size else n, start + length, n)
        a = max(start, 0)
        seg = kernel[a - start:stop - start]
        if previous is not None and a - previous < length:
            tail = kernel[a - previous:min(stop - previous, length)]
            seg = seg.copy()
            seg[:tail.size] = np.maximum(seg[:tail.size], tail)
        dip[a:a + seg.size] = seg
        previous = start
    return 1.0 - np.float32(depth) * dip


def _effects(part: PartSpec, spec: MixSpec) -> list[pb.Plugin]:
    fx: list[pb.Plugin] = []
    drive = float(part.effects.get("drive", 0.0))
    if drive:
        fx += [pb.Distortion(drive_db=6.0 + 14.0 * drive), pb.LowpassFilter(cutoff_frequency_hz=5500.0),
               pb.Gain(gain_db=-(4.0 + 8.0 * drive))]
    chorus = float(part.effects.get("chorus", 0.0))
    if chorus:
        fx.append(pb.Chorus(rate_hz=0.6, depth=0.3, centre_delay_ms=8.0, feedback=0.1, mix=chorus))
    return fx


def track_chain(part: PartSpec, spec: MixSpec) -> pb.Pedalboard:
    """The insert chain of one track: role EQ and compression, then the part's effects."""
    hp, thresh, ratio = ROLE_CHAIN.get(part.role, (40.0, 6.0, 2.0))
    chain: list[pb.Plugin] = []
    if hp:
        chain.append(pb.HighpassFilter(cutoff_frequency_hz=hp))
    if ratio:
        chain.append(pb.Compressor(threshold_db=REFERENCE_DB + thresh, ratio=ratio, attack_ms=8.0,
                                   release_ms=120.0))
    return pb.Pedalboard(chain + _effects(part, spec))


def _part_for(style: StyleSpec, role: str) -> PartSpec:
    found = next((p for p in style.parts if p.role == role), None)
    return found if found is not None else PartSpec(role, ("piano",), "none", (0, 127))


def _kick_onsets(score: Score) -> np.ndarray:
    drums = score.track("drums")
    beats = [n.start for n in drums.notes if n.pitch == KICK] if drums is not None else []
    return score.tempo.seconds(np.asarray(beats, dtype=np.float64))


def mix_score(stems: dict[str, np.ndarray], score: Score, style: StyleSpec, *, sr: int) -> np.ndarray:
    """(n_samples, 2) float32 stereo, mastered: effects, panning, master bus, loudness, peak."""
    spec = style.mix
    n = max((s.shape[0] for s in stems.values()), default=0)
    dry = np.zeros((2, n), dtype=np.float32)
    reverb_bus = np.zeros((2, n), dtype=np.float32)
    delay_bus = np.zeros((2, n), dtype=np.float32)
    kicks = _kick_onsets(score) if spec.sidechain_duck > 0 else np.zeros(0)
    duck = (duck_envelope(kicks, sr=sr, n=n, depth=spec.sidechain_duck,
                          recover_s=0.3 * score.tempo.seconds_per_beat) if kicks.size else None)
    for track in score.tracks:
        stem = stems.get(track.name)
        if stem is None:
            continue
        level = stem_level_db(stem, sr=sr)
        if not np.isfinite(level):
            continue
        part = _part_for(style, track.role)
        y = stem.astype(np.float32) * np.float32(db_to_gain(REFERENCE_DB - level))
        y = track_chain(part, spec)(y[None, :], sr)[0]
        y *= np.float32(db_to_gain(track.gain_db))
        if duck is not None and track.role in DUCKED_ROLES:
            y *= duck
        left, right = pan_gains(track.pan)
        sends = ((dry, 1.0), (reverb_bus, part.reverb_send), (delay_bus, part.effects.get("delay", 0.0)))
        for bus, amount in sends:
            if amount:
                bus[0] += np.float32(amount * left) * y
                bus[1] += np.float32(amount * right) * y
    if any(p.effects.get("delay", 0.0) for p in style.parts):
        delay_s = spec.delay_seconds or 0.75 * score.tempo.seconds_per_beat
        echoes = pb.Pedalboard([pb.HighpassFilter(cutoff_frequency_hz=250.0),
                                pb.Delay(delay_seconds=delay_s, feedback=spec.delay_feedback, mix=1.0),
                                pb.LowpassFilter(cutoff_frequency_hz=6000.0)])(delay_bus, sr)
        dry += echoes
        reverb_bus += 0.5 * echoes
    if any(p.reverb_send for p in style.parts):
        wet = pb.Pedalboard([
            pb.HighpassFilter(cutoff_frequency_hz=180.0),
            pb.Reverb(room_size=spec.reverb_room, damping=spec.reverb_damping, width=spec.reverb_width,
                      wet_level=1.0, dry_level=0.0),
        ])(reverb_bus, sr)
        if duck is not None:  # the pumping must reach the room too, or the tail fills the dips
            wet *= duck
        dry += wet
    return master(master_bus(dry.T, spec, sr=sr), sr=sr)


def master_bus(y: np.ndarray, spec: MixSpec, *, sr: int) -> np.ndarray:
    """Tone and glue of the summed (n, 2) mix: shelving EQ, then a slow bus compressor."""
    level = stem_level_db(np.mean(y, axis=1), sr=sr)
    if not np.isfinite(level):
        return y
    y = y * np.float32(db_to_gain(BUS_DB - level))
    chain: list[pb.Plugin] = [pb.HighpassFilter(cutoff_frequency_hz=DC_CUTOFF_HZ)]  # DC and rumble
    if spec.master_low_shelf_db:
        chain.append(pb.LowShelfFilter(cutoff_frequency_hz=120.0, gain_db=spec.master_low_shelf_db, q=0.7))
    if spec.master_high_shelf_db:
        chain.append(pb.HighShelfFilter(cutoff_frequency_hz=8000.0, gain_db=spec.master_high_shelf_db, q=0.7))
    chain.append(pb.Compressor(threshold_db=BUS_DB - 2.0, ratio=spec.glue_ratio, attack_ms=25.0,
                               release_ms=250.0))
    board = pb.Pedalboard(chain)
    return board(np.ascontiguousarray(y.T), sr).T
