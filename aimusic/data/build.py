"""Build the melody dataset: parse every source in parallel, split by piece, write JSON lines."""
from __future__ import annotations

import bisect
import gzip
import hashlib
import json
import re
from collections import Counter, defaultdict
from functools import partial
from multiprocessing import Pool
from pathlib import Path

from tqdm import tqdm

from .pop909 import pop909_records
from .records import DATASET_VERSION, MelodyRecord
from .sources import LICENCES, FileTask, folder_tasks, music21_tasks, parse_task

DATASET_FILE = "melodies.jsonl.gz"
SUMMARY_FILE = "summary.json"


def split_of(record: MelodyRecord, heldout: str | None) -> str:
    """Deterministic split by piece: train 90 %, validation 5 %, test 5 %, or ``heldout``.

    Tunes sharing a source and title (variants of one song) always land in the same split.
    """
    if heldout and record.source == heldout:
        return "heldout"
    title = re.sub(r"\W+", " ", record.title.lower()).strip()
    piece = f"{record.source}|{title}" if title else record.id
    h = int(hashlib.sha1(piece.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "train" if h < 0.90 else "validation" if h < 0.95 else "test"


def _renumber_dropped(records: list[MelodyRecord], dropped: list[int]) -> None:
    """Number a file's tunes as music21 does for the whole file: dropped tunes leave no gap."""
    gone = sorted(dropped)
    for rec in records:
        prefix, index = rec.id.rsplit("#", 1)
        rec.id = f"{prefix}#{int(index) - bisect.bisect_left(gone, int(index))}"


def parse_all(tasks: list[FileTask], *, cache_dir: Path | None, workers: int = 2) -> tuple[list[MelodyRecord], dict]:
    """Parse ``tasks`` with a process pool, returning records and per-source counts.

    The costliest tasks (most tunes) start first so the workers finish together; the
    progress bar counts tunes (a non-ABC score as ``SCORE_FILE_COST`` of them). The result
    does not depend on the order: the caller sorts the records by id. ``info["timing"]``
    lists ``(cpu seconds, wall seconds, source, task label)`` of every task parsed (not read
    from the cache).
    """
    stats: dict[str, Counter] = defaultdict(Counter)
    records: list[MelodyRecord] = []
    errors: list[str] = []
    failed: set[str] = set()
    timing: list[tuple[float, float, str, str]] = []
    by_path: dict[str, list[MelodyRecord]] = defaultdict(list)
    dropped: dict[str, list[int]] = defaultdict(list)
    work = partial(parse_task, cache_dir=str(cache_dir) if cache_dir else None)
    ordered = sorted(tasks, key=lambda t: -t.cost)
    costs = {(t.path, t.first): t.cost for t in tasks}
    with Pool(workers) as pool, tqdm(total=sum(costs.values()), desc="parsing", unit="tune") as bar:
        for res in pool.imap_unordered(work, ordered):
            first = res.get("first", 0)
            bar.update(costs.get((res["path"], first), 1))
            s = stats[res["source"]]
            s["files"] += 1 if first == 0 else 0
            s["scores"] += res["scores"]
            s["skipped"] += res["skipped"]
            if res["error"] and res["path"] not in failed:      # a file counts once, however many chunks fail
                failed.add(res["path"])
                s["errors"] += 1
                errors.append(f"{res['path']}: {res['error']}")
            if "cpu_seconds" in res and not res.get("cached"):
                label = f"{Path(res['path']).name}@{first}"
                timing.append((res["cpu_seconds"], res["seconds"], res["source"], label))
            recs = [MelodyRecord.from_json(r) for r in res["records"]]
            by_path[res["path"]] += recs
            dropped[res["path"]] += res.get("dropped", [])
            records += recs
    for path, gone in dropped.items():
        if gone:
            _renumber_dropped(by_path[path], gone)
    return records, {"stats": stats, "errors": errors, "timing": timing}


def build_dataset(out_dir: Path, *, sources: list[str], shared_datasets: Path | None = None,
                  extra_dirs: list[Path] = (), extra_style: str = "folk", cache_dir: Path | None = None,
                  heldout: str | None = "airdsAirs", workers: int = 2) -> dict:
    """Build ``out_dir/melodies.jsonl.gz`` and ``out_dir/summary.json``; return the summary.

    Records are sorted by id and split deterministically, so the same inputs always give
    the same file. The summary counts melodies, notes and skipped or failed files per
    source and reports how often the melody-only chord analysis agrees with real chords;
    the returned one also has ``timing``, the parse time of each task (see :func:`parse_all`).
    """
    tasks = music21_tasks([s for s in sources if s != "pop909"])
    for folder in extra_dirs:
        tasks += folder_tasks(Path(folder), extra_style)
    records, info = parse_all(tasks, cache_dir=cache_dir, workers=workers)
    stats = info["stats"]
    if "pop909" in sources and shared_datasets is not None:
        pop = pop909_records(Path(shared_datasets))
        records += pop
        stats["pop909"]["files"] += 1 if pop else 0
        stats["pop909"]["scores"] += len(pop)
    records.sort(key=lambda r: r.id)
    per_source: dict[str, dict] = {}
    for rec in records:
        rec.split = split_of(rec, heldout)
        s = per_source.setdefault(rec.source, {"melodies": 0, "notes": 0, "style": rec.style,
                                               "splits": Counter(), "chord_source": Counter(),
                                               "agree": [0, 0]})
        s["melodies"] += 1
        s["notes"] += len(rec.notes)
        s["splits"][rec.split] += 1
        s["chord_source"][rec.chord_source] += 1
        s["agree"][0] += rec.agree[0]
        s["agree"][1] += rec.agree[1]
    for name, s in per_source.items():
        s.update({k: v for k, v in stats.get(name, {}).items()})
        s["licence"] = LICENCES.get(name, "user files: check their licence")
        s["analysis_agreement"] = round(s["agree"][0] / s["agree"][1], 4) if s["agree"][1] else None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / (DATASET_FILE + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"version": DATASET_VERSION, "kind": "aimusic-melodies"}) + "\n")
        for rec in records:
            fh.write(json.dumps(rec.to_json(), separators=(",", ":"), ensure_ascii=False) + "\n")
    tmp.replace(out_dir / DATASET_FILE)
    summary = {"version": DATASET_VERSION, "melodies": len(records),
               "splits": dict(Counter(r.split for r in records)), "heldout": heldout,
               "sources": per_source, "errors": info["errors"][:50], "error_count": len(info["errors"])}
    (out_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=1, default=dict))
    summary["timing"] = info["timing"]          # returned only: the summary file stays reproducible
    return summary


def load_dataset(path: Path) -> list[MelodyRecord]:
    """Read a dataset file written by :func:`build_dataset` (checks its version)."""
    path = Path(path)
    if path.is_dir():
        path = path / DATASET_FILE
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        header = json.loads(fh.readline())
        if header.get("version") != DATASET_VERSION:
            raise ValueError(f"{path}: dataset version {header.get('version')}, expected {DATASET_VERSION}")
        return [MelodyRecord.from_json(json.loads(line)) for line in fh if line.strip()]
