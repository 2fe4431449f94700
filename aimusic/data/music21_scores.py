"""Melody records from music21 scores: ABC, MusicXML, MIDI and Humdrum files alike."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from music21 import chord as m21chord
from music21 import converter, harmony, meter, note, stream

from .chords import name_pitch_classes, quality_from_m21_kind
from .lines import clean_line, fix_positions, make_record
from .records import MelodyRecord, meter_ticks, quarters_to_ticks

SCORE_SUFFIXES = {".abc", ".mid", ".midi", ".xml", ".mxl", ".musicxml", ".krn"}


def load_scores(path: Path) -> list[stream.Score]:
    """Parse a file into its scores (an ABC or Humdrum opus holds many tunes).

    music21's own pickle cache is bypassed (``forceSource``): the build caches records per
    task, and freezing, writing and thawing the parsed stream nearly doubled a file's parse.
    """
    parsed = converter.parse(str(path), forceSource=True)
    if isinstance(parsed, stream.Opus):
        return list(parsed.scores)
    if isinstance(parsed, stream.Score):
        return [parsed]
    score = stream.Score()
    score.insert(0, parsed)
    return [score]


def _first_meter(part: stream.Stream) -> str | None:
    ts = next(iter(part.recurse().getElementsByClass(meter.TimeSignature)), None)
    return None if ts is None else f"{ts.numerator}/{ts.denominator}"


def _symbol_chord(cs: harmony.ChordSymbol) -> tuple[int, str]:
    if isinstance(cs, harmony.NoChord):
        return -1, ""
    quality = quality_from_m21_kind(cs.chordKind)
    try:
        root = cs.root().pitchClass
    except (AttributeError, ValueError):
        return -1, ""
    if quality is None:
        return name_pitch_classes({p.pitchClass for p in cs.pitches}, root)
    return root, quality


_WANTED = (harmony.ChordSymbol, note.GeneralNote)
# A quoted ABC string is a chord only if it reads like one ("D.C." or "Fine" are not).
_CHORD_FIGURE = re.compile(r"^[A-G][#b-]?[a-zA-Z0-9#+()/-]{0,8}$")
MIN_CHORD_SYMBOLS = 2


def _line_and_symbols(part: stream.Stream) -> tuple[list, list, int]:
    """Raw ``(pitch, onset, dur, 0)`` notes, chord-symbol timeline and pickup length."""
    part = part.stripTies(inPlace=False) if part.hasMeasures() else part.stripTies()
    raw, symbols = [], []
    measures = list(part.getElementsByClass(stream.Measure))
    containers = [(m, float(m.offset)) for m in measures] or [(part, 0.0)]
    for container, base in containers:
        for el in container.flatten().getElementsByClass(_WANTED):
            onset = quarters_to_ticks(base + float(el.offset))
            if isinstance(el, harmony.ChordSymbol):
                if isinstance(el, harmony.NoChord) or _CHORD_FIGURE.match(el.figure or ""):
                    root, quality = _symbol_chord(el)
                    symbols.append((onset, root, quality))
            elif el.isNote:
                raw.append((el.pitch.midi, onset, quarters_to_ticks(el.quarterLength), 0))
            elif isinstance(el, m21chord.Chord) and len(el.pitches):
                raw.append((max(p.midi for p in el.pitches), onset, quarters_to_ticks(el.quarterLength), 0))
            elif el.isRest:
                raw.append((-1, onset, quarters_to_ticks(el.quarterLength), 0))
    pickup = 0
    if measures:
        m0 = measures[0]
        pad = float(m0.paddingLeft or 0.0)
        if pad > 0:
            pickup = quarters_to_ticks(pad)
        else:
            ts = m0.timeSignature or m0.getContextByClass(meter.TimeSignature)
            if ts is not None and 0 < m0.duration.quarterLength < ts.barDuration.quarterLength:
                pickup = quarters_to_ticks(ts.barDuration.quarterLength - m0.duration.quarterLength)
    symbols.sort()
    return raw, symbols, pickup


def _voices_timeline(score: stream.Score) -> list[tuple[int, int, str]]:
    """Chords named from the accompanying voices at every change (chordify), bass as root hint.

    The top pitch (the melody) is left out so that its passing notes stay non-chord tones,
    unless the other voices sound fewer than three pitch classes: then the chord is
    incomplete without the melody (a bare fifth under the soprano's third) and it is kept.
    """
    timeline = []
    for ch in score.chordify().flatten().getElementsByClass(m21chord.Chord):
        if not ch.pitches:
            continue
        ordered = sorted(ch.pitches, key=lambda p: p.ps)
        lower = {p.pitchClass for p in ordered[:-1]}
        pcs = lower if len(lower) >= 3 else {p.pitchClass for p in ordered}
        root, quality = name_pitch_classes(pcs, ordered[0].pitchClass)
        timeline.append((quarters_to_ticks(ch.offset), root, quality))
    timeline.sort()
    return timeline


def records_from_score(score: stream.Score, *, piece_id: str, source: str, style: str,
                       use_voices: bool = True) -> MelodyRecord | None:
    """One melody record from a score: top part as melody, chords from symbols or voices.

    Returns None for scores without a time signature or with fewer than a handful of notes.
    """
    parts = list(score.parts) or [score]
    melody = parts[0]
    meter_str = _first_meter(score)
    if meter_str is None:
        return None
    bar = meter_ticks(meter_str)
    raw, symbols, pickup = _line_and_symbols(melody)
    line = clean_line(raw)
    if not line:
        return None
    fix_positions(line, bar, pickup)
    title = str(score.metadata.title or "") if score.metadata is not None else ""
    timeline, chord_source, hist, final_pc = None, "analysis", None, None
    if sum(r >= 0 for _, r, _ in symbols) >= MIN_CHORD_SYMBOLS:
        timeline, chord_source = symbols, "symbols"
    elif use_voices and len(parts) > 1:
        timeline, chord_source = _voices_timeline(score), "voices"
        bass = [n for n in parts[-1].flatten().notes if n.isNote]
        hist = np.zeros(12)
        for n in score.flatten().notes:
            for p in n.pitches:
                hist[p.pitchClass] += float(n.quarterLength)
        final_pc = bass[-1].pitch.pitchClass if bass else None
    return make_record(line, piece_id=piece_id, source=source, style=style, meter=meter_str,
                       bar_ticks=bar, timeline=timeline, chord_source=chord_source, title=title,
                       key_histogram=hist, final_pc=final_pc)
