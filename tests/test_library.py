"""The library on a real database, the same tests on SQLite and on PostgreSQL."""
from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from aimusic import library
from aimusic.library.models import ApiKey, Base

from .conftest import PROJECT_ROOT


def make_info(track_id: str, *, owner: int | None = None, style: str = "jazz", minutes_ago: int = 0,
              extra_files: tuple[library.FileInfo, ...] = ()) -> library.TrackInfo:
    """A track record as the service would write it."""
    return library.TrackInfo(
        id=track_id, owner_id=owner, created_at=library.utc_now() - timedelta(minutes=minutes_ago), style=style,
        duration_s=3.0, tempo=120, key="F major", time_signature="4/4", bars=2, seed=7, temperature=1.0,
        sample_rate=44100, channels=2, format="wav", model_name="m", model_hash="ab" * 32, service_version="1",
        generation_ms=12, request={"style": style, "duration": 3}, plan={"sections": []}, timings={"plan": 0.1},
        files=(library.FileInfo("wav", f"{style}_{track_id}.wav", "audio/wav", 100), *extra_files),
    )


@pytest.fixture
def db(database_url):
    database = library.open_library(database_url)
    yield database
    database.dispose()


def test_migrations_create_exactly_the_models(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    head = db.head_revision()
    assert db.current_revision() == head and head.startswith("0002")
    assert db.upgrade() == (head, head), "a second upgrade changes nothing"


def test_the_head_read_from_the_migration_files_is_alembics():
    from alembic.script import ScriptDirectory

    from aimusic.library.database import alembic_config, head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_the_head_of_migration_files_follows_their_down_revisions(tmp_path):
    from aimusic.library.database import head_revision

    for name, revision, down in (("a.py", "r1", None), ("b.py", "r3", "'r2'"), ("c.py", "r2", "('r1',)")):
        (tmp_path / name).write_text(f'"""Doc."""\nrevision = {revision!r}\ndown_revision = {down}\n')
    assert head_revision(tmp_path) == "r3"
    (tmp_path / "d.py").write_text("revision: str = 'r4'\ndown_revision = 'r2'\n")    # a branch: two heads
    head_revision.cache_clear()     # read once per process: the shipped files do not change under it
    with pytest.raises(library.DatabaseError, match="2 heads"):
        head_revision(tmp_path)


def _alembic_current(db: library.Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _alembic_downgrade(db: library.Database, revision: str) -> None:
    from alembic import command

    from aimusic.library.database import alembic_config

    with db.engine.execution_options(aimusic_write=True).begin() as conn:
        command.downgrade(alembic_config(conn), revision)


def test_a_fresh_or_older_database_is_migrated_to_the_head(database_url):
    db = library.Database(database_url)
    try:
        head = db.head_revision()
        assert db.current_revision() is None and _alembic_current(db) is None
        assert db.upgrade() == (None, head)
        assert db.current_revision() == _alembic_current(db) == head
        _alembic_downgrade(db, "0001_library")
        assert db.current_revision() == _alembic_current(db) == "0001_library"
        assert db.upgrade() == ("0001_library", head)
        assert db.current_revision() == _alembic_current(db) == head
        library.jobs.create_job(db, "a" * 32, owner=None, requests=[{"style": "jazz"}])   # 0002's job_items
        assert library.jobs.get_job(db, "a" * 32).requests == [{"style": "jazz"}]
    finally:
        db.dispose()


def test_a_start_at_the_head_does_not_import_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'library.sqlite3'}"
    library.open_library(url).dispose()     # migrated here, once
    code = ("import sys; from aimusic import library; db = library.open_library(sys.argv[1]); "
            "assert db.current_revision() == db.head_revision(); print(sorted(m for m in sys.modules if 'alembic' in m))")
    out = subprocess.run([sys.executable, "-c", code, url], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_track_is_kept_with_everything_it_was_made_with(db):
    recorded = library.record_track(db, make_info("0123456789ab"))
    found = library.get_track(db, "0123456789ab")
    assert found == recorded
    assert found.created_at.tzinfo is not None
    assert found.file("wav").filename == "jazz_0123456789ab.wav"
    assert library.track_for_file(db, "jazz_0123456789ab.wav") == (found, found.file("wav"))
    assert library.get_track(db, "ffffffffffff") is None


def test_listing_is_newest_first_filtered_and_paged_by_a_stable_cursor(db):
    ids = [f"{i:012x}" for i in range(7)]
    for i, track_id in enumerate(ids):
        library.record_track(db, make_info(track_id, style="rock" if i % 2 else "jazz"))
    first = library.tracks_for(db, None, limit=3)
    assert [t.id for t in first.tracks] == ids[::-1][:3]
    # Tracks added between pages neither shift nor repeat what follows.
    for track_id in ("aaaaaaaaaaa1", "aaaaaaaaaaa2"):
        library.record_track(db, make_info(track_id))
    second = library.tracks_for(db, None, limit=3, cursor=first.next_cursor)
    third = library.tracks_for(db, None, limit=3, cursor=second.next_cursor)
    assert [t.id for t in second.tracks + third.tracks] == ids[::-1][3:]
    assert third.next_cursor is None
    rock = library.tracks_for(db, None, style="rock", limit=100)
    assert [t.id for t in rock.tracks] == [ids[5], ids[3], ids[1]] and rock.next_cursor is None
    for bad in ("", "abc", "eyJiZWZvcmUiOiAieCJ9", "e30", "eyJiZWZvcmUiOiAtMX0"):
        with pytest.raises(library.BadCursor):
            library.tracks_for(db, None, cursor=bad)


def test_owners_see_only_their_own_tracks(db):
    alice, _ = library.create_key(db, "alice")
    bob, _ = library.create_key(db, "bob")
    library.record_track(db, make_info("00000000000a", owner=alice.id))
    library.record_track(db, make_info("00000000000b", owner=bob.id))
    assert [t.id for t in library.tracks_for(db, alice.id).tracks] == ["00000000000a"]
    assert library.get_track(db, "00000000000b", owner=alice.id) is None
    assert library.track_for_file(db, "jazz_00000000000b.wav", owner=alice.id) is None
    assert library.delete_track(db, "00000000000b", owner=alice.id) is None
    assert library.get_track(db, "00000000000b", owner=bob.id) is not None
    assert len(library.tracks_for(db, None).tracks) == 2, "with keys off every track is visible"


def test_delete_and_retention_remove_rows_and_name_their_files(db):
    extra = (library.FileInfo("flac", "jazz_000000000000.flac", "audio/flac", 50),)
    for i in range(5):
        library.record_track(db, make_info(f"{i:012x}", extra_files=extra if i == 0 else ()))
    assert library.prune_tracks(db, 0) == []
    assert sorted(library.prune_tracks(db, 3)) == ["jazz_000000000000.flac", "jazz_000000000000.wav",
                                                    "jazz_000000000001.wav"]
    assert [t.id for t in library.tracks_for(db, None).tracks] == ["000000000004", "000000000003", "000000000002"]
    assert library.delete_track(db, "000000000003") == ["jazz_000000000003.wav"]
    assert library.delete_track(db, "000000000003") is None
    assert set(library.all_file_names(db)) == {"jazz_000000000004.wav", "jazz_000000000002.wav"}
    assert library.count_tracks(db) == 2


def test_keys_are_stored_hashed_and_checked(db):
    info, key = library.create_key(db, "alice")
    assert key.startswith("am_") and len(key) > 40
    with db.read() as session:
        stored = session.scalar(select(ApiKey.key_hash).where(ApiKey.name == "alice"))
    assert stored == library.keys.hash_key(key) and key not in stored
    assert library.owner_of(db, key) == info.id
    assert library.list_keys(db)[0].last_used_at is not None
    for wrong in ("", key[:-1], key + "x", "am_" + "A" * 43, "x" * 500):
        assert library.owner_of(db, wrong) is None
    with pytest.raises(library.KeyNameError, match="already exists"):
        library.create_key(db, "alice")
    with pytest.raises(library.KeyNameError):
        library.create_key(db, "../etc")
    library.revoke_key(db, "alice")
    assert library.owner_of(db, key) is None
    with pytest.raises(library.KeyNameError, match="no key"):
        library.revoke_key(db, "carol")


def test_rate_window_slides_and_quota_counts_tracks(db):
    t = 1_000_000.0
    hit = lambda at, **kw: library.check_and_count(db, "key:1", per_minute=3, per_day=0, now=at, **kw)  # noqa: E731
    assert [hit(t), hit(t + 1), hit(t + 2)] == [None, None, None]
    refused = hit(t + 30)
    assert refused.reason == "rate" and refused.retry_after == 30 and refused.limit == 3
    assert library.check_and_count(db, "key:2", per_minute=3, per_day=0, now=t + 30) is None, "per subject"
    assert hit(t + 60.5) is None, "the first hit has left the window"
    assert hit(t + 61.5) is None and hit(t + 61.6).reason == "rate"
    quota = lambda cost: library.check_and_count(db, "ip:1", per_minute=0, per_day=5, cost=cost, now=t)  # noqa: E731
    assert quota(3) is None
    over = quota(3)
    assert over.reason == "quota" and 0 < over.retry_after <= 86400
    assert quota(2) is None and library.usage_today(db, "ip:1", now=t) == 5
    assert library.check_and_count(db, "ip:1", per_minute=0, per_day=5, now=t + 86400) is None, "a new day"


def test_rate_limit_is_exact_under_concurrent_checks(db):
    admitted: list[bool] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(5):
            ok = library.check_and_count(db, "key:9", per_minute=10, per_day=0) is None
            with lock:
                admitted.append(ok)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 40 and sum(admitted) == 10


def test_runners_finishing_a_jobs_last_items_at_once_end_it_exactly_once(db):
    # Each job's two items finish in two threads released together, tracks recorded with them:
    # whichever commits second sees the other's item done, so every job ends, and ends done.
    jobs = [f"{n:024x}" for n in range(12)]
    for job_id in jobs:
        library.jobs.create_job(db, job_id, owner=None, requests=[{"given": {"style": "jazz"}, "seed": 1}] * 2)
        for index in range(2):
            assert library.jobs.claim_item(db, job_id, index, worker=f"w{index}", stale_s=30) is not None
    gate = threading.Barrier(2)

    def finish(index: int) -> None:
        for n, job_id in enumerate(jobs):
            gate.wait()
            library.jobs.finish_item(db, job_id, index, worker=f"w{index}", status="done",
                                     track=make_info(f"{n:06x}{index:06x}"))

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for job_id in jobs:
        job = library.jobs.get_job(db, job_id)
        assert job.status == "done" and job.progress == 1.0 and len(job.track_ids) == 2, job
    assert library.count_tracks(db) == 2 * len(jobs)
