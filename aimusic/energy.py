"""Energy (0 to 1): how dense, loud, bright and busy a piece is, and how its form is shaped.

A request without ``energy`` is arranged as the style always was (the seed picks a density,
each section its fixed level). With it, the level sets the arrangement's density (the melody's
notes, the pad's entries), every section's level (velocities, which drums play, whether the
bass drops out, the guitars chug or ring), the master's brightness and the melody model's
note lengths, around a shaped form: the first contrast quieter than the theme, the last
section building above it.
"""
from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Mapping

from .compose.energy_patterns import (ENERGY_FADE_IN_S, ENERGY_GAINS, ENERGY_GROOVES, ENERGY_INSTRUMENTS, ENERGY_PARTS,
                                      energy_band)
from .styles import STYLES, StyleSpec

# Each style's usual level, as /api/styles lists it.
STYLE_ENERGY: Mapping[str, float] = MappingProxyType(
    {"classical": 0.45, "jazz": 0.55, "rock": 0.75, "blues": 0.55, "electronic": 0.7, "ambient": 0.25})
THEME = 0.75          # the theme's level at the middle energy
SPAN = 1.2            # how far a section's level moves per unit of energy
BRIDGE_DIP = 0.15     # the first contrasting section sits this much below the theme
BUILD = 0.15          # the last body section rises this much above it
BRIGHTNESS_DB = 5.0   # master high shelf, from -2.5 dB at energy 0 to +2.5 dB at 1


def plan_density(energy: float) -> float:
    """Arrangement density for ``energy``: 0.6 (sparse) to 1.5 (busy), 1.05 at the middle."""
    return 0.6 + 0.9 * float(energy)


def section_energy(base: float, *, kind: str, occurrence: int, last_body: bool, energy: float) -> float:
    """A section's level in 0.1-1 from the style's level ``base`` for its kind and the asked energy.

    Parameters
    ----------
    base : float
        The level the planner gives this section (aimusic.compose.planner.ENERGY).
    kind : str
        intro, A, B or ending.
    occurrence : int
        How many sections of this kind came before.
    last_body : bool
        Whether it is the last body section: the build-up.
    energy : float
        The asked energy, 0 to 1.
    """
    if kind == "B" and occurrence == 0:     # the first contrast: below the theme, even when last
        return min(1.0, max(0.1, THEME + SPAN * (float(energy) - 0.5) - BRIDGE_DIP))
    level = base + SPAN * (float(energy) - 0.5)
    if last_body:
        level += BUILD
    return min(1.0, max(0.1, level))


def style_at_energy(style: StyleSpec, energy: float | None) -> StyleSpec:
    """``style`` with the master's brightness and the accompaniment figures for ``energy``.

    The style itself for None. Figures change only where
    :data:`~aimusic.compose.energy_patterns.ENERGY_PARTS` names one for the style's pattern;
    such a figure may bring its own instrument (``ENERGY_INSTRUMENTS``) and level (``ENERGY_GAINS``),
    and a band its own swell-in (``ENERGY_FADE_IN_S``).
    """
    if energy is None:
        return style
    band = energy_band(float(energy))
    swaps = ENERGY_PARTS.get(style.name, {}).get(band, {})
    parts = tuple(replace(p, pattern=swaps[p.pattern]) if p.pattern in swaps else p for p in style.parts)
    voices = ENERGY_INSTRUMENTS.get(style.name, {}).get(band, {})
    levels = ENERGY_GAINS.get(style.name, {}).get(band, {})
    parts = tuple(replace(p, instruments=voices.get(p.role, p.instruments), gain_db=levels.get(p.role, p.gain_db))
                  if p.pattern in swaps.values() else p for p in parts)
    own_grooves = style.grooves == STYLES[style.name].grooves      # a meter's own grooves stay
    grooves = ENERGY_GROOVES.get(style.name, {}).get(band, style.grooves) if own_grooves else style.grooves
    shelf = style.mix.master_high_shelf_db + BRIGHTNESS_DB * (float(energy) - 0.5)
    fade = ENERGY_FADE_IN_S.get(style.name, {}).get(band, style.mix.fade_in_s)
    return replace(style, parts=parts, grooves=grooves,
                   mix=replace(style.mix, master_high_shelf_db=shelf, fade_in_s=fade))
