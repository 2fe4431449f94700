"""Small Standard MIDI Files for tests, written with mido: a melody, chords under it, drums."""
from __future__ import annotations

import io

import mido

Line = list[tuple[float, float, int]]   # (start beat, length in beats, pitch)

TUNE: Line = [(0, 1, 67), (1, 0.5, 69), (1.5, 0.5, 71), (2, 1, 72), (3, 1, 71), (4, 1.5, 69), (5.5, 0.5, 67),
              (6, 2, 66), (8, 1, 67), (9, 1, 74), (10, 2, 71), (12, 4, 67)]


def _track(notes: Line, *, channel: int, resolution: int, velocity: int = 90) -> mido.MidiTrack:
    events = []
    for start, length, pitch in notes:
        events.append((int(round(start * resolution)), 1, pitch))
        events.append((int(round((start + length) * resolution)), 0, pitch))
    events.sort(key=lambda e: (e[0], e[1]))
    track, now = mido.MidiTrack(), 0
    for tick, on, pitch in events:
        kind = "note_on" if on else "note_off"
        track.append(mido.Message(kind, note=pitch, velocity=velocity if on else 0, time=tick - now,
                                  channel=channel))
        now = tick
    return track


def midi_bytes(*parts: Line, drums: Line | None = None, qpm: float | None = 100.0,
               time_signature: tuple[int, int] | None = (4, 4), key: str | None = None,
               resolution: int = 480) -> bytes:
    """A type-1 file: a conductor track, then a drum track (if any), then one track per part."""
    mid = mido.MidiFile(ticks_per_beat=resolution)
    conductor = mido.MidiTrack()
    if qpm:
        conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(qpm)))
    if time_signature:
        conductor.append(mido.MetaMessage("time_signature", numerator=time_signature[0],
                                          denominator=time_signature[1]))
    if key:
        conductor.append(mido.MetaMessage("key_signature", key=key))
    mid.tracks.append(conductor)
    if drums:
        mid.tracks.append(_track(drums, channel=9, resolution=resolution))
    for part in parts:
        mid.tracks.append(_track(part, channel=0, resolution=resolution))
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()
