"""Jobs over HTTP: queue one request or a batch, report status and progress, cancel, stream events.

Views validate, write the job's row through the library, hand it to the queue, and read its
state back; the work happens in runner threads or worker processes (:mod:`aimusic.jobs`).
"""
from __future__ import annotations

import json
import secrets
import time
from typing import Any, Iterator

from flask import Blueprint, Response, current_app, g, request, stream_with_context
from pydantic import ValidationError

from .. import library
from ..pipeline import resolve_seed
from ..service import Refused, Unavailable
from .api import parse_generate_request, read_json_object
from .auth import authenticate, current_owner
from .errors import ApiError, refused, unavailable
from .job_schemas import MAX_BATCH, JobResponse
from .schemas import describe_validation_errors, generate_request_model
from .tracks import service, track_body

bp = Blueprint("jobs", __name__)
bp.before_request(authenticate)

JOB_ID_LENGTH = 24
EVENT_POLL_S = 0.25
EVENT_KEEPALIVE_S = 15.0
EVENT_MAX_S = 3600.0  # a stream ends after an hour; the client reconnects if the job still runs


def queue():  # noqa: ANN201 - a JobQueue
    """The app's job queue, its runners started in this process (embedded queue)."""
    jobs = current_app.extensions["aimusic_jobs"]
    jobs.start()
    return jobs


def job_body(job: library.JobInfo) -> dict[str, Any]:
    """The JSON of a job, with the tracks finished so far (in request order)."""
    found = library.tracks_by_id(service().db, list(job.track_ids.values()))
    # In request order; a track deleted since is no longer listed.
    tracks = [track_body(found[job.track_ids[i]]) for i in sorted(job.track_ids, key=int)
              if job.track_ids[i] in found]
    iso = lambda value: value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None  # noqa: E731
    base = f"{request.script_root}/api/jobs/{job.id}"
    body = {"id": job.id, "status": job.status, "progress": round(job.progress, 4), "created_at": iso(job.created_at),
            "started_at": iso(job.started_at), "finished_at": iso(job.finished_at), "requests": len(job.requests),
            "tracks": tracks, "errors": sorted(job.errors, key=lambda e: e["index"]), "reason": job.reason,
            "links": {"self": base, "events": f"{base}/events"}}
    return JobResponse.model_validate(body).model_dump(mode="json")


def _parse_batch(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The requests of a job body: one generate request, or ``{"requests": [...]}`` (1-50)."""
    max_duration = service().settings.max_duration
    if "requests" not in data:
        parse_generate_request(data, max_duration)
        return [data]
    extra = sorted(set(data) - {"requests"})
    if extra:
        raise ApiError(400, f"{extra[0]} is not a known field of a batch",
                       details=[{"field": name, "message": "is not a known field"} for name in extra])
    items = data["requests"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise ApiError(400, f"requests must be a list of 1 to {MAX_BATCH} generate requests",
                       details=[{"field": "requests", "message": f"must be a list of 1 to {MAX_BATCH} items"}])
    model = generate_request_model(max_duration)
    details = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            details.append({"field": f"requests[{index}]", "message": "must be a JSON object"})
            continue
        try:
            model.model_validate(item)
        except ValidationError as exc:
            details += [{"field": f"requests[{index}].{d['field']}", "message": d["message"]}
                        for d in describe_validation_errors(exc, model)]
    if details:
        raise ApiError(400, f"{details[0]['field']} {details[0]['message']}", details=details)
    return items


@bp.post("/api/jobs")
def create_job() -> tuple[Response, int, dict[str, str]]:
    """Queue one generate request or a batch; 202 with the job and its Location."""
    svc = service()
    items = _parse_batch(read_json_object())
    requests = [{"given": item, "seed": item["seed"] if isinstance(item.get("seed"), int) else resolve_seed(None)}
                for item in items]
    try:
        svc.admit(g.subject, cost=len(requests))
    except Refused as exc:
        raise refused(exc) from None
    except Unavailable as exc:
        raise unavailable(exc) from None
    ok, reason = queue().health()
    if not ok:
        raise ApiError(503, reason or "the job queue is unavailable", headers={"Retry-After": "10"})
    job_id = secrets.token_hex(JOB_ID_LENGTH // 2)
    try:
        job = library.jobs.create_job(svc.db, job_id, owner=current_owner(), requests=requests)
    except Exception:
        raise ApiError(503, "database unavailable", headers={"Retry-After": "5"}) from None
    try:
        queue().submit(job_id, range(len(requests)))
    except Unavailable as exc:
        library.jobs.delete_job_row(svc.db, job_id)  # never a job that no one will run
        raise unavailable(exc) from None
    body = job_body(job)
    return current_app.json.response(body), 202, {"Location": body["links"]["self"]}


def _job(job_id: str) -> library.JobInfo:
    if not (len(job_id) == JOB_ID_LENGTH and all(c in "0123456789abcdef" for c in job_id)):
        raise ApiError(404, "no such job")
    job = library.jobs.get_job(service().db, job_id, owner=current_owner())
    if job is None:
        raise ApiError(404, "no such job")
    return job


@bp.get("/api/jobs")
def list_jobs() -> Response:
    """The owner's newest jobs (``limit``, default 20, at most 100)."""
    for name in request.args:
        if name != "limit":
            raise ApiError(400, f"{name} is not a known parameter (limit)",
                           details=[{"field": name, "message": "is not a known parameter"}])
    raw = request.args.get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise ApiError(400, "limit must be an integer between 1 and 100",
                       details=[{"field": "limit", "message": "must be an integer between 1 and 100"}])
    jobs = library.jobs.jobs_for(service().db, current_owner(), limit=int(raw))
    response = current_app.json.response({"jobs": [job_body(j) for j in jobs]})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/jobs/<job_id>")
def show_job(job_id: str) -> Response:
    """Status, progress, the tracks finished so far and the errors of a job."""
    response = current_app.json.response(job_body(_job(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/api/jobs/<job_id>")
def cancel_job(job_id: str) -> tuple[Response, int]:
    """Cancel a job (a running one stops at its next step); 202 with the job."""
    _job(job_id)
    job = library.jobs.cancel_job(service().db, job_id, owner=current_owner()) or _job(job_id)
    return current_app.json.response(job_body(job)), 202


@bp.get("/api/jobs/<job_id>/events")
def job_events(job_id: str) -> Response:
    """Server-Sent Events: the job object each time it changes, until the job ends."""
    first = _job(job_id)
    owner = current_owner()

    def events() -> Iterator[str]:
        sent, counter, job = None, 0, first
        started = last_sent = time.monotonic()
        yield "retry: 2000\n\n"
        while True:
            body = job_body(job)
            text = json.dumps(body, separators=(",", ":"))
            if text != sent:
                counter += 1
                sent, last_sent = text, time.monotonic()
                yield f"id: {counter}\nevent: {'end' if job.finished else 'job'}\ndata: {text}\n\n"
            if job.finished or time.monotonic() - started > EVENT_MAX_S:
                return
            if time.monotonic() - last_sent > EVENT_KEEPALIVE_S:
                last_sent = time.monotonic()
                yield ": keep-alive\n\n"
            time.sleep(EVENT_POLL_S)
            job = library.jobs.get_job(service().db, job_id, owner=owner) or job

    response = Response(stream_with_context(events()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a buffering proxy must pass events through at once
    return response
