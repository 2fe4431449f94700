"""Write a Score as a Standard MIDI File (mido), so any other engine or DAW can play it."""
from __future__ import annotations

from pathlib import Path

import mido
import numpy as np

from .score import Score

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9
# General MIDI programs for our timbres, so a General MIDI player sounds close.
GM_PROGRAMS = {
    "piano": 0, "electric_piano": 4, "organ": 16, "clean_guitar": 27, "crunch_guitar": 29, "lead_guitar": 29,
    "overdrive_guitar": 30, "overdrive_guitar_2": 30,
    "upright_bass": 32, "electric_bass": 33, "violin": 40, "cello": 42, "strings": 48, "brass": 61,
    "sax": 65, "flute": 73, "synth_lead": 81, "synth_bass": 38, "synth_pad": 89, "synth_pluck": 84,
    "bell": 14,
}


def _tempo_events(score: Score, end_beat: float) -> list[tuple[int, int]]:
    """(tick, microseconds per beat) at every beat where the tempo map changes pace."""
    tm = score.tempo
    beats = np.arange(0.0, np.ceil(end_beat) + 1.0)
    seconds = tm.seconds(beats)
    events: list[tuple[int, int]] = []
    for b, dt in zip(beats[:-1], np.diff(seconds)):
        us = int(round(dt * 1e6))
        if not events or events[-1][1] != us:
            events.append((int(b * TICKS_PER_BEAT), us))
    return events


def score_to_midi(score: Score) -> mido.MidiFile:
    """A type-1 MIDI file: a conductor track (tempo, meter) and one track per part."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("time_signature", numerator=score.beats_per_bar,
                                      denominator=score.beat_unit, time=0))
    last = 0
    for tick, us in _tempo_events(score, score.end_beat()):
        conductor.append(mido.MetaMessage("set_tempo", tempo=us, time=tick - last))
        last = tick
    midi.tracks.append(conductor)
    channel = 0
    for track in score.tracks:
        ch = DRUM_CHANNEL if track.is_drums else channel
        if not track.is_drums:
            channel = channel + 1 if channel + 1 != DRUM_CHANNEL else channel + 2
        mt = mido.MidiTrack()
        mt.append(mido.MetaMessage("track_name", name=track.name, time=0))
        if not track.is_drums:
            mt.append(mido.Message("program_change", program=GM_PROGRAMS.get(track.instrument, 0), channel=ch, time=0))
        events: list[tuple[int, int, int, int]] = []  # (tick, order, pitch, velocity); offs first
        for n in track.notes:
            on = int(round(n.start * TICKS_PER_BEAT))
            off = max(on + 1, int(round(n.end * TICKS_PER_BEAT)))
            events.append((on, 1, n.pitch, max(1, min(127, int(round(n.velocity * 127))))))
            events.append((off, 0, n.pitch, 0))
        now = 0
        for tick, _, pitch, vel in sorted(events):
            kind = "note_on" if vel else "note_off"
            mt.append(mido.Message(kind, note=pitch, velocity=vel, channel=ch, time=tick - now))
            now = tick
        midi.tracks.append(mt)
    return midi


def write_midi(score: Score, path: Path) -> Path:
    """Save ``score`` as a .mid file at ``path``."""
    score_to_midi(score).save(str(path))
    return path
