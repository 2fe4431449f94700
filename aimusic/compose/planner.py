"""The planner: key, tempo, form and a chord for every bar, sized to the asked duration.

A piece is an intro, sections of ``phrase_bars`` that repeat (A) and contrast (B), and an
ending cadence whose last chord is left to ring for the style's ``tail_seconds``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..energy import plan_density, section_energy
from ..errors import ParameterError
from ..score import Note, TempoMap
from ..styles import Progression, StyleSpec
from ..theory import Key, parse_key, roman_to_chord
from .loops import lead_back, loop_bars, loop_layout
from .melody_context import ChordSpan

# Forms by number of body sections: a theme, a contrast and a return whenever there is room.
FORMS = {1: "A", 2: "AB", 3: "ABA", 4: "AABA"}
# Energy of each section occurrence; the last body section before the ending peaks.
ENERGY = {"intro": 0.55, "A": 0.75, "B": 0.9, "ending": 0.7}
# Arrangement densities a seed chooses from: sparse, as written, busy.
DENSITIES = (0.75, 1.0, 1.0, 1.25)


@dataclass(frozen=True, slots=True)
class Section:
    """A stretch of the form: ``kind`` is intro/A/B/ending; ``occurrence`` counts repeats."""

    label: str
    kind: str
    start_bar: int
    n_bars: int
    energy: float
    occurrence: int

    @property
    def end_bar(self) -> int:
        return self.start_bar + self.n_bars


@dataclass(frozen=True, slots=True)
class SongPlan:
    """Everything decided before a note is written."""

    style: str
    key: Key
    tempo: int
    beats_per_bar: int
    beat_unit: int
    sections: tuple[Section, ...]
    chords: tuple[ChordSpan, ...]       # absolute, in beats, in order, covering every bar
    numerals: tuple[str, ...]           # the roman numeral of each chord, for inspection
    tempo_map: TempoMap
    duration_s: float
    seed: int
    instruments: tuple[tuple[str, str], ...]  # (role, instrument) chosen for this piece
    groove: str | None
    density: float = 1.0                # arrangement density: <1 sparser, >1 busier
    loop: bool = False                  # a seamless loop: no intro, no ending, the last bar leads to the first
    meter: str = ""                     # the time signature when not beats_per_bar/beat_unit (6/8: 3 beats)
    energy: float | None = None         # the asked energy, 0..1 (aimusic.energy); None: the style's own shape
    primer: tuple[Note, ...] = ()       # a user's melody placed where the melody starts (aimusic.primer)

    @property
    def time_signature(self) -> str:
        """The time signature as written (``"6/8"``); beats_per_bar counts quarter beats."""
        return self.meter or f"{self.beats_per_bar}/{self.beat_unit}"

    @property
    def total_bars(self) -> int:
        return self.sections[-1].end_bar if self.sections else 0

    @property
    def total_beats(self) -> float:
        return float(self.total_bars * self.beats_per_bar)

    def instrument(self, role: str) -> str:
        return dict(self.instruments)[role]


def choose_key(style: StyleSpec, key: str | None, rng: np.random.Generator) -> Key:
    """The asked key, or one the seed picks from the style's favourite tonics and modes."""
    if key is not None:
        return parse_key(key)
    tonic = int(rng.choice(style.tonics))
    mode = str(rng.choice(style.modes))
    return Key(tonic, mode)


def _bars_that_fit(style: StyleSpec, tempo: float, duration: float) -> int:
    """How many bars fit before the final chord's ring-out (``tail_seconds``)."""
    bar_s = style.beats_per_bar * 60.0 / tempo
    tail = min(style.tail_seconds, 0.3 * duration)
    # The final ritardando stretches the last two bars by (factor - 1) / 2 each on average.
    slowdown = bar_s * (style.ritardando - 1.0)
    return max(1, int((duration - tail - slowdown) / bar_s))


def _section_layout(style: StyleSpec, total_bars: int, cadence_bars: int) -> list[tuple[str, int]]:
    """(kind, n_bars) for the whole piece: intro, body sections that repeat and contrast, ending.

    Phrases halve (down to four bars) until the body holds at least three sections, so even
    a short piece states a theme, contrasts it and comes back; a fixed form (the 12-bar
    blues) keeps its length.
    """
    if total_bars <= cadence_bars + 1:
        return [("ending", total_bars)]
    intro = min(style.intro_bars, total_bars // 6) if total_bars >= 8 else 0
    body = total_bars - intro - cadence_bars
    phrase = style.phrase_bars
    while not style.fixed_form and phrase > 4 and body // phrase < 3:
        phrase //= 2
    sizes: list[int] = []
    while body > 0:
        n = min(phrase, body)
        # A remainder shorter than half a phrase joins this section rather than standing
        # alone as a fragment (a fixed form lengthens its intro instead).
        if 0 < body - n < phrase // 2:
            if style.fixed_form:
                intro += body - n
                body = n
            else:
                n = body
        sizes.append(n)
        body -= n
    form = FORMS.get(len(sizes)) or ("AABA" + "BA" * len(sizes))[: len(sizes) - 1] + "A"
    layout: list[tuple[str, int]] = [("intro", intro)] if intro else []
    layout += list(zip(form, sizes))
    layout.append(("ending", cadence_bars))
    return layout


def _bars_of(progression: Progression, n_bars: int) -> list[str]:
    """The first ``n_bars`` bars of a progression, cycling it if the section is longer."""
    return [progression[i % len(progression)] for i in range(n_bars)]


def plan_song(style: StyleSpec, *, duration: float, tempo: int | None, key: str | None,
              seed: int, rng: np.random.Generator, loop: bool = False,
              energy: float | None = None) -> SongPlan:
    """Lay out the piece: key, tempo, sections and the chord of every bar.

    With ``loop`` the piece is the nearest whole number of bars to ``duration``, all body
    sections, its last bar leading back into its first (see :mod:`aimusic.compose.loops`).
    """
    if duration <= 0:
        raise ParameterError("duration", "must be positive")
    bpm = int(tempo if tempo is not None else style.default_tempo)
    if not 20 <= bpm <= 300:
        raise ParameterError("tempo", "must be between 20 and 300")
    the_key = choose_key(style, key, rng)
    mode = the_key.mode if the_key.mode in style.progressions else next(iter(style.progressions))
    progressions = style.progressions[mode]
    cadence = progressions_choice(style.cadences[mode], rng)
    chosen = {kind: progressions_choice(progressions[kind], rng) for kind in ("intro", "A", "B")}

    # A compound meter counts dotted quarters: its beats (quarters) go ``pulse`` times faster.
    beat_bpm = bpm * style.pulse if style.pulse != 1.0 else bpm
    total_bars = _bars_that_fit(style, beat_bpm, duration)
    layout = _section_layout(style, total_bars, min(len(cadence), total_bars))
    if loop:
        total_bars = loop_bars(style, beat_bpm, duration)
        layout = loop_layout(style, total_bars)

    asked_energy = energy
    sections: list[Section] = []
    bar_numerals: list[str] = []
    counts: dict[str, int] = {}
    start = 0
    last_body = max((i for i, (k, _) in enumerate(layout) if k in ("A", "B")), default=-1)
    for i, (kind, n) in enumerate(layout):
        occurrence = counts.get(kind, 0)
        counts[kind] = occurrence + 1
        energy = 1.0 if i == last_body else ENERGY[kind]
        if kind == "B" and occurrence == 0 and style.mix.sidechain_duck > 0:
            energy = 0.4  # the first contrast is a breakdown in club styles
        if asked_energy is not None:
            energy = section_energy(min(energy, ENERGY[kind]), kind=kind, occurrence=occurrence,
                                    last_body=i == last_body, energy=asked_energy)
        label = kind if occurrence == 0 else f"{kind}{occurrence + 1}"
        sections.append(Section(label, kind, start, n, energy, occurrence))
        if kind == "ending":
            bar_numerals.extend(cadence[len(cadence) - n:])
        else:
            bar_numerals.extend(_bars_of(chosen[kind], n))
        start += n

    if loop:
        bar_numerals = lead_back(bar_numerals, cadence)
    beats_per_bar = style.beats_per_bar
    spans: list[ChordSpan] = []
    numerals: list[str] = []
    for bar, text in enumerate(bar_numerals):
        parts = text.split()
        each = beats_per_bar / len(parts)
        for j, numeral in enumerate(parts):
            chord = roman_to_chord(numeral, the_key)
            spans.append(ChordSpan(bar * beats_per_bar + j * each, each, chord))
            numerals.append(numeral)

    total_beats = float(total_bars * beats_per_bar)
    if style.ritardando != 1.0 and total_bars >= 4 and not loop:
        tempo_map = TempoMap(beat_bpm, total_beats - 2 * beats_per_bar, total_beats, style.ritardando)
    else:
        tempo_map = TempoMap(beat_bpm)
    instruments = tuple((p.role, str(rng.choice(p.instruments))) for p in style.parts)
    groove = str(rng.choice(style.grooves)) if style.grooves else None
    density = float(rng.choice(DENSITIES))
    if asked_energy is not None:
        density = plan_density(asked_energy)
    return SongPlan(style=style.name, key=the_key, tempo=bpm, beats_per_bar=beats_per_bar,
                    beat_unit=style.beat_unit, sections=tuple(sections), chords=tuple(spans),
                    numerals=tuple(numerals), tempo_map=tempo_map,
                    duration_s=float(tempo_map.seconds(total_beats)) if loop else float(duration),
                    seed=seed, instruments=instruments, groove=groove, density=density, loop=loop,
                    meter=style.meter, energy=asked_energy)


def progressions_choice(options: tuple[Progression, ...], rng: np.random.Generator) -> Progression:
    """One progression from a style's options, chosen by the seed."""
    return options[int(rng.integers(len(options)))]
