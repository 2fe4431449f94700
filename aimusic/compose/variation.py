"""Variations of a track: the same plan (key, tempo, meter, form, chords), some parts written anew.

A variation composes its original's Score again, then composes the plan once more from its
own seed and takes from that second Score the parts it varies: the melody, the arrangement
(harmony, pad, bass and drums) or all of them. A variation of a variation adds a layer, so
any track of the family is remade from its first seed and the list of layers.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..score import Score

VARY_CHOICES = ("melody", "arrangement", "all")


@dataclass(frozen=True, slots=True)
class Variation:
    """How a track varies its original: the plan's seed, then (seed, what varies) per layer."""

    plan_seed: int
    layers: tuple[tuple[int, str], ...]

    def then(self, seed: int, vary: str) -> "Variation":
        """This variation varied once more."""
        return replace(self, layers=self.layers + ((int(seed), vary),))


def varies(role: str, vary: str) -> bool:
    """Whether a part of ``role`` is written anew when ``vary`` is asked."""
    return vary == "all" or (role == "melody") == (vary == "melody")


def vary_score(base: Score, other: Score, vary: str) -> Score:
    """``base`` with the parts ``vary`` names taken from ``other`` (a Score of the same plan).

    Raises
    ------
    ValueError
        For an unknown ``vary``, or Scores whose parts do not line up (different plans).
    """
    if vary not in VARY_CHOICES:
        raise ValueError(f"vary must be one of {', '.join(VARY_CHOICES)}")
    if [t.name for t in base.tracks] != [t.name for t in other.tracks]:
        raise ValueError("a variation needs two Scores of the same plan")
    tracks = [o if varies(b.role, vary) else b for b, o in zip(base.tracks, other.tracks)]
    return replace(base, tracks=tracks)
