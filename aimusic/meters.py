"""The time signatures each style offers, as data, and a style restated in one of them.

Beats are quarter notes everywhere in the composer (see :mod:`aimusic.score`): a 3/4 bar is
three beats, a 6/8 bar three beats felt as two dotted-quarter pulses, a 12/8 bar six beats
felt as four. A compound meter counts its tempo in pulses, as musicians do (a slow 12/8 blues
at 60 is 60 dotted quarters a minute), so its tempo map runs ``pulse`` times faster in beats.

:func:`style_in_meter` gives the style as the composer should read it in another meter: bar
length, phrase length, grooves, accompaniment patterns and feel of that meter. A style's
first meter is its own, and restating a style in it changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping

from .config import MIN_TEMPO
from .styles import STYLES, StyleSpec


@dataclass(frozen=True)
class MeterSpec:
    """One time signature of a style and what the style does differently in it."""

    name: str                          # "6/8"
    bar_beats: int                     # quarter-note beats in one bar
    pulse: float = 1.0                 # quarter beats per counted beat (1.5: a compound meter)
    phrase_bars: int | None = None     # bars of one section (None: the style's)
    intro_bars: int | None = None
    default_tempo: int | None = None   # in counted beats per minute (None: the style's)
    grooves: tuple[str, ...] | None = None             # drum grooves (aimusic.compose.drums)
    patterns: Mapping[str, str] = field(default_factory=dict)  # role -> accompaniment pattern
    swing: float | None = None         # None: the style's
    slow_below: int = 0                # at this tempo or slower, the slow grooves and patterns below
    slow_grooves: tuple[str, ...] | None = None
    slow_patterns: Mapping[str, str] = field(default_factory=dict)
    slow_pulse_lean: tuple[float, float] = (0.0, 0.0)  # and the melody's eighths between pulses this
    #                                    much softer: (at slow_below, at 40), in proportion between
    slow_length_lean: tuple[float, float] = (0.0, 0.0)   # and the melody model leans to longer notes,
    #                                    in logits per octave of length (at slow_below, at 40, as above)
    pulse_lean: float = 0.0            # (these two set by meter_at_tempo, read by style_in_meter)
    length_lean: float = 0.0

    @property
    def numerator(self) -> int:
        return int(self.name.split("/")[0])

    @property
    def denominator(self) -> int:
        return int(self.name.split("/")[1])


def _own(style: StyleSpec) -> MeterSpec:
    return MeterSpec(style.time_signature, style.beats_per_bar)


_M = MappingProxyType
# The meters each style offers beyond its own (its own comes first in STYLE_METERS).
_OTHER_METERS: dict[str, tuple[MeterSpec, ...]] = {
    "classical": (
        MeterSpec("3/4", 3, phrase_bars=8, default_tempo=108,
                  patterns=_M({"harmony": "waltz_chords", "bass": "bar_root"})),
        # the slowest (58 dotted quarters or fewer) play the melody's eighths between the pulses
        # softer: a piano's eighths, struck as hard as its pulses, are otherwise heard as the beat
        MeterSpec("6/8", 3, pulse=1.5, phrase_bars=8, default_tempo=66, swing=0.5,
                  patterns=_M({"harmony": "arpeggio_compound", "bass": "pulse_roots"}),
                  slow_below=58, slow_pulse_lean=(0.4, 0.7)),
    ),
    "jazz": (
        MeterSpec("3/4", 3, phrase_bars=16, default_tempo=150, grooves=("jazz_waltz", "jazz_waltz_kick"),
                  patterns=_M({"harmony": "comp_waltz"})),
    ),
    "blues": (
        # the slowest (62 dotted quarters or fewer) keep their triplets in the band, not the drums, and
        # the lead sings in longer notes: a beat tracker (and a listener) otherwise counts the eighths
        # as the beat, three times too fast
        MeterSpec("12/8", 6, pulse=1.5, phrase_bars=12, intro_bars=2, default_tempo=60, swing=0.5,
                  grooves=("slow_blues", "slow_blues_ride"),
                  patterns=_M({"harmony": "comp_compound", "bass": "compound_walk"}),
                  slow_below=62, slow_grooves=("slow_blues_pulse",),
                  slow_patterns=_M({"harmony": "comp_compound_slow", "bass": "compound_walk_slow"}),
                  slow_length_lean=(1.0, 2.0)),
    ),
    "rock": (),
    "electronic": (),
    "ambient": (
        MeterSpec("3/4", 3, phrase_bars=8, default_tempo=66),
        MeterSpec("6/8", 3, pulse=1.5, phrase_bars=8, default_tempo=48, swing=0.5,
                  patterns=_M({"harmony": "arpeggio_compound"})),
    ),
}
STYLE_METERS: Mapping[str, tuple[MeterSpec, ...]] = MappingProxyType(
    {name: (_own(style),) + _OTHER_METERS.get(name, ()) for name, style in STYLES.items()})


def meter_names(style: str) -> list[str]:
    """The time signatures ``style`` offers, its default first (as /api/styles lists them)."""
    return [m.name for m in STYLE_METERS[style]]


def find_meter(style: str, name: str | None) -> MeterSpec:
    """The meter ``name`` of ``style`` (its default for None); KeyError when the style lacks it."""
    meters = STYLE_METERS[style]
    if name is None:
        return meters[0]
    wanted = name.replace(" ", "")
    for meter in meters:
        if meter.name == wanted:
            return meter
    raise KeyError(name)


def meter_at_tempo(meter: MeterSpec, tempo: int | None) -> MeterSpec:
    """``meter`` with its slow grooves, patterns and melody leans when ``tempo`` is at most its ``slow_below``.

    The lean grows as the tempo falls: the slower the pulse, the further a beat tracker's (and a
    listener's) ear is drawn to the eighths, until at 40 (120 eighths a minute) they are the
    obvious beat unless the pulse stands well above them.
    """
    if tempo is None or tempo > meter.slow_below:
        return meter
    depth = min(max((meter.slow_below - tempo) / max(meter.slow_below - MIN_TEMPO, 1), 0.0), 1.0)

    def lean(at_slow_and_40: tuple[float, float]) -> float:
        at_slow, at_40 = at_slow_and_40
        return round(at_slow + (at_40 - at_slow) * depth, 6)

    return replace(meter, grooves=meter.slow_grooves if meter.slow_grooves is not None else meter.grooves,
                   patterns=_M({**meter.patterns, **meter.slow_patterns}),
                   pulse_lean=lean(meter.slow_pulse_lean), length_lean=lean(meter.slow_length_lean))


def style_in_meter(style: StyleSpec, meter: MeterSpec) -> StyleSpec:
    """``style`` as the composer reads it in ``meter``: the style itself in its own meter.

    Parameters
    ----------
    style : StyleSpec
        One of the six styles.
    meter : MeterSpec
        One of ``STYLE_METERS[style.name]``.

    Returns
    -------
    StyleSpec
        A style whose bar length, pulse, phrase length, grooves, part patterns and swing are
        the meter's, so planner, composer and mixer need no meter of their own.
    """
    if meter.name == style.time_signature and meter.bar_beats == style.beats_per_bar:
        return style
    parts = tuple(replace(p, pattern=meter.patterns[p.role], triplets=False) if p.role in meter.patterns else p
                  for p in style.parts)
    return replace(style, beats_per_bar=meter.bar_beats, beat_unit=4, meter=meter.name, pulse=meter.pulse,
                   phrase_bars=meter.phrase_bars or style.phrase_bars,
                   intro_bars=meter.intro_bars if meter.intro_bars is not None else style.intro_bars,
                   default_tempo=meter.default_tempo or style.default_tempo,
                   grooves=meter.grooves if meter.grooves is not None else style.grooves,
                   swing=meter.swing if meter.swing is not None else style.swing, parts=parts,
                   pulse_lean=meter.pulse_lean, length_lean=meter.length_lean)
