"""The instruments a request may choose per part of a style: its own timbres and a few more.

A part's own choices (what the seed picks from) come first; the extra ones are timbres the
synthesizer has that suit the part. A doubled part (rock's rhythm guitars) keeps its own,
since each of them names its second take.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from .errors import ParameterError
from .styles import STYLES, StyleSpec

_EXTRA: dict[str, dict[str, tuple[str, ...]]] = {
    "classical": {"melody": ("flute", "sax", "brass", "electric_piano"), "harmony": ("electric_piano", "organ"),
                  "pad": ("synth_pad", "organ"), "bass": ("upright_bass",)},
    "jazz": {"melody": ("electric_piano", "flute", "violin", "clean_guitar", "piano", "organ"), "harmony": ("organ", "clean_guitar"),
             "bass": ("electric_bass",)},
    "rock": {"melody": ("synth_lead", "sax"), "pad": ("synth_pad", "piano", "strings")},
    "blues": {"melody": ("clean_guitar", "sax", "organ", "piano"), "harmony": ("piano", "organ", "electric_piano")},
    "electronic": {"melody": ("bell", "electric_piano", "sax"), "harmony": ("electric_piano", "organ"),
                   "pad": ("strings",)},
    "ambient": {"melody": ("piano", "violin", "synth_lead"), "pad": ("organ",), "harmony": ("synth_pad", "electric_piano", "celesta")},
}


def _choices(style: StyleSpec) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for part in style.parts:
        own = tuple(dict.fromkeys(part.instruments))
        extra = () if part.double else _EXTRA.get(style.name, {}).get(part.role, ())
        out[part.role] = own + tuple(i for i in extra if i not in own)
    return out


PART_CHOICES: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {name: MappingProxyType(_choices(style)) for name, style in STYLES.items()})


def spoken(instrument: str) -> str:
    """An instrument as /api/styles lists it: ``"electric piano"``."""
    return instrument.replace("_", " ")


def resolve_instruments(style: str, asked: Mapping[str, str]) -> dict[str, str]:
    """``{part: instrument}`` in the synthesizer's names from a request's ``instruments``.

    Raises
    ------
    ParameterError
        Naming ``instruments.<part>`` for a part the style lacks or an instrument it does not offer.
    """
    parts = PART_CHOICES[style]
    out: dict[str, str] = {}
    for part, instrument in asked.items():
        if part not in parts:
            raise ParameterError(f"instruments.{part}", f"is not a part of {style} (parts: {', '.join(parts)})")
        name = instrument.strip().lower().replace(" ", "_")
        if name not in parts[part]:
            raise ParameterError(f"instruments.{part}", f"must be one of {', '.join(map(spoken, parts[part]))}")
        out[part] = name
    return out
