"""The arranger: turns a SongPlan into a multi-track Score following the style's parts.

Melody comes from the melodist section by section (a repeated section reuses its earlier
melody, its second half re-written); harmony, bass and drums come from the patterns the
StyleSpec names; feel and dynamics are applied last; the final chord rings to the end.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..score import Note, Score, Track
from ..styles import PartSpec, StyleSpec
from .bass import BASS_PATTERNS
from .blues import LINE_BARS, blue_notes, call_of
from .drums import write_drums
from .energy_patterns import ENERGY_PATTERNS
from .feel import apply_feel, clamp
from .harmony import HARMONY_PATTERNS, voice_chord
from .melody_context import ChordSpan, MelodyContext, Melodist
from .meter_patterns import METER_BASS_PATTERNS, METER_HARMONY_PATTERNS
from .planner import Section, SongPlan

# Seconds before the end of the file by which every note must have been released.
RELEASE_MARGIN_S = 0.08
# Timing humanisation (standard deviation, seconds) per role.
JITTER_S = {"melody": 0.008, "harmony": 0.006, "pad": 0.0, "bass": 0.004, "drums": 0.003}


def _spans_in(plan: SongPlan, start_beat: float, end_beat: float) -> tuple[ChordSpan, ...]:
    return tuple(s for s in plan.chords if start_beat <= s.start < end_beat)


def _context(plan: SongPlan, style: StyleSpec, part: PartSpec, start: float, end: float,
             final: bool) -> MelodyContext:
    m = style.melody
    primer = tuple(replace(n, length=min(n.length, end - n.start)) for n in plan.primer if start <= n.start < end)
    return MelodyContext(key=plan.key, beats_per_bar=plan.beats_per_bar, beat_unit=plan.beat_unit,
                         start=start, length=end - start, chords=_spans_in(plan, start, end),
                         register=part.register, style_tag=m.model_tag, step=m.step,
                         density=clamp(m.density * plan.density, 0.1, 0.95),
                         rest_prob=m.rest_prob, long_note_prob=m.long_note_prob, final=final, meter=plan.meter,
                         energy=plan.energy, primer=primer, length_lean=style.length_lean)


def melody_start(plan: SongPlan) -> float:
    """The beat where the melody comes in: after the intro (a piece of one section has none)."""
    sections = plan.sections
    first = next((s for s in sections if s.kind != "intro"), sections[0]) if len(sections) > 1 else sections[0]
    return float(first.start_bar * plan.beats_per_bar)


def _has_primer(plan: SongPlan, start: float, end: float) -> bool:
    return any(start <= n.start < end for n in plan.primer)


def _shift(notes: list[Note], offset: float) -> list[Note]:
    return [replace(n, start=n.start + offset) for n in notes]


def write_melody(plan: SongPlan, style: StyleSpec, part: PartSpec, melodist: Melodist, *,
                 rng: np.random.Generator, temperature: float) -> list[Note]:
    """The lead line for the whole form; repeats of a section recall its first melody.

    A style phrased ``"aab"`` writes each body section as blues lines instead (see
    :func:`_aab_section`).
    """
    bpb = plan.beats_per_bar
    memory: dict[str, tuple[float, list[Note]]] = {}
    notes: list[Note] = []
    only_section = len(plan.sections) == 1
    for sec in plan.sections:
        if sec.kind == "intro" and not only_section:
            continue
        start, end = float(sec.start_bar * bpb), float(sec.end_bar * bpb)
        final = sec is plan.sections[-1] and not plan.loop   # a loop's last bar leads on
        remembered = memory.get(sec.kind)
        if style.melody.phrasing == "aab" and sec.kind in ("A", "B") and not final:
            notes += _aab_section(plan, style, part, melodist, start, sec.n_bars, rng=rng, temperature=temperature)
            continue
        if remembered is None or final or _has_primer(plan, start, end):   # a user's notes are never recalled over
            written = melodist.melody(_context(plan, style, part, start, end, final), rng=rng,
                                      temperature=temperature)
            if sec.kind != "ending":
                memory[sec.kind] = (start, written)
            notes += written
            continue
        first_start, first_notes = remembered
        # Keep the first half as it was (the motif returns), write the second half anew.
        half = start + bpb * max(1, sec.n_bars // 2)
        recalled = [n for n in _shift(first_notes, start - first_start) if n.start < half]
        recalled = [replace(n, length=min(n.length, half - n.start)) for n in recalled]
        varied = melodist.melody(_context(plan, style, part, half, end, False), rng=rng,
                                 temperature=temperature) if half < end else []
        notes += recalled + varied
    return notes


def _aab_section(plan: SongPlan, style: StyleSpec, part: PartSpec, melodist: Melodist, start: float,
                 n_bars: int, *, rng: np.random.Generator, temperature: float) -> list[Note]:
    """A section as blues lines of four bars, AAB in every twelve: a line, its repeat, its answer.

    Each line the melodist writes (A and B) is written over its own chords; only its call
    is kept (:func:`~aimusic.compose.blues.call_of`), the rest of the line is the band's.
    """
    bar = float(plan.beats_per_bar)
    line = LINE_BARS * bar
    end = start + n_bars * bar
    notes: list[Note] = []
    a_line: list[Note] = []
    a_start = start
    for i in range(-(-n_bars // LINE_BARS)):
        l0 = start + i * line
        if i % 3 == 1:      # A again, a line later (over the IV chord in the 12-bar form)
            again = _shift(call_of(a_line, a_start, plan.beats_per_bar), l0 - a_start)
            notes += [n for n in again if n.start < end]
            continue
        context = _context(plan, style, part, l0, min(l0 + line, end), False)
        written = melodist.melody(context, rng=rng, temperature=temperature)
        if i % 3 == 0:
            a_line, a_start = written, l0
        # A user's notes are kept whole; the line's own notes are kept in its call.
        notes += list(context.primer) + call_of(written[len(context.primer):], l0, plan.beats_per_bar)
    return [replace(n, length=min(n.length, end - n.start)) for n in notes]


def _final_chord(plan: SongPlan, part: PartSpec, end_beat: float) -> list[Note]:
    """The last chord held until the end, in the part's register (bass: the root alone; a
    power-chord part ends on a power chord)."""
    last = plan.chords[-1]
    if part.role == "bass":
        pitches = [part.register[0] + ((last.chord.root - part.register[0]) % 12)]
    else:
        pitches = voice_chord(last.chord, part.register, power=part.pattern == "power_chords")
    return [Note(last.start, max(end_beat - last.start, 0.1), p, 0.6) for p in pitches]


def write_accompaniment(plan: SongPlan, style: StyleSpec, part: PartSpec, *, rng: np.random.Generator,
                        end_beat: float) -> list[Note]:
    """A harmony, pad or bass part over the whole form, section by section."""
    if part.role == "bass":
        pattern = BASS_PATTERNS.get(part.pattern) or METER_BASS_PATTERNS.get(part.pattern)
    else:
        pattern = HARMONY_PATTERNS.get(part.pattern) or METER_HARMONY_PATTERNS.get(part.pattern)
    pattern = pattern or ENERGY_PATTERNS[part.pattern]
    has_drums = bool(style.grooves)
    bpb = plan.beats_per_bar
    notes: list[Note] = []
    for sec in plan.sections:
        if part.role == "pad" and has_drums and (sec.kind == "intro" or (plan.density < 1 and sec.kind == "A")):
            continue  # a sparse arrangement saves the pad for the contrast and the ending
        if part.role == "bass" and sec.energy < 0.5:
            continue  # breakdown: the floor drops out
        spans = _spans_in(plan, sec.start_bar * bpb, sec.end_bar * bpb)
        if sec is plan.sections[-1] and not plan.loop:
            spans = spans[:-1]
        written = pattern(spans, register=part.register, beats_per_bar=bpb, energy=sec.energy, rng=rng)
        notes += _dynamics(written, sec)
    return notes if plan.loop else notes + _final_chord(plan, part, end_beat)


def _dynamics(notes: list[Note], sec: Section) -> list[Note]:
    """Scale velocities by the section's energy: the form breathes."""
    gain = 0.65 + 0.35 * sec.energy
    return [replace(n, velocity=clamp(n.velocity * gain, 0.05, 1.0)) for n in notes]


def compose(plan: SongPlan, style: StyleSpec, melodist: Melodist, *, rng: np.random.Generator,
            temperature: float = 1.0) -> Score:
    """Write every part of ``style`` for ``plan`` into a Score."""
    tempo = plan.tempo_map
    end_beat = tempo.beats(max(plan.duration_s - RELEASE_MARGIN_S, 0.05))
    if plan.loop:   # notes may ring to the loop's end: their tails wrap around to its start
        end_beat = plan.total_beats
    spb = tempo.seconds_per_beat
    tracks: list[Track] = []
    for part in style.parts:
        fixed: set[tuple[float, int]] = set()
        if part.role == "melody":
            notes = write_melody(plan, style, part, melodist, rng=rng, temperature=temperature)
            fixed = {(n.start, n.pitch) for n in plan.primer}   # a user's notes: no bends, no feel
            if style.melody.blue_notes:
                kept = [n for n in notes if (n.start, n.pitch) in fixed]
                bent = blue_notes([n for n in notes if (n.start, n.pitch) not in fixed], plan.key, plan.chords,
                                  amount=style.melody.blue_notes, register=part.register, rng=rng)
                notes = sorted(kept + bent, key=lambda n: n.start) if kept else bent
            if notes and not plan.loop:  # the last melody note rings with the final chord
                notes[-1] = replace(notes[-1], length=max(end_beat - notes[-1].start, notes[-1].length))
            notes = _melody_dynamics(notes, plan)
        elif part.role == "drums":
            if plan.groove is None:
                continue
            notes = write_drums(plan.groove, plan.sections, beats_per_bar=plan.beats_per_bar, rng=rng)
        else:
            notes = write_accompaniment(plan, style, part, rng=rng, end_beat=end_beat)
        instrument = plan.instrument(part.role)
        takes = [(part.role, instrument, part.pan)]
        if part.double:   # a double-tracked part: a second take, panned to the other side
            takes.append((f"{part.role}_double", part.double[part.instruments.index(instrument)], -part.pan))
        for name, take_instrument, pan in takes:
            kept = [n for n in notes if (n.start, n.pitch) in fixed] if fixed else []
            felt = apply_feel([n for n in notes if (n.start, n.pitch) not in fixed] if kept else notes,
                              swing=0.5 if part.triplets else style.swing, rng=rng,
                              jitter_beats=JITTER_S[part.role] / spb, beats_per_bar=plan.beats_per_bar,
                              accent_depth=0.25 if part.role in ("melody", "harmony") else 0.0,
                              end_limit=end_beat, pulse=style.pulse,
                              pulse_lean=style.pulse_lean if part.role == "melody" else 0.0,
                              beat_lean=style.beat_lean if part.role in ("melody", "harmony") else 0.0)
            felt += [replace(n, length=min(n.length, end_beat - n.start)) for n in kept if n.start < end_beat - 0.01]
            felt.sort(key=lambda n: (n.start, n.pitch))
            tracks.append(Track(name=name, instrument=take_instrument, role=part.role, notes=felt, pan=pan,
                                gain_db=part.gain_db))
    sections = [(s.label, float(s.start_bar * plan.beats_per_bar)) for s in plan.sections]
    return Score(tracks=tracks, tempo=tempo, beats_per_bar=plan.beats_per_bar, beat_unit=plan.beat_unit,
                 key_name=plan.key.name, duration_s=plan.duration_s, sections=sections, time_signature=plan.meter)


def _melody_dynamics(notes: list[Note], plan: SongPlan) -> list[Note]:
    """Section energy plus a swell over each four-bar phrase, peaking in its third bar."""
    bpb = plan.beats_per_bar
    out: list[Note] = []
    for sec in plan.sections:
        lo, hi = sec.start_bar * bpb, sec.end_bar * bpb
        shaped = []
        for n in notes:
            if lo <= n.start < hi:
                phase = ((n.start - lo) / (4 * bpb)) % 1.0
                swell = 0.9 + 0.12 * np.sin(np.pi * min(phase / 0.75, 1.0))
                shaped.append(replace(n, velocity=clamp(n.velocity * swell, 0.05, 1.0)))
        out += _dynamics(shaped, sec)
    return out
