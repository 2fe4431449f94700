"""Request and response models of the jobs API (pydantic v2), for validation and /openapi.json."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from .schemas import GenerateResponse

MAX_BATCH = 50


class JobError(BaseModel):
    """Why one request of a job produced no track."""

    code: str
    message: str


class JobRequestError(BaseModel):
    """The error of request ``index`` of a batch."""

    index: int
    error: JobError


class JobLinks(BaseModel):
    """Where a job's state and its events are."""

    self: str
    events: str


class JobResponse(BaseModel):
    """A job: its status, progress from 0 to 1 as audio renders, finished tracks and errors."""

    id: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: float = Field(ge=0.0, le=1.0)
    created_at: str
    started_at: Optional[str]
    finished_at: Optional[str]
    requests: int = Field(description="How many generate requests the job holds.")
    tracks: list[GenerateResponse] = Field(description="The tracks finished so far, in request order.")
    errors: list[JobRequestError]
    reason: Optional[str] = Field(None, description="Why the job failed or was cancelled.")
    links: JobLinks


class JobList(BaseModel):
    """Body of ``GET /api/jobs``: the newest jobs first."""

    jobs: list[JobResponse]


class BatchRequest(BaseModel):
    """Body of ``POST /api/jobs`` for a batch (a single generate request is also accepted)."""

    model_config = ConfigDict(extra="forbid", title="BatchRequest")

    requests: list[dict] = Field(min_length=1, max_length=MAX_BATCH,
                                 description="1 to 50 generate requests, each as POST /api/generate takes it.",
                                 json_schema_extra={"items": {"$ref": "#/components/schemas/GenerateRequest"}})
