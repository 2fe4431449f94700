"""Note events and conditioning features: the model's vocabulary, as named constants.

An event is (pitch relative to the key's tonic, octave included, or rest) x (duration on
the 1/12-quarter grid, snapped to :data:`DURATIONS`). Conditioning features describe the
moment the event starts: chord root relative to the tonic and chord family, position in
the bar, meter, mode, style tag and whether the melody is in its last bar.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.chords import family as chord_family
from ..data.records import MelodyRecord

PITCH_LOW, PITCH_HIGH = -24, 35          # semitones from the tonic in octave 4 (C4 = 60)
N_PITCH_VALUES = PITCH_HIGH - PITCH_LOW + 1
REST = N_PITCH_VALUES                     # pitch token of a rest
N_PITCH = N_PITCH_VALUES + 1              # output classes: pitches + rest
BOS_PITCH = N_PITCH                       # input-only start token
DURATIONS = (1, 2, 3, 4, 6, 8, 9, 12, 15, 16, 18, 20, 21, 24, 27, 30, 32, 36, 42, 45, 48,
             54, 60, 64, 72, 84, 90, 96, 108, 120, 144, 168, 192)   # ticks (12 = a quarter)
N_DUR = len(DURATIONS)
BOS_DUR = N_DUR
FAMILIES = ("maj", "min", "dom", "dim", "aug", "sus", "")
METERS = ("4/4", "3/4", "2/4", "6/8", "2/2", "3/8", "9/8", "12/8", "3/2", "4/2", "6/4", "5/4", "other")
STYLES = ("folk", "classical", "pop")
MODES = ("major", "minor")
N_POS = 144
FEATURES = ("root", "family", "pos", "meter", "style", "mode", "ending")
FEATURE_SIZES = {"root": 13, "family": len(FAMILIES), "pos": N_POS, "meter": len(METERS),
                 "style": len(STYLES), "mode": len(MODES), "ending": 2}
# Unknown style tags are mapped to the nearest tag with training data.
STYLE_ALIASES = {"jazz": "pop", "rock": "pop", "blues": "pop", "electronic": "pop",
                 "ambient": "classical", "baroque": "classical", "celtic": "folk", "traditional": "folk"}
_DUR_ARRAY = np.array(DURATIONS)
_MINOR_MODES = {"minor", "harmonic_minor", "dorian", "minor_pentatonic", "blues", "phrygian", "aeolian"}


def vocabulary() -> dict:
    """The event and feature vocabulary as plain data, stored in and checked against checkpoints."""
    return {"pitch_low": PITCH_LOW, "pitch_high": PITCH_HIGH, "durations": list(DURATIONS),
            "families": list(FAMILIES), "meters": list(METERS), "styles": list(STYLES),
            "modes": list(MODES), "features": list(FEATURES), "feature_sizes": dict(FEATURE_SIZES),
            "n_pos": N_POS}


def duration_index(ticks: int) -> int:
    """Index of the vocabulary duration closest to ``ticks`` (on a log scale)."""
    ticks = max(int(ticks), 1)
    return int(np.argmin(np.abs(np.log(_DUR_ARRAY / ticks))))


def pitch_index(pitch: int, tonic: int) -> int:
    """Token of a MIDI pitch (or -1 for a rest) relative to ``tonic``, octaves folded into range."""
    if pitch < 0:
        return REST
    rel = pitch - 60 - tonic
    while rel < PITCH_LOW:
        rel += 12
    while rel > PITCH_HIGH:
        rel -= 12
    return rel - PITCH_LOW


def pitch_from_index(index: int, tonic: int) -> int:
    """MIDI pitch of a pitch token (-1 for a rest)."""
    return -1 if index == REST else index + PITCH_LOW + 60 + tonic


def style_index(tag: str) -> int:
    """Index of a style tag, unknown tags mapped to the nearest trained one (else folk)."""
    tag = STYLE_ALIASES.get(tag, tag)
    return STYLES.index(tag) if tag in STYLES else 0


def mode_index(mode: str) -> int:
    """0 for major-like modes, 1 for minor-like ones."""
    return 1 if mode in _MINOR_MODES else 0


def meter_index(meter: str) -> int:
    """Index of a meter string such as ``"6/8"`` (``"other"`` when not listed)."""
    return METERS.index(meter) if meter in METERS else len(METERS) - 1


def chord_features(root: int, quality: str, tonic: int) -> tuple[int, int]:
    """(root relative to tonic or 12 for none, family index) of a chord."""
    if root < 0:
        return 12, FAMILIES.index("")
    return (root - tonic) % 12, FAMILIES.index(chord_family(quality))


@dataclass(frozen=True, slots=True)
class EncodedMelody:
    """A record as model arrays: targets, shifted inputs and conditioning per event."""

    pitch: np.ndarray        # [T] target pitch tokens
    dur: np.ndarray          # [T] target duration tokens
    cond: np.ndarray         # [T, len(FEATURES)] conditioning features
    style: str
    source: str


def position_index(ticks_in_bar: int) -> int:
    """The bar-position feature of an onset ``ticks_in_bar`` into its bar (very long bars wrap)."""
    return ticks_in_bar % N_POS


def encode_record(rec: MelodyRecord) -> EncodedMelody:
    """Encode a :class:`MelodyRecord` into event tokens and features."""
    n = len(rec.notes)
    pitch = np.empty(n, np.int64)
    dur = np.empty(n, np.int64)
    cond = np.empty((n, len(FEATURES)), np.int64)
    end = rec.notes[-1][1] + rec.notes[-1][2] if n else 0
    meter, style, mode = meter_index(rec.meter), style_index(rec.style), mode_index(rec.mode)
    for i, ((p, onset, length, pos), (root, quality)) in enumerate(zip(rec.notes, rec.chords)):
        pitch[i] = pitch_index(p, rec.tonic)
        dur[i] = duration_index(length)
        r, f = chord_features(root, quality, rec.tonic)
        ending = int(end - onset <= rec.bar_ticks)
        cond[i] = (r, f, position_index(pos), meter, style, mode, ending)
    return EncodedMelody(pitch, dur, cond, rec.style, rec.source)


def decode_events(pitch: np.ndarray, dur: np.ndarray, tonic: int) -> list[tuple[int, int, int]]:
    """Event tokens back to ``(midi pitch or -1, onset ticks, duration ticks)`` rows."""
    out, onset = [], 0
    for p, d in zip(pitch, dur):
        length = DURATIONS[int(d)]
        out.append((pitch_from_index(int(p), tonic), onset, length))
        onset += length
    return out


def joint_index(pitch: np.ndarray, dur: np.ndarray) -> np.ndarray:
    """One integer per event over the joint (pitch x duration) space."""
    return np.asarray(pitch) * N_DUR + np.asarray(dur)
