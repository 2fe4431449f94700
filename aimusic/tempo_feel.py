"""A style restated for a fast or a slow tempo: how its players keep the beat heard.

At a fast tempo, a figure that pairs the beats is counted at half the tempo by a listener and
a beat tracker alike. Jazz at 160 and faster: a ride whose skip notes and a hat on two and four
pair the beats, over sparse syncopated comping (heard at half its tempo on seven seeds in eight
at 180); up-tempo players put the time on every beat, the drummer feathering the bass drum on
all four, the comper playing short hits on the beats (and a calm or driving jazz groove keeps
its ride even and its kick on the beats too). Rock at 150 and faster: the groove whose open
hat accents every other beat (heard at half its tempo at 160) strikes every beat alike.
Classical at 120 and faster: the broken chords' figure stops leaning on every other beat.
Electronic at 144 and faster: the backbeat's clap or snare softer, or on two and four it
outweighs the kick on every beat (heard at half, or at two thirds, on 3 seeds in 8 at 150).
:func:`style_at_tempo` swaps those in by name, whichever the style, its meter or an energy chose.

At a slow tempo the opposite happens: classical at 60, its melody and broken chords running in
eighths, is heard at twice its tempo (7 seeds in 8). Below :data:`SLOW_BELOW` the melody's and the
accompaniment's notes between the beats are struck softer, more so the slower the tempo
(:func:`beat_lean`), as a player lets the beat carry a slow line.
"""
from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Mapping

from .styles import StyleSpec

FAST_FROM: Mapping[str, int] = MappingProxyType({"jazz": 160, "rock": 150, "classical": 120, "electronic": 144})
# style -> {groove: its up-tempo version}: the style's own grooves and those an energy swaps in.
FAST_GROOVES: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "jazz": MappingProxyType({"jazz_ride": "jazz_fast", "jazz_ride_kick": "jazz_fast_kick",
                              "jazz_drive": "jazz_drive_fast", "jazz_ride_quarters": "jazz_quarters_fast"}),
    "rock": MappingProxyType({"rock_four": "rock_four_fast"}),
    "electronic": MappingProxyType({"four_on_floor": "four_on_floor_fast",
                                    "four_on_floor_clap": "four_on_floor_clap_fast",
                                    "house_drive": "house_drive_fast"}),
})
FAST_PATTERNS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"jazz": MappingProxyType({"comp_swing": "comp_swing_fast"}),
     "classical": MappingProxyType({"arpeggio": "arpeggio_fast"})})
SLOW_BELOW: Mapping[str, int] = MappingProxyType({"classical": 84})
LEAN_AT_60 = 0.4       # the lean at 60 beats a minute, rising in proportion below the threshold ...
MAX_LEAN = 0.5         # ... up to this


def beat_lean(style: str, tempo: int | None) -> float:
    """How much softer ``style``'s notes between the beats are at ``tempo``: 0 at or above its :data:`SLOW_BELOW`."""
    below = SLOW_BELOW.get(style)
    if tempo is None or below is None or tempo >= below:
        return 0.0
    return round(min(MAX_LEAN, LEAN_AT_60 * (below - tempo) / (below - 60)), 6)


def style_at_tempo(style: StyleSpec, tempo: int | None) -> StyleSpec:
    """``style`` with its up-tempo grooves and figures when ``tempo`` is at least its :data:`FAST_FROM`,
    or leaning off its beats below its :data:`SLOW_BELOW`.

    The style itself for None (its default tempo is a moderate one), between the thresholds,
    or for a style without either. A groove or figure without an up-tempo version
    (a meter's: the jazz waltz) stays.
    """
    lean = beat_lean(style.name, tempo) if style.pulse == 1.0 else 0.0   # a compound meter has its own
    if lean:
        return replace(style, beat_lean=lean)
    fast_from = FAST_FROM.get(style.name)
    if tempo is None or fast_from is None or tempo < fast_from:
        return style
    swaps = FAST_PATTERNS.get(style.name, {})
    parts = tuple(replace(p, pattern=swaps[p.pattern]) if p.pattern in swaps else p for p in style.parts)
    grooves = FAST_GROOVES.get(style.name, {})
    return replace(style, parts=parts, grooves=tuple(grooves.get(g, g) for g in style.grooves))
