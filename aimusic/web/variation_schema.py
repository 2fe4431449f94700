"""The body of ``POST /api/tracks/<id>/variations``, apart from the view so the OpenAPI document can use it."""
from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..pipeline import MAX_SEED
from .schemas import integral


class VariationRequest(BaseModel):
    """Body of ``POST /api/tracks/<id>/variations`` (optional: every field has a default)."""

    model_config = ConfigDict(extra="forbid", strict=True, title="VariationRequest")

    seed: Optional[int] = Field(None, ge=0, le=MAX_SEED,
                                description="Seed of the new notes; the same original, seed and vary give the "
                                            "same track. Random when omitted.")
    vary: Literal["melody", "arrangement", "all"] = Field(
        "all", description="What is written anew: the melody, the arrangement (harmony, bass, drums) or all; "
                           "key, tempo, meter, form, chords and instruments stay the original's.")

    @field_validator("seed", mode="before")
    @classmethod
    def _integral_number(cls, value: Any) -> Any:
        return integral(value)
