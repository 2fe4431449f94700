"""The musical controls of a generate request: meter, energy, instruments and a primer melody.

They sit in a base model of their own so :class:`aimusic.web.schemas.GenerateRequest` stays
readable; each is optional and, left out, changes nothing about a request. Checks that
depend on the style (its meters, its parts' instruments) run once the style is known and
name the field they reject.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import ParameterError
from ..instrument_choices import PART_CHOICES, resolve_instruments, spoken
from ..meters import meter_names
from ..primer import MAX_PRIMER_BEATS, MAX_PRIMER_BYTES, primer_from_base64
from ..styles import STYLE_NAMES


def _caseless(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


def _per_style_rules(schema: dict[str, Any]) -> None:
    """Declare the checks that depend on the style in the schema, so a client can make them too."""
    rules = []
    for style in STYLE_NAMES:
        parts = PART_CHOICES[style]
        rules.append({
            "if": {"properties": {"style": {"pattern": r"^\s*" + _caseless(style) + r"\s*$"}}, "required": ["style"]},
            "then": {"properties": {
                "time_signature": {"anyOf": [{"enum": meter_names(style)}, {"type": "null"}]},
                "instruments": {"anyOf": [{"type": "null"}, {
                    "type": "object", "additionalProperties": False,
                    "properties": {part: {"enum": list(choices) + [spoken(c) for c in choices if "_" in c]}
                                   for part, choices in parts.items()}}]}}}})
    schema["allOf"] = rules


BASE64_PATTERN = r"^[A-Za-z0-9+/]*={0,2}$"
MIN_MIDI_BASE64 = 32     # the smallest Standard MIDI File (a header and an empty track) is 22 bytes


class PrimerFile(BaseModel):
    """A user's MIDI file to continue, base64-encoded; only its notes, tempo, meter and key are read."""

    model_config = ConfigDict(extra="forbid", strict=True)

    midi: str = Field(min_length=MIN_MIDI_BASE64, max_length=4 * -(-MAX_PRIMER_BYTES // 3),
                      json_schema_extra={"pattern": BASE64_PATTERN, "contentEncoding": "base64",
                                         "contentMediaType": "audio/midi"},
                      description=f"Base64 (RFC 4648) of a Standard MIDI File of at most {MAX_PRIMER_BYTES} bytes "
                                  f"whose melody lasts at most {MAX_PRIMER_BEATS} quarter notes.")

    @field_validator("midi")
    @classmethod
    def _a_midi_file(cls, value: str) -> str:
        primer_from_base64(value)   # every check now, so a bad file is a 400 naming primer.midi
        return value


class MusicalControls(BaseModel):
    """Optional controls shared by every way of asking for a track (API, jobs, CLI)."""

    model_config = ConfigDict(json_schema_extra=_per_style_rules)

    time_signature: Optional[str] = Field(None, max_length=8,
                                          description="One of the style's time_signatures in /api/styles "
                                                      "(the first is its default), e.g. '3/4' or '12/8'. "
                                                      "A compound meter's tempo counts dotted quarters.",
                                          examples=["3/4"])
    energy: Optional[float] = Field(None, ge=0.0, le=1.0,
                                    description="0 (sparse, soft, dark) to 1 (dense, loud, bright): how busy the "
                                                "arrangement is and how its form builds; the style's own shape "
                                                "when omitted (its usual level is energy in /api/styles).")
    instruments: Optional[Dict[str, str]] = Field(None, max_length=8,
                                                  description="Part name to instrument, from that part's choices "
                                                              "in /api/styles; the seed chooses the other parts'.",
                                                  examples=[{"melody": "sax", "harmony": "organ"}])

    primer: Optional[PrimerFile] = Field(None, description="A melody to continue: the first melodic line of "
                                                           "the MIDI file opens the track's melody (in its own key, "
                                                           "tempo and meter unless the request gives them) and the "
                                                           "model continues it.")

    @model_validator(mode="after")
    def _fits_the_style(self) -> Any:
        style = getattr(self, "style", None)
        if style is None:
            return self
        if self.time_signature is not None:
            offered = meter_names(style)
            if self.time_signature.replace(" ", "") not in offered:
                raise ParameterError("time_signature", f"must be one of {', '.join(offered)} for {style}")
            self.time_signature = self.time_signature.replace(" ", "")
        if self.instruments:
            self.instruments = resolve_instruments(style, self.instruments)
        return self
