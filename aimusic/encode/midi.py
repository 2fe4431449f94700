"""The Score as a type-1 Standard MIDI File (mido): what a DAW or MuseScore opens.

Track 0 is the conductor: time signature, key signature, the tempo map (one tempo event
wherever the pace changes, so a final ritardando is kept) and a marker at every section.
Then one named track per part with its General MIDI program, pan and the notes as played:
the Score's onsets already carry the swing and the humanised timing, and are written at 480
ticks per beat (about a millisecond at 120 BPM). Drums are on channel 10.
"""
from __future__ import annotations

from typing import BinaryIO

import mido
import numpy as np

from ..score import Score, Track
from ..theory import Key, parse_key

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9          # channel 10 to a musician
# General MIDI programs for our timbres, so a General MIDI player sounds close.
GM_PROGRAMS = {
    "piano": 0, "electric_piano": 4, "organ": 16, "clean_guitar": 27, "crunch_guitar": 29, "lead_guitar": 29,
    "rhythm_guitar": 29, "overdrive_guitar": 30, "overdrive_guitar_2": 30,
    "upright_bass": 32, "electric_bass": 33, "violin": 40, "cello": 42, "strings": 48, "brass": 61,
    "sax": 65, "flute": 73, "synth_lead": 81, "synth_bass": 38, "synth_pad": 89, "synth_pluck": 84,
    "bell": 14, "celesta": 8,
}
# Drum kits as General MIDI 2 / GS kit programs on the drum channel (a GM1 player ignores them).
GM_DRUM_KITS = {"acoustic_kit": 0, "jazz_kit": 32, "electronic_kit": 24}
_MAJOR_OF_SHARPS = {0: "C", 1: "G", 2: "D", 3: "A", 4: "E", 5: "B", 6: "F#", 7: "C#",
                    -1: "F", -2: "Bb", -3: "Eb", -4: "Ab", -5: "Db", -6: "Gb", -7: "Cb"}
_MINOR_OF_SHARPS = {0: "Am", 1: "Em", 2: "Bm", 3: "F#m", 4: "C#m", 5: "G#m", 6: "D#m", 7: "A#m",
                    -1: "Dm", -2: "Gm", -3: "Cm", -4: "Fm", -5: "Bbm", -6: "Ebm", -7: "Abm"}
# Semitones from the tonic to the major key with the same signature, per mode.
_RELATIVE_MAJOR = {"major": 0, "ionian": 0, "minor": 3, "aeolian": 3, "dorian": 10, "phrygian": 8,
                   "lydian": 7, "mixolydian": 5, "locrian": 1}


def program_of(track: Track) -> int:
    """The General MIDI program of a track's instrument (a kit number for drums; piano if unknown)."""
    table = GM_DRUM_KITS if track.is_drums else GM_PROGRAMS
    return table.get(track.instrument, 0)


def key_signature_name(key: Key) -> str:
    """The key as mido names a key signature (``"Bb"``, ``"F#m"``); modes by their signature."""
    major_tonic = (key.tonic + _RELATIVE_MAJOR.get(key.mode, 0)) % 12
    sharps = (major_tonic * 7) % 12            # fifths above C
    sharps = sharps - 12 if sharps > 6 else sharps   # the spelling with at most six accidentals
    if key.mode in ("minor", "aeolian"):
        return _MINOR_OF_SHARPS[sharps]
    return _MAJOR_OF_SHARPS[sharps]


def tempo_events(score: Score, end_beat: float) -> list[tuple[float, int]]:
    """(beat, microseconds per beat) at every whole beat where the tempo map changes pace."""
    beats = np.arange(0.0, np.ceil(end_beat) + 1.0)
    seconds = score.tempo.seconds(beats)
    events: list[tuple[float, int]] = []
    for b, dt in zip(beats[:-1], np.diff(seconds)):
        us = int(round(dt * 1e6))
        if not events or events[-1][1] != us:
            events.append((float(b), us))
    return events or [(0.0, int(round(score.tempo.seconds_per_beat * 1e6)))]


_Event = tuple[int, int, str, dict]   # (tick, order at that tick, message type, its fields)


def _delta(events: list[_Event]) -> mido.MidiTrack:
    """A track of ``events`` in time order, each message made once with its delta time."""
    track = mido.MidiTrack()
    now = 0
    for tick, _, kind, fields in sorted(events, key=lambda e: (e[0], e[1])):
        make = mido.Message if kind in _CHANNEL_MESSAGES else mido.MetaMessage
        track.append(make(kind, time=tick - now, **fields))
        now = tick
    return track


_CHANNEL_MESSAGES = {"note_on", "note_off", "program_change", "control_change"}


def _conductor(score: Score) -> mido.MidiTrack:
    events: list[_Event] = [
        (0, 0, "track_name", {"name": "conductor"}),
        (0, 1, "time_signature", {"numerator": score.meter[0], "denominator": score.meter[1]}),
        (0, 2, "key_signature", {"key": key_signature_name(parse_key(score.key_name))}),
    ]
    for beat, us in tempo_events(score, max(score.end_beat(), 1.0)):
        events.append((int(round(beat * TICKS_PER_BEAT)), 3, "set_tempo", {"tempo": us}))
    for label, beat in score.sections:
        events.append((int(round(beat * TICKS_PER_BEAT)), 4, "marker", {"text": label}))
    return _delta(events)


def _part(track: Track, channel: int) -> mido.MidiTrack:
    events: list[_Event] = [
        (0, 0, "track_name", {"name": track.name}),
        (0, 1, "instrument_name", {"name": track.instrument.replace("_", " ")}),
        (0, 2, "program_change", {"program": program_of(track), "channel": channel}),
        (0, 3, "control_change", {"control": 10, "channel": channel,
                                  "value": int(np.clip(round(64 + 63 * track.pan), 0, 127))}),
    ]
    for n in track.notes:   # at one tick, note-offs (order 4) come before note-ons (order 5)
        on = int(round(n.start * TICKS_PER_BEAT))
        off = max(on + 1, int(round(n.end * TICKS_PER_BEAT)))
        velocity = max(1, min(127, int(round(n.velocity * 127))))
        events.append((on, 5, "note_on", {"note": n.pitch, "velocity": velocity, "channel": channel}))
        events.append((off, 4, "note_off", {"note": n.pitch, "velocity": 0, "channel": channel}))
    return _delta(events)


def score_to_midi(score: Score) -> mido.MidiFile:
    """A type-1 MIDI file: the conductor track, then one track per part of the Score."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(_conductor(score))
    channel = 0
    for track in score.tracks:
        if track.is_drums:
            midi.tracks.append(_part(track, DRUM_CHANNEL))
            continue
        midi.tracks.append(_part(track, channel % 16))
        channel += 2 if channel + 1 == DRUM_CHANNEL else 1
    return midi


def write_midi_file(handle: BinaryIO, score: Score) -> None:
    """Write ``score`` as a Standard MIDI File into the open binary ``handle``."""
    score_to_midi(score).save(file=handle)
