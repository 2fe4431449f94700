"""The musical controls of a generate request: meter, energy, instruments and a primer melody.

They sit in a base model of their own so :class:`aimusic.web.schemas.GenerateRequest` stays
readable; each is optional and, left out, changes nothing about a request. Checks that
depend on the style (its meters, its parts' instruments) run once the style is known and
name the field they reject.
"""
from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, Field, model_validator

from ..errors import ParameterError
from ..meters import meter_names


class MusicalControls(BaseModel):
    """Optional controls shared by every way of asking for a track (API, jobs, CLI)."""

    time_signature: Optional[str] = Field(None, max_length=8,
                                          description="One of the style's time_signatures in /api/styles "
                                                      "(the first is its default), e.g. '3/4' or '12/8'. "
                                                      "A compound meter's tempo counts dotted quarters.",
                                          examples=["3/4"])

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
        return self
