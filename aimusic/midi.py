"""Write a Score as a Standard MIDI File: kept for its callers, the writer is :mod:`aimusic.encode.midi`."""
from __future__ import annotations

from pathlib import Path

from .encode.midi import DRUM_CHANNEL, GM_PROGRAMS, TICKS_PER_BEAT, score_to_midi, write_midi_file
from .score import Score

__all__ = ["DRUM_CHANNEL", "GM_PROGRAMS", "TICKS_PER_BEAT", "score_to_midi", "write_midi"]


def write_midi(score: Score, path: Path) -> Path:
    """Save ``score`` as a .mid file at ``path``."""
    with open(path, "wb") as handle:
        write_midi_file(handle, score)
    return path
