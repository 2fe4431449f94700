"""Drum grooves as data, plus the form-aware parts: crashes, fills, breakdowns, build-ups.

A groove is one bar of sixteenth steps per drum; ``x`` is a full hit, ``o`` a medium one,
``g`` a ghost note and ``.`` silence. Swing is applied later by the arranger's feel.
"""
from __future__ import annotations

import numpy as np

from ..score import (CLAP, CLOSED_HAT, CRASH, HIGH_TOM, KICK, LOW_TOM, MID_TOM, OPEN_HAT,
                     PEDAL_HAT, RIDE, SIDE_STICK, SNARE, Note)
from .feel import clamp
from .planner import Section

_LEVEL = {"x": 0.95, "o": 0.62, "g": 0.22}

GROOVES: dict[str, dict[int, str]] = {
    "jazz_ride": {RIDE: "x...x.o.x...x.o.", PEDAL_HAT: "....x.......x...", KICK: "g...g...g...g...",
                  SNARE: "..........g....."},
    "jazz_ride_kick": {RIDE: "x...x.o.x...x.o.", PEDAL_HAT: "....x.......x...", KICK: "g...g...g...g.o.",
                       SIDE_STICK: "............o..."},
    "shuffle": {CLOSED_HAT: "x.o.x.o.x.o.x.o.", SNARE: "....x..g....x...", KICK: "x.......x.o....."},
    "shuffle_ride": {RIDE: "x.o.x.o.x.o.x.o.", SNARE: "....x.......x..g", KICK: "x.....o.x......."},
    # the blues band's: the hat on the beat and the backbeat, the guitar and bass swinging the
    # eighths (a cymbal swinging them is a jazz drummer's)
    "shuffle_backbeat": {CLOSED_HAT: "x...x...x...x...", SNARE: "....x.......x...", KICK: "x.......x......."},
    "shuffle_backbeat_kick": {CLOSED_HAT: "x...x...x...x...", SNARE: "....x.......x...", KICK: "x.......x.o....."},
    "rock_backbeat": {CLOSED_HAT: "x.o.x.o.x.o.x.o.", SNARE: "....x.......x..g", KICK: "x.......x.x....."},
    "rock_eighths": {CLOSED_HAT: "x.o.x.o.x.o.x.o.", SNARE: "....x..g....x...", KICK: "x.....x.x......."},
    # the hats on the beat, the kick on one and three: a kick on all four is a dance floor's
    "rock_four": {OPEN_HAT: "x...o...x...o...", SNARE: "....x..g....x...", KICK: "x.......x.x....."},
    # ... up-tempo (aimusic.tempo_feel): every beat's hat alike, or the accent pairs the beats into halves
    "rock_four_fast": {OPEN_HAT: "o...o...o...o...", SNARE: "....x..g....x...", KICK: "x.......x.x....."},
    "four_on_floor": {KICK: "x...x...x...x...", OPEN_HAT: "..o...o...o...o.", CLOSED_HAT: "g.g.g.g.g.g.g.g.",
                      SNARE: "....x.......x..."},
    "four_on_floor_clap": {KICK: "x...x...x...x...", OPEN_HAT: "..o...o...o...o.",
                           CLOSED_HAT: "gggggggggggggggg", CLAP: "....x.......x..."},
    # ... up-tempo (aimusic.tempo_feel): the backbeat softer, or it outweighs the kick on every beat
    "four_on_floor_fast": {KICK: "x...x...x...x...", OPEN_HAT: "..o...o...o...o.", CLOSED_HAT: "g.g.g.g.g.g.g.g.",
                           SNARE: "....o.......o..."},
    "four_on_floor_clap_fast": {KICK: "x...x...x...x...", OPEN_HAT: "..o...o...o...o.",
                                CLOSED_HAT: "gggggggggggggggg", CLAP: "....o.......o..."},
    # Driving (and sparse) variants an asked energy plays (aimusic.compose.energy_patterns).
    "rock_drive": {CLOSED_HAT: "xoxoxoxoxoxoxoxo", SNARE: "....x..g....x.g.", KICK: "x.x...x.x.x....."},
    "rock_drive_ride": {RIDE: "x.o.x.o.x.o.x.o.", CLOSED_HAT: "..o...o...o...o.", SNARE: "....x..g....x.gg",
                        KICK: "x.x...x.x.x...x."},
    "house_drive": {KICK: "x...x...x...x...", OPEN_HAT: "..o...o...o...o.", CLOSED_HAT: "oooooooooooooooo",
                    CLAP: "....x.......x...", SNARE: "...........g..g."},
    "house_sparse": {KICK: "x...x...x...x...", OPEN_HAT: "......o.......o."},
    # ... the drive up-tempo (aimusic.tempo_feel): its full sixteenths and ghost snares blur the
    # beat into dotted quarters, so the sixteenths are ghosts, the open hat drives the off-beats
    # and the clap sits under the kick
    "house_drive_fast": {KICK: "x...x...x...x...", OPEN_HAT: "..x...x...x...x.", CLOSED_HAT: "gggggggggggggggg",
                         CLAP: "....o.......o..."},
    # up-tempo swing (aimusic.tempo_feel): the bass drum feathered on every beat, as the swing-era
    # drummers played it, the ride's skip note a ghost and the hat on two and four under it
    "jazz_fast": {RIDE: "x...x.g.x...x.g.", PEDAL_HAT: "....o.......o...", KICK: "o...o...o...o...",
                  SNARE: "..........g....."},
    "jazz_fast_kick": {RIDE: "x...x.g.x...x.g.", PEDAL_HAT: "....o.......o...", KICK: "o...o...o...o...",
                       SIDE_STICK: "............o..."},
    "jazz_drive_fast": {RIDE: "x.g.x.g.x.g.x.g.", PEDAL_HAT: "....o.......o...", KICK: "o...o...o...o...",
                        SNARE: "..g.....g......."},
    "jazz_quarters_fast": {RIDE: "o...o...o...o...", PEDAL_HAT: "....g.......g...", KICK: "g...g...g...g..."},
    "jazz_ride_quarters": {RIDE: "x...o...x...o...", PEDAL_HAT: "....x.......x...", KICK: "g.......g......."},
    "jazz_drive": {RIDE: "x.o.x.o.x.o.x.o.", PEDAL_HAT: "....x.......x...", KICK: "g...g..og...g.o.",
                   SNARE: "..o...g.o.g...o."},
    "shuffle_drive": {CLOSED_HAT: "x.o.x.o.x.o.x.o.", SNARE: "..g.x.g...g.x.g.", KICK: "x.....x.x.....x."},
    "shuffle_quarters": {RIDE: "x...o...x...o...", PEDAL_HAT: "....x.......x...", KICK: "g.......g.......",
                         SNARE: "....o.......o..."},
    # 3/4 jazz waltz, sixteenth steps: the ride on every beat and the and of two and three.
    "jazz_waltz": {RIDE: "x...x.o.x.o.", PEDAL_HAT: "....x...x...", KICK: "g..........."},
    "jazz_waltz_kick": {RIDE: "x...x.o.x.o.", PEDAL_HAT: "....x...x...", KICK: "g.......g.o.",
                        SIDE_STICK: "........o..."},
    # 12/8 slow blues, eighth steps: the hat on every triplet (the pulse strong, the other two ghosts),
    # the kick on every pulse, the snare on pulses two and four: a tracker hears the dotted quarters.
    "slow_blues": {CLOSED_HAT: "xggxggxggxgg", SNARE: "...x.....x..", KICK: "x..x..x..x.g"},
    "slow_blues_ride": {RIDE: "xggxggxggxgg", SNARE: "...x.....x.g", KICK: "x..x.gx..x.."},
    # ... at 62 or slower, where the eighths come as fast as a beat: hat and ride on the pulses only,
    # the kick on every pulse, the snare on two and four.
    "slow_blues_pulse": {CLOSED_HAT: "x..x..x..x..", RIDE: "x..x..x..x..", SNARE: "...x.....x..",
                         KICK: "x..x..x..x.."},
}

# What a low-energy bar keeps: timekeeping only, for intros and breakdowns.
_TIMEKEEPERS = {CLOSED_HAT, OPEN_HAT, PEDAL_HAT, RIDE, SIDE_STICK, CLAP}
LOW_SECTION = 0.5   # a section below this energy is a quiet one


def _bar(pattern: dict[int, str], origin: float, steps_per_beat: int, scale: float,
         rng: np.random.Generator, keep: set[int] | None = None) -> list[Note]:
    notes: list[Note] = []
    open_steps = {k for k, ch in enumerate(pattern.get(OPEN_HAT, "")) if ch != "."}
    for pitch, row in pattern.items():
        if keep is not None and pitch not in keep:
            continue
        for step, ch in enumerate(row):
            if ch == "." or (pitch in (CLOSED_HAT, PEDAL_HAT) and step in open_steps):
                continue   # one hi-hat: where it is struck open it is not also closed (that chokes it)
            vel = _LEVEL[ch] * scale * float(rng.uniform(0.9, 1.06))
            notes.append(Note(origin + step / steps_per_beat, 0.25, pitch, clamp(vel, 0.05, 1.0)))
    return notes


def _fill(origin: float, beats: float, rng: np.random.Generator, toms: bool) -> list[Note]:
    """A sixteenth-note fill over the last ``beats`` of a bar, down the toms or on the snare."""
    n = int(beats * 4)
    drums = (HIGH_TOM, MID_TOM, LOW_TOM) if toms else (SNARE,)
    notes = []
    for k in range(n):
        pitch = drums[min(len(drums) - 1, k * len(drums) // n)]
        vel = 0.55 + 0.4 * k / max(n - 1, 1)
        notes.append(Note(origin + k * 0.25, 0.25, pitch, float(min(vel * rng.uniform(0.92, 1.05), 1.0))))
    return notes


def _build_up(origin: float, beats_per_bar: int, rng: np.random.Generator) -> list[Note]:
    """A snare roll that doubles its rate and swells: the bar before the drop."""
    notes = []
    for k in range(beats_per_bar * 4):
        if k < beats_per_bar * 2 and k % 2:
            continue
        vel = 0.35 + 0.6 * k / (beats_per_bar * 4)
        notes.append(Note(origin + k * 0.25, 0.2, SNARE, float(min(vel, 1.0))))
    return notes


def write_drums(groove: str, sections: tuple[Section, ...], *, beats_per_bar: int,
                rng: np.random.Generator) -> list[Note]:
    """The whole drum part: groove bars scaled by section energy, crashes, fills, ending hit.

    A quiet section keeps time only (its kick and snare rest), a contrast with the louder
    ones around it. When every section is quiet (a calm energy asked for) there is no louder
    one, and a backbeat groove's hats alone for a whole track are heard at half or a quarter of
    its tempo: there the quiet sections of a groove with a snare play it whole, softly (the intro
    still keeps time only; a groove without one keeps time with its hats and cymbals already).
    """
    pattern = GROOVES[groove]
    steps_per_beat = len(next(iter(pattern.values()))) // beats_per_bar   # a row is one bar
    toms = groove.startswith(("rock", "shuffle"))
    notes: list[Note] = []
    calm = SNARE in pattern and all(s.energy < LOW_SECTION for s in sections if s.kind not in ("intro", "ending"))
    for i, sec in enumerate(sections):
        nxt = sections[i + 1] if i + 1 < len(sections) else None
        for b in range(sec.n_bars):
            origin = float((sec.start_bar + b) * beats_per_bar)
            last_bar = b == sec.n_bars - 1
            if sec.kind == "ending" and last_bar:
                notes += [Note(origin, 0.5, KICK, 0.95), Note(origin, 2.0, CRASH, 0.8)]
                continue
            low_energy = sec.kind == "intro" or sec.energy < LOW_SECTION
            keep = _TIMEKEEPERS if low_energy and (sec.kind == "intro" or not calm) else None
            bar = _bar(pattern, origin, steps_per_beat, 0.7 + 0.3 * sec.energy, rng, keep)
            if b == 0 and sec.kind != "intro" and i > 0:
                bar.append(Note(origin, 2.0, CRASH, 0.75 + 0.2 * sec.energy))
            if last_bar and nxt is not None and nxt.kind != "ending":
                if sec.energy < LOW_SECTION and sec.n_bars >= 2:
                    bar += _build_up(origin, beats_per_bar, rng)
                elif not low_energy or sec.kind == "intro":
                    fill_beats = 1.0 if rng.random() < 0.6 else 2.0
                    start = origin + beats_per_bar - fill_beats
                    bar = [n for n in bar if not (n.start >= start and n.pitch in (SNARE, KICK, CLAP))]
                    bar += _fill(start, fill_beats, rng, toms)
            notes += bar
    return sorted(notes, key=lambda n: (n.start, n.pitch))
