"""Request and response models of the HTTP API (pydantic v2).

These models are the single source of truth: the views validate and serialise with
them, the CLI validates with the same request model, and the OpenAPI document is
generated from them, so the documentation cannot drift from what is enforced.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator
from pydantic_core import PydanticCustomError

from ..config import MAX_TEMPO, MIN_TEMPO
from ..errors import ParameterError
from ..pipeline import MAX_SEED
from ..store import FILENAME_RE
from ..styles import STYLE_NAMES
from ..theory import parse_key
from .controls import MusicalControls

MIN_DURATION = 1.0
DEFAULT_DURATION = 30.0
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.1, 2.0
MAX_KEY_LENGTH = 32
MAX_STYLE_LENGTH = 32

FILE_ID_PATTERN = r"^[0-9a-f]{12}$"


def caseless(word: str) -> str:
    """A regular expression (JSON Schema's dialect: no inline flags) matching ``word`` in any case."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


# What the validators below accept, declared in /openapi.json so a client can check before sending.
STYLE_PATTERN = r"^\s*(?:" + "|".join(caseless(name) for name in STYLE_NAMES) + r")\s*$"
KEY_PATTERN = (r"^[\s-]*[A-Ga-g][\s-]*[#bB\u266f\u266d]?[\s-]*(?:"
               + "|".join(caseless(w) for w in ("major", "maj", "minor", "min", "m")) + r")?[\s-]*$")
FILENAME_PATTERN = FILENAME_RE.pattern
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 20, 100


def integral(value: Any) -> Any:
    """JSON has one number type: 120.0 is the integer 120 (as JSON Schema counts it); 120.5 stays a float."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class GenerateRequest(MusicalControls):
    """Body of ``POST /api/generate``: strict types, no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, title="GenerateRequest")

    style: str = Field(max_length=MAX_STYLE_LENGTH,
                       description="One of " + ", ".join(STYLE_NAMES) + " (case-insensitive).",
                       examples=["jazz"], json_schema_extra={"pattern": STYLE_PATTERN})
    duration: float = Field(DEFAULT_DURATION, ge=MIN_DURATION, le=3600.0,
                            description="Length of the track in seconds.")
    tempo: Optional[int] = Field(None, ge=MIN_TEMPO, le=MAX_TEMPO,
                                 description=f"Beats per minute, {MIN_TEMPO} to {MAX_TEMPO} for every style; the "
                                             "style's default when omitted. A style's tempo_range in /api/styles is "
                                             "where it sounds most idiomatic, a suggestion, not a limit.")
    key: Optional[str] = Field(None, max_length=MAX_KEY_LENGTH,
                               description="Tonic with an optional mode word, e.g. 'A minor', 'Eb major', "
                                           "'F#m'; chosen by the seed when omitted.",
                               examples=["A minor"], json_schema_extra={"pattern": KEY_PATTERN})
    seed: Optional[int] = Field(None, ge=0, le=MAX_SEED,
                                description="Random seed; the same request and seed give a byte-identical file.")
    temperature: float = Field(1.0, ge=MIN_TEMPERATURE, le=MAX_TEMPERATURE,
                               description="How adventurously the melody model samples.")
    format: Literal["wav", "flac", "mp3", "ogg"] = Field(
        "wav", description="The format behind download_url: wav (16-bit PCM), flac (lossless, the WAV's samples), "
                           "mp3 (320 kbps CBR), ogg (Vorbis). Every other format is made on its first request.")
    loop: bool = Field(False, description="A seamless loop of whole bars: no intro, no ending, the last bar flows "
                                          "into the first; duration becomes the nearest whole number of bars.")
    stems: bool = Field(False, description="Render the stems now (otherwise on their first download).")

    @field_validator("tempo", "seed", mode="before")
    @classmethod
    def _integral_number(cls, value: Any) -> Any:
        return integral(value)

    @field_validator("format", mode="before")
    @classmethod
    def _format_lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("style")
    @classmethod
    def _known_style(cls, value: str) -> str:
        name = value.strip().lower()
        if name not in STYLE_NAMES:
            raise PydanticCustomError("unknown_style", "must be one of " + ", ".join(STYLE_NAMES))
        return name

    @field_validator("key")
    @classmethod
    def _valid_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return parse_key(value).name
        except ParameterError as exc:
            raise PydanticCustomError("invalid_key", exc.message) from None


@lru_cache(maxsize=16)
def generate_request_model(max_duration: float) -> type[GenerateRequest]:
    """The request model whose ``duration`` limit is ``max_duration`` (``MAX_DURATION``).

    Built once per limit so the OpenAPI document shows the same maximum the
    validator enforces.
    """
    default = min(DEFAULT_DURATION, max_duration)
    return create_model(  # type: ignore[call-overload,no-any-return]
        "GenerateRequest",
        __base__=GenerateRequest,
        __module__=__name__,
        duration=(float, Field(default, ge=MIN_DURATION, le=max_duration,
                               description=f"Length of the track in seconds ({MIN_DURATION:g} to {max_duration:g})."),
                  ),
    )


def field_limits(model: type[BaseModel]) -> dict[str, tuple[float, float]]:
    """``{field: (minimum, maximum)}`` for every numeric field with both bounds."""
    limits: dict[str, tuple[float, float]] = {}
    for name, info in model.model_fields.items():
        low = high = None
        for item in info.metadata:
            low = getattr(item, "ge", low)
            high = getattr(item, "le", high)
        if low is not None and high is not None:
            limits[name] = (low, high)
    return limits


_TYPE_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be a string",
    "string_too_long": "is too long",
    "string_too_short": "is too short",
    "bool_type": "must be true or false",
}


def _number(value: float) -> str:
    """A limit as a person writes it: 4294967295, not 4.29497e+09; 0.1 stays 0.1."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def describe_validation_errors(exc: ValidationError, model: type[BaseModel]) -> list[dict[str, str]]:
    """Turn pydantic's errors into ``[{"field", "message"}]`` a person can act on.

    Range errors are reported as ``"must be between LOW and HIGH"`` with the model's
    own limits, whichever bound was crossed.
    """
    limits = field_limits(model)
    details = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(part) for part in err["loc"]) or "body"
        kind = err["type"]
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, ParameterError):   # a check across fields names the field it rejects
            details.append({"field": cause.field, "message": cause.message})
            continue
        if kind in ("greater_than_equal", "less_than_equal") and field in limits:
            low, high = limits[field]
            message = f"must be between {_number(low)} and {_number(high)}"
        elif kind == "literal_error":
            message = f"must be one of {(err.get('ctx') or {}).get('expected', '')}".rstrip()
        elif kind in _TYPE_MESSAGES:
            message = _TYPE_MESSAGES[kind]
        else:
            message = err["msg"]
        details.append({"field": field, "message": message})
    return details


class GenerateResponse(BaseModel):
    """What ``POST /api/generate`` (and the CLI) report about a finished track."""

    id: str = Field(pattern=FILE_ID_PATTERN)
    filename: str
    download_url: str
    style: str
    duration: float = Field(description="True length of the file in seconds.")
    tempo: int
    key: str
    seed: int = Field(ge=0, le=MAX_SEED)
    temperature: float
    sample_rate: int
    channels: int
    bars: int
    time_signature: str
    model: str
    generation_time_ms: int
    format: Literal["wav", "flac", "mp3", "ogg"] = Field("wav", description="The format behind download_url.")
    loop: Optional[bool] = Field(None, description="True for a seamless loop (duration is then its whole bars).")
    created_at: Optional[str] = Field(None, description="When the track was made (UTC, ISO 8601).")
    variation_of: Optional[str] = Field(None, pattern=FILE_ID_PATTERN,
                                        description="For a variation: the id of the track it varies.")
    vary: Optional[Literal["melody", "arrangement", "all"]] = Field(
        None, description="For a variation: what it wrote anew over its original's plan.")
    links: Optional["TrackLinks"] = None


class AudioLinks(BaseModel):
    """The mix in each format (a format not made yet is made on its first request)."""

    wav: str
    flac: Optional[str] = None
    mp3: Optional[str] = None
    ogg: Optional[str] = None


class TrackLinks(BaseModel):
    """Where a track and its files are."""

    self: str
    audio: AudioLinks
    download: str
    midi: Optional[str] = Field(None, description="The Score as a Standard MIDI File.")
    score: Optional[str] = Field(None, description="The Score as JSON (ScoreDocument).")
    stems: Optional[str] = Field(None, description="One WAV per part in a zip.")
    original: Optional[str] = Field(None, description="For a variation: the track it varies.")


class SectionInfo(BaseModel):
    """A section of the form as planned."""

    label: str
    kind: str
    start_bar: int
    bars: int
    start_beat: float
    start_s: float = Field(description="Start of the section in seconds from the beginning of the track.")
    energy: float


GenerateResponse.model_rebuild()


class TrackResponse(GenerateResponse):
    """A track of the library: what generate answered, plus the request as given and the form."""

    request: dict[str, Any] = Field(description="The generate request exactly as the client sent it.")
    sections: list[SectionInfo]


class TrackList(BaseModel):
    """Body of ``GET /api/tracks``: newest first."""

    tracks: list[TrackResponse]
    next_cursor: Optional[str] = Field(description="Pass as cursor for the next page; null on the last page.")


class PartChoices(BaseModel):
    """A part of a style and the instruments the ``instruments`` field accepts for it."""

    name: str
    instruments: list[str]


class StyleInfo(BaseModel):
    """One style as ``GET /api/styles`` lists it."""

    name: str
    description: str
    default_tempo: int
    tempo_range: tuple[int, int] = Field(description="Where the style sounds most idiomatic: a suggestion, not a "
                                                     "limit; generate accepts any tempo within tempo_limits.")
    time_signature: str
    instruments: list[str]
    time_signatures: list[str] = Field(default_factory=list,
                                       description="The meters time_signature accepts; the first is the default.")
    energy: Optional[float] = Field(None, description="The style's usual energy (0 to 1).")
    parts: list[PartChoices] = Field(default_factory=list, description="Each part and the instruments it accepts.")


class StylesResponse(BaseModel):
    """Body of ``GET /api/styles``."""

    styles: list[StyleInfo]
    tempo_limits: tuple[int, int] = Field((MIN_TEMPO, MAX_TEMPO),
                                          description="The tempo range generate accepts for every style.")


class ModelStatus(BaseModel):
    """The melody writer in use."""

    name: str
    loaded: bool = Field(description="False when the trained model could not be loaded and a baseline is used.")
    parameters: int
    error: Optional[str] = None


class OutputDirStatus(BaseModel):
    """Whether generated files can be written."""

    writable: bool
    free_bytes: int


class DatabaseStatus(BaseModel):
    """Whether the library's database answers."""

    ok: bool
    backend: str


class QueueStatus(BaseModel):
    """Whether background jobs can be queued: ``embedded`` (in process) or ``redis`` (workers)."""

    backend: str
    ok: bool


class HealthResponse(BaseModel):
    """Body of ``GET /health`` (200 when ok, 503 when degraded)."""

    status: Literal["ok", "degraded"]
    version: str
    model: ModelStatus
    output_dir: OutputDirStatus
    database: Optional["DatabaseStatus"] = None
    jobs: Optional["QueueStatus"] = None
    auth: Optional[Literal["off", "keys"]] = Field(None, description="Whether API keys are required.")
    uptime_s: float
    reason: Optional[str] = Field(None, description="Why the service is degraded.")
    warnings: list[str] = Field(default_factory=list)


HealthResponse.model_rebuild()


class SystemInfo(BaseModel):
    """Body of ``GET /`` for API clients."""

    name: str
    version: str
    status: Literal["ok", "degraded"]
    styles: list[str]
    endpoints: dict[str, str]
    auth: Literal["off", "keys"] = Field("off", description="keys: every /api/ route needs a Bearer key.")
    limits: Optional["RequestLimits"] = None


class RequestLimits(BaseModel):
    """The ranges this service accepts, so a client's form can offer exactly them."""

    duration: tuple[float, float] = Field(description="Shortest and longest track in seconds (MAX_DURATION).")
    tempo: tuple[int, int]
    temperature: tuple[float, float]
    page_size: tuple[int, int] = Field(description="limit of GET /api/tracks.")
    batch: tuple[int, int] = Field((1, 50), description="Requests in one job of POST /api/jobs.")


SystemInfo.model_rebuild()


class ErrorDetail(BaseModel):
    """One problem with one field."""

    field: str
    message: str


class ErrorBody(BaseModel):
    """The ``error`` object of every error response."""

    code: Literal["invalid_request", "unauthorized", "not_found", "method_not_allowed", "payload_too_large",
                  "unsupported_media_type", "range_not_satisfiable", "precondition_failed",
                  "rate_limited", "internal_error", "unavailable", "http_error"]
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)
    request_id: Optional[str] = None


class ErrorResponse(BaseModel):
    """Every error the API returns."""

    error: ErrorBody


def dump(model: BaseModel) -> dict[str, Any]:
    """JSON-ready dict of a response model, without fields left at ``None``."""
    return model.model_dump(mode="json", exclude_none=True)
