"""The Score as JSON: enough for a piano roll or another rendering engine to play the piece.

Times are given both in beats (the musical grid, as the Score holds them) and in seconds
(from the tempo map, so a player can follow the audio without its own tempo arithmetic).
The pydantic models here are the schema: ``/openapi.json`` shows them as ``ScoreDocument``.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from pydantic import BaseModel, Field

from ..compose.planner import SongPlan
from ..score import Score
from ..theory import parse_key, pitch_class_name
from .midi import DRUM_CHANNEL, program_of, tempo_events

SCORE_FORMAT_VERSION = 1
_ROUND = 5   # decimals of beats and seconds in the document


class TempoPoint(BaseModel):
    """From ``beat`` on, the music moves at ``bpm`` (until the next point)."""

    beat: float
    seconds: float
    bpm: float


class KeyInfo(BaseModel):
    """The key of the piece."""

    name: str = Field(examples=["F major"])
    tonic: str
    mode: str


class MeterInfo(BaseModel):
    """The time signature."""

    numerator: int
    denominator: int
    beats_per_bar: int


class ScoreSection(BaseModel):
    """A section of the form."""

    name: str
    start_beat: float
    start_s: float
    start_bar: int
    bars: int


class ScoreChord(BaseModel):
    """A chord of the plan: ``numeral`` in the key, ``root`` and ``quality`` absolute."""

    start_beat: float
    length_beats: float
    start_s: float
    numeral: str
    root: str
    quality: str
    pitch_classes: list[int]


class ScoreNote(BaseModel):
    """One note as played (swing and humanised timing included)."""

    start_beat: float
    length_beats: float
    start_s: float
    end_s: float
    pitch: int = Field(ge=0, le=127, description="MIDI pitch (General MIDI percussion number on drums).")
    velocity: int = Field(ge=1, le=127)


class ScorePart(BaseModel):
    """One part: its instrument, role, General MIDI program and channel, and its notes."""

    name: str
    role: str
    instrument: str
    program: int
    channel: int = Field(description="MIDI channel 1-16 as in score.mid (10 is drums).")
    pan: float
    notes: list[ScoreNote]


class ScoreDocument(BaseModel):
    """Body of ``GET /api/tracks/<id>/score.json``."""

    version: int = SCORE_FORMAT_VERSION
    style: str
    key: KeyInfo
    meter: MeterInfo
    tempo: float = Field(description="Tempo in BPM at the start.")
    tempo_map: list[TempoPoint]
    duration_s: float
    total_beats: float
    bars: int
    loop: bool = False
    sections: list[ScoreSection]
    chords: list[ScoreChord]
    parts: list[ScorePart]
    notes: Optional[int] = Field(None, description="How many notes all parts hold together.")


def _r(x: float) -> float:
    return round(float(x), _ROUND)


def score_document(score: Score, plan: SongPlan, *, loop: bool = False) -> ScoreDocument:
    """The JSON document of ``score`` (and the chords of ``plan``), validated by its own schema.

    Parameters
    ----------
    score : Score
        The composed piece.
    plan : SongPlan
        Its plan, for the chords (the Score holds notes only).
    loop : bool
        Whether the piece is a seamless loop.
    """
    seconds = score.tempo.seconds
    key = parse_key(score.key_name)
    bpb = score.beats_per_bar
    total_beats = float(plan.total_beats)
    starts = [beat for _, beat in score.sections] + [total_beats]
    sections = [ScoreSection(name=label, start_beat=_r(beat), start_s=_r(seconds(beat)), start_bar=int(beat // bpb),
                             bars=int(round((starts[i + 1] - beat) / bpb)))
                for i, (label, beat) in enumerate(score.sections)]
    chords = [ScoreChord(start_beat=_r(span.start), length_beats=_r(span.length), start_s=_r(seconds(span.start)),
                         numeral=numeral, root=pitch_class_name(span.chord.root, key.mode),
                         quality=span.chord.quality, pitch_classes=list(span.chord.pitch_classes))
              for span, numeral in zip(plan.chords, plan.numerals)]
    parts = []
    channel = 0
    for track in score.tracks:
        if track.is_drums:
            ch = DRUM_CHANNEL
        else:
            ch = channel % 16
            channel += 2 if channel + 1 == DRUM_CHANNEL else 1
        onsets = np.array([n.start for n in track.notes], dtype=np.float64)
        ends = np.array([n.end for n in track.notes], dtype=np.float64)
        on_s, off_s = seconds(onsets), seconds(ends)
        notes = [ScoreNote(start_beat=_r(n.start), length_beats=_r(n.length), start_s=_r(a), end_s=_r(b),
                           pitch=n.pitch, velocity=max(1, min(127, int(round(n.velocity * 127)))))
                 for n, a, b in zip(track.notes, on_s, off_s)]
        parts.append(ScorePart(name=track.name, role=track.role, instrument=track.instrument,
                               program=program_of(track), channel=ch + 1, pan=_r(track.pan), notes=notes))
    tempo_map = [TempoPoint(beat=_r(beat), seconds=_r(seconds(beat)), bpm=round(60e6 / us, 3))
                 for beat, us in tempo_events(score, max(score.end_beat(), total_beats, 1.0))]
    return ScoreDocument(
        style=plan.style, key=KeyInfo(name=key.name, tonic=pitch_class_name(key.tonic, key.mode), mode=key.mode),
        meter=MeterInfo(numerator=score.meter[0], denominator=score.meter[1], beats_per_bar=bpb),
        tempo=float(score.tempo.bpm), tempo_map=tempo_map, duration_s=_r(score.duration_s),
        total_beats=_r(total_beats), bars=int(plan.total_bars), loop=loop, sections=sections, chords=chords,
        parts=parts, notes=sum(len(p.notes) for p in parts))


def score_json_bytes(score: Score, plan: SongPlan, *, loop: bool = False) -> bytes:
    """The document as compact UTF-8 JSON bytes."""
    return score_document(score, plan, loop=loop).model_dump_json().encode("utf-8")
