"""Jobs through the app with the embedded queue (runner threads of this process), on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import event

from aimusic import library
from aimusic.jobs.runner import job_track_id, run_item

from .test_api import assert_error

DONE = ("done", "failed", "cancelled")


@pytest.fixture
def jobs_app(make_app, database_url):
    app = make_app(database_url=database_url, job_stale_s=2.0)
    yield app
    app.extensions["aimusic_jobs"].stop()


def wait_for(client, job_id, *, headers=None, timeout=120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}", headers=headers or {}).get_json()
        if job["status"] in DONE:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end: {job}")


def test_a_batch_runs_in_the_background_and_records_its_tracks(jobs_app):
    client = jobs_app.test_client()
    batch = [{"style": "jazz", "duration": 1, "seed": 5}, {"style": "rock", "duration": 1},
             {"style": "ambient", "duration": 1.5, "key": "D minor"}]
    created = client.post("/api/jobs", json={"requests": batch})
    assert created.status_code == 202
    job = created.get_json()
    assert created.headers["Location"] == job["links"]["self"] == f"/api/jobs/{job['id']}"
    assert job["status"] in ("queued", "running") and job["requests"] == 3
    done = wait_for(client, job["id"])
    assert done["status"] == "done" and done["progress"] == 1.0 and done["errors"] == []
    assert [t["style"] for t in done["tracks"]] == ["jazz", "rock", "ambient"]
    assert done["tracks"][0]["seed"] == 5 and done["tracks"][2]["key"] == "D minor"
    assert [t["id"] for t in done["tracks"]] == [job_track_id(job["id"], i) for i in range(3)]
    listed = {t["id"]: t for t in client.get("/api/tracks").get_json()["tracks"]}
    assert set(listed) == {t["id"] for t in done["tracks"]}
    assert listed[done["tracks"][2]["id"]]["request"] == batch[2], "each track keeps its request as given"
    with client.get(done["tracks"][1]["download_url"]) as audio:
        assert audio.status_code == 200
    assert done["started_at"] <= done["finished_at"]
    assert [j["id"] for j in client.get("/api/jobs").get_json()["jobs"]] == [job["id"]]


def test_a_single_request_is_a_job_of_one(jobs_app):
    client = jobs_app.test_client()
    job = client.post("/api/jobs", json={"style": "blues", "duration": 1}).get_json()
    done = wait_for(client, job["id"])
    assert done["requests"] == 1 and len(done["tracks"]) == 1 and done["tracks"][0]["style"] == "blues"


@pytest.mark.parametrize(("body", "field"), [
    ({"requests": [{"style": "jazz"}, {"style": "jazz", "tempo": 999}]}, "requests[1].tempo"),
    ({"requests": [{"style": "polka"}]}, "requests[0].style"),
    ({"requests": [{"style": "jazz", "tempoo": 1}]}, "requests[0].tempoo"),
    ({"requests": ["jazz"]}, "requests[0]"),
    ({"requests": []}, "requests"),
    ({"requests": [{"style": "jazz"}] * 51}, "requests"),
    ({"requests": [{"style": "jazz"}], "priority": 1}, "priority"),
    ({"style": "jazz", "seed": -1}, "seed"),
])
def test_invalid_jobs_are_400_naming_the_index_and_the_field(jobs_app, body, field):
    client = jobs_app.test_client()
    assert_error(client.post("/api/jobs", json=body), 400, "invalid_request", field)
    assert client.get("/api/jobs").get_json()["jobs"] == [], "nothing queued"


def test_progress_streams_as_events_in_order_until_the_end(jobs_app):
    client = jobs_app.test_client()
    # long enough to span several of the stream's polls on a fast machine (a 12 s track renders in 0.15 s)
    job = client.post("/api/jobs", json={"requests": [{"style": "jazz", "duration": 40}] * 3}).get_json()
    with client.get(f"/api/jobs/{job['id']}/events") as stream:
        assert stream.mimetype == "text/event-stream"
        text = stream.get_data(as_text=True)
    events = [block for block in text.split("\n\n") if "data: " in block]
    bodies = [json.loads(block.split("data: ", 1)[1]) for block in events]
    ids = [int(block.split("id: ", 1)[1].split("\n")[0]) for block in events]
    assert ids == list(range(1, len(ids) + 1))
    progress = [b["progress"] for b in bodies]
    assert progress == sorted(progress) and len(set(progress)) >= 3, progress
    assert events[-1].split("event: ", 1)[1].startswith("end") and bodies[-1]["status"] == "done"
    assert all(e.split("event: ", 1)[1].startswith("job") for e in events[:-1])


def test_cancel_stops_a_job_and_keeps_what_was_made(jobs_app):
    client = jobs_app.test_client()
    job = client.post("/api/jobs", json={"requests": [{"style": "rock", "duration": 3}] * 6}).get_json()
    while not client.get(f"/api/jobs/{job['id']}").get_json()["tracks"]:
        time.sleep(0.05)
    cancelled = client.delete(f"/api/jobs/{job['id']}")
    assert cancelled.status_code == 202
    final = wait_for(client, job["id"])
    assert final["status"] == "cancelled" and 1 <= len(final["tracks"]) < 6
    assert final["progress"] < 1.0, "a cancelled job shows how far it got"
    assert len(client.get("/api/tracks").get_json()["tracks"]) == len(final["tracks"])
    assert client.delete(f"/api/jobs/{job['id']}").get_json()["status"] == "cancelled", "cancelling twice is fine"


@pytest.mark.parametrize("count, duration, limit_s", [(3, 20, 0.3), (1, 60, 0.05)],
                         ids=["a-later-request", "its-last-request"])
def test_a_job_over_its_time_limit_fails_with_a_reason(make_app, database_url, count, duration, limit_s):
    # the limit may run out in any request, its last one too (which must not end the job as done)
    app = make_app(database_url=database_url, job_time_limit_s=limit_s)
    client = app.test_client()
    job = client.post("/api/jobs", json={"requests": [{"style": "classical", "duration": duration}] * count}).get_json()
    final = wait_for(client, job["id"])
    app.extensions["aimusic_jobs"].stop()
    assert final["status"] == "failed" and "time limit" in final["reason"]
    assert final["errors"] and final["errors"][0]["error"]["code"] == "time_limit"


def test_a_request_costs_two_write_transactions_and_records_its_track_as_it_finishes(make_app, database_url):
    app = make_app(database_url=database_url, job_threads=0, keep_tracks=0)
    service = app.extensions["aimusic"]
    db = service.db
    job = library.jobs.create_job(db, "cd" * 12, owner=None,
                                  requests=[{"given": {"style": "jazz", "duration": 1}, "seed": 4}])
    writes: list[list[str]] = []

    def begin(conn) -> None:
        if conn.get_execution_options().get("aimusic_write"):
            writes.append([])

    def statement(conn, cursor, sql, *_) -> None:
        if conn.get_execution_options().get("aimusic_write") and writes:
            writes[-1].append(" ".join(sql.split()[:3]).lower())

    event.listen(db.engine, "begin", begin)
    event.listen(db.engine, "before_cursor_execute", statement)
    try:
        assert run_item(service, job.id, 0, worker="w") == "done"
    finally:
        event.remove(db.engine, "begin", begin)
        event.remove(db.engine, "before_cursor_execute", statement)
    assert len(writes) == 2, f"the claim and the finish, nothing else: {writes}"
    assert "insert into tracks" in writes[1] and "update job_items set" in writes[1], writes[1]
    final = library.jobs.get_job(db, job.id)
    assert final.status == "done" and final.progress == 1.0
    assert final.track_ids == {"0": job_track_id(job.id, 0)} and library.count_tracks(db) == 1


def test_a_request_taken_over_after_its_runner_died_is_recorded_once(make_app, database_url):
    # Two services on one library, as two processes: the first claims request 0 and "dies".
    app = make_app(database_url=database_url, job_stale_s=1.0, job_threads=0)
    service = app.extensions["aimusic"]
    db = service.db
    job = library.jobs.create_job(db, "ab" * 12, owner=None,
                                  requests=[{"given": {"style": "jazz", "duration": 1}, "seed": 9}] * 2)
    claim = library.jobs.claim_item(db, job.id, 0, worker="dead-runner", stale_s=1.0)
    assert claim is not None
    assert run_item(service, job.id, 0, worker="other") == "skipped", "a live claim is not taken"
    assert run_item(service, job.id, 1, worker="other") == "done"
    first = library.get_track(db, job_track_id(job.id, 1))
    time.sleep(1.2)  # the dead runner's heartbeat is now stale
    assert run_item(service, job.id, 0, worker="other") == "done"
    assert run_item(service, job.id, 0, worker="third") == "skipped", "a finished request is not run again"
    final = library.jobs.get_job(db, job.id)
    assert final.status == "done" and len(final.track_ids) == 2
    assert library.count_tracks(db) == 2
    twin = service.output_dir / library.get_track(db, job_track_id(job.id, 0)).file("wav").filename
    assert twin.read_bytes()[44:] == (service.output_dir / first.file("wav").filename).read_bytes()[44:], (
        "same request and seed: the same samples")


def test_a_key_sees_only_its_own_jobs(make_app, database_url):
    app = make_app(database_url=database_url, auth="keys", daily_quota=3)
    db = app.extensions["aimusic"].db
    keys = {n: {"Authorization": "Bearer " + library.create_key(db, n)[1]} for n in ("alice", "bob")}
    client = app.test_client()
    assert_error(client.post("/api/jobs", json={"style": "jazz"}), 401, "unauthorized")
    job = client.post("/api/jobs", json={"requests": [{"style": "jazz", "duration": 1}] * 2},
                      headers=keys["alice"]).get_json()
    for method, suffix in (("GET", ""), ("DELETE", ""), ("GET", "/events")):
        assert_error(client.open(f"/api/jobs/{job['id']}{suffix}", method=method, headers=keys["bob"]), 404,
                     "not_found")
    assert client.get("/api/jobs", headers=keys["bob"]).get_json()["jobs"] == []
    done = wait_for(client, job["id"], headers=keys["alice"])
    assert done["status"] == "done"
    over = client.post("/api/jobs", json={"requests": [{"style": "jazz", "duration": 1}] * 2}, headers=keys["alice"])
    assert_error(over, 429, "rate_limited")  # 2 made + 2 asked > 3 a day: a batch counts each track
    app.extensions["aimusic_jobs"].stop()


@pytest.mark.parametrize("job_id", ["nope", "0" * 24, "../../etc/passwd", "A" * 24])
def test_unknown_jobs_are_404(jobs_app, job_id):
    client = jobs_app.test_client()
    for method, suffix in (("GET", ""), ("DELETE", ""), ("GET", "/events")):
        assert_error(client.open(f"/api/jobs/{job_id}{suffix}", method=method), 404, "not_found")
