"""Benchmark the track library on SQLite and PostgreSQL; writes bench/LIBRARY.md.

Run from the project root::

    python bench/bench_library.py              # 10,000 tracks, medians of 50 queries
    python bench/bench_library.py --tracks 2000 --runs 20

Measures, on each database: listing latency with the library full (first page, a page deep
in the cursor, a style filter, one track by id), and what recording a track adds to a
generation (the insert of a track and its file). PostgreSQL is a real server started for the
run (Debian's ``postgresql`` package), as in the tests. Medians, with the 10th-90th percentile.
"""
from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
LOAD_AT_START = os.getloadavg()[0]  # other work on the machine slows every figure alike
sys.path.insert(0, str(ROOT))

from aimusic import library  # noqa: E402
from aimusic.styles import STYLE_NAMES  # noqa: E402
from tests.servers import postgres_server  # noqa: E402


def track(i: int) -> library.TrackInfo:
    """A realistic record: the request, a plan with sections and chords, timings."""
    style = STYLE_NAMES[i % len(STYLE_NAMES)]
    track_id = f"{i:012x}"
    sections = [{"label": label, "kind": label, "start_bar": 4 * k, "bars": 4, "start_beat": 16.0 * k,
                 "start_s": 8.0 * k, "energy": 0.7} for k, label in enumerate(["intro", "A", "B", "A", "ending"])]
    return library.TrackInfo(
        id=track_id, owner_id=None, created_at=library.utc_now() - timedelta(seconds=10_000 - i), style=style,
        duration_s=30.0, tempo=120, key="F major", time_signature="4/4", bars=15, seed=i, temperature=1.0,
        sample_rate=44100, channels=2, format="wav", model_name="melody-lstm-v1", model_hash="ab" * 32,
        service_version="1.0.0", generation_ms=300, request={"style": style, "duration": 30, "seed": i},
        plan={"key": "F major", "tempo": 120, "time_signature": "4/4", "bars": 15, "sections": sections,
              "chords": ["I", "vi", "ii", "V"] * 4, "instruments": {"melody": "sax"}, "groove": None},
        timings={"plan": 0.5, "compose": 12.0, "render_mix": 280.0},
        files=(library.FileInfo("wav", f"{style}_{track_id}.wav", "audio/wav", 5_292_044),),
    )


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """Median and 10th/90th percentile of ``fn``'s time in ms."""
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    samples.sort()
    return statistics.median(samples), samples[len(samples) // 10], samples[(9 * len(samples)) // 10]


def measure(url: str, n_tracks: int, runs: int) -> dict[str, tuple[float, float, float]]:
    """Fill a fresh library with ``n_tracks`` and time the queries the API makes."""
    db = library.open_library(url)
    t0 = time.perf_counter()
    for i in range(n_tracks):
        library.record_track(db, track(i))
    fill_s = time.perf_counter() - t0
    page = library.tracks_for(db, None, limit=20)
    deep = page
    for _ in range(n_tracks // 40):  # halfway down the library
        deep = library.tracks_for(db, None, limit=20, cursor=deep.next_cursor)
    results = {
        "list first page (20)": timed(lambda: library.tracks_for(db, None, limit=20), runs),
        "list page halfway down (20, cursor)": timed(
            lambda: library.tracks_for(db, None, limit=20, cursor=deep.next_cursor), runs),
        "list one style (20)": timed(lambda: library.tracks_for(db, None, style="jazz", limit=20), runs),
        "list 100": timed(lambda: library.tracks_for(db, None, limit=100), runs),
        "get one track": timed(lambda: library.get_track(db, f"{n_tracks // 2:012x}"), runs),
        "download lookup (file name)": timed(
            lambda: library.track_for_file(db, f"{STYLE_NAMES[0]}_{0:012x}.wav"), runs),
    }
    counter = [n_tracks]

    def record() -> None:
        info = track(counter[0])
        counter[0] += 1
        library.record_track(db, info)

    results["record a track (insert track + file)"] = timed(record, runs)
    size = library.count_tracks(db)

    def record_and_retain() -> None:  # steady state at KEEP_TRACKS = library size: one in, the oldest out
        record()
        library.prune_tracks(db, size)

    results["record + retention (one in, oldest out)"] = timed(record_and_retain, runs)
    results["fill (s per 1000 tracks)"] = (fill_s / n_tracks * 1000, 0.0, 0.0)
    db.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    """Run both databases and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "LIBRARY.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = measure(f"sqlite:///{tmp}/library.sqlite3", args.tracks, args.runs)
    with postgres_server() as server:
        name = "bench_" + secrets.token_hex(4)
        server.admin(f"CREATE DATABASE {name}")
        postgres = measure(server.url(name), args.tracks, args.runs)
    lines = [
        "# Track library benchmark",
        "",
        f"`python bench/bench_library.py --tracks {args.tracks} --runs {args.runs}`: a library of "
        f"{args.tracks:,} tracks, each query timed {args.runs} times in process (median, 10th-90th percentile, ms). "
        "SQLite: WAL file on local disk; PostgreSQL: a local server (fsync off, as in the tests). "
        f"Load average at the start: {LOAD_AT_START:.1f} on {os.cpu_count()} cores.",
        "",
        "| operation | SQLite | PostgreSQL |",
        "|---|---|---|",
    ]
    for name, (med, lo, hi) in sqlite.items():
        p_med, p_lo, p_hi = postgres[name]
        if name.startswith("fill"):
            lines.append(f"| {name} | {med:.2f} s | {p_med:.2f} s |")
        else:
            lines.append(f"| {name} | {med:.2f} ({lo:.2f}-{hi:.2f}) | {p_med:.2f} ({p_lo:.2f}-{p_hi:.2f}) |")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
