"""Where melodies come from: the music21 corpus collections, POP909, and user folders."""
from __future__ import annotations

import gzip
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import music21

from .abc_chunks import abc_layout, parse_abc_chunk, plan_chunks
from .music21_scores import SCORE_SUFFIXES, load_scores, records_from_score
from .records import DATASET_VERSION

FOLK_COLLECTIONS = ("essenFolksong", "oneills1850", "airdsAirs", "ryansMammoth", "miscFolk")
ALL_SOURCES = FOLK_COLLECTIONS + ("bach", "pop909")
# Licence of each source, as the model card and the summary report it.
LICENCES = {
    "essenFolksong": "music21 corpus; Essen Folksong Collection licensed for non-commercial use only",
    "oneills1850": "music21 corpus; O'Neill's Music of Ireland (1850), public domain tunes",
    "airdsAirs": "music21 corpus; Aird's Airs (18th c.), public domain tunes",
    "ryansMammoth": "music21 corpus; Ryan's Mammoth Collection (1883), public domain tunes",
    "miscFolk": "music21 corpus; miscellaneous traditional tunes",
    "bach": "music21 corpus; J.S. Bach chorales, public domain",
    "pop909": "POP909 (MIT licence for the dataset); the songs are commercial, copyrighted melodies",
}
STYLE_OF_SOURCE = {**{c: "folk" for c in FOLK_COLLECTIONS}, "bach": "classical", "pop909": "pop"}
# Tunes per task at most (about 3 s of parsing), so the big Essen files are spread over the workers.
CHUNK_TUNES = 50
# Parse cost of one non-ABC score (a four-part chorale) in folk tunes, for scheduling and progress
# (measured: 0.38 s of CPU per chorale, 0.08 s per Essen tune).
SCORE_FILE_COST = 4


@dataclass(frozen=True, slots=True)
class FileTask:
    """One score file, or a run of tunes of an ABC file, to parse, with its source and style tag.

    ``count`` tunes from tune ``first`` (counted in the whole file) when ``count`` is set,
    else the whole file; ``tunes`` is how many scores the task holds, as far as known.
    """

    path: str
    source: str
    style: str
    min_parts: int = 1     # chorales: only true four-part settings
    first: int = 0
    count: int = 0
    tunes: int = 1

    @property
    def cost(self) -> int:
        """Estimated parse time in folk tunes: the longest tasks are started first."""
        return self.tunes if self.path.lower().endswith(".abc") else SCORE_FILE_COST * self.tunes


def corpus_root() -> Path:
    """Folder of the corpus bundled with the installed music21 package."""
    return Path(music21.__file__).parent / "corpus"


def abc_tasks(path: Path, source: str, style: str, max_tunes: int = CHUNK_TUNES) -> list[FileTask]:
    """Tasks for one ABC file: runs of at most about ``max_tunes`` tunes (see :mod:`.abc_chunks`).

    A file of few tunes, or one that cannot be cut exactly, is a single whole-file task,
    parsed as before.
    """
    try:
        layout = abc_layout(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return [FileTask(str(path), source, style)]      # the parse reports the error
    chunks = plan_chunks(layout, max_tunes)
    if len(chunks) == 1:
        return [FileTask(str(path), source, style, tunes=max(1, len(layout.tunes)))]
    return [FileTask(str(path), source, style, first=first, count=count, tunes=count) for first, count in chunks]


def music21_tasks(sources: list[str]) -> list[FileTask]:
    """Parse tasks for the selected music21 collections (folk tunes, Bach chorales)."""
    root = corpus_root()
    tasks = []
    for name in sources:
        if name in FOLK_COLLECTIONS:
            for f in sorted((root / name).rglob("*.abc")):
                tasks += abc_tasks(f, name, STYLE_OF_SOURCE[name])
        elif name == "bach":
            files = sorted(f for f in (root / "bach").rglob("*") if f.suffix in (".mxl", ".xml", ".krn"))
            tasks += [FileTask(str(f), "bach", STYLE_OF_SOURCE["bach"], min_parts=4) for f in files]
    return tasks


def folder_tasks(folder: Path, style: str) -> list[FileTask]:
    """Parse tasks for every score file (MIDI, MusicXML, ABC, Humdrum) under ``folder``."""
    folder = Path(folder)
    files = sorted(f for f in folder.rglob("*") if f.suffix.lower() in SCORE_SUFFIXES)
    tasks = []
    for f in files:
        if f.suffix.lower() == ".abc":
            tasks += abc_tasks(f, f"dir:{folder.name}", style)
        else:
            tasks.append(FileTask(str(f), f"dir:{folder.name}", style))
    return tasks


def _cache_path(cache_dir: Path, task: FileTask) -> Path:
    st = Path(task.path).stat()
    key = f"{DATASET_VERSION}|{Path(task.path).resolve()}|{st.st_size}|{st.st_mtime_ns}|{task}"
    return cache_dir / f"{hashlib.sha1(key.encode()).hexdigest()}.json.gz"


def _task_scores(task: FileTask) -> tuple[list[tuple[int, object]], list[int]]:
    """``(index in the file, score)`` pairs of a task and the indices music21 drops."""
    if not task.count:
        return list(enumerate(load_scores(Path(task.path)))), []
    layout = abc_layout(Path(task.path).read_text(encoding="utf-8"))
    pairs = list(enumerate(parse_abc_chunk(layout, task.first, task.count), start=task.first))
    return [(i, s) for i, s in pairs if s is not None], [i for i, s in pairs if s is None]


def parse_task(task: FileTask, cache_dir: str | None = None) -> dict:
    """Parse one task into record dicts; never raises (failures are counted by the caller).

    Results are cached per task (keyed by path, size, mtime, dataset version and the
    task, so its run of tunes) so a rerun only parses what changed. A record's id numbers
    the tune in the whole file; a chunk lists the tunes music21 drops in ``dropped`` for
    the build to renumber. ``seconds`` and ``cpu_seconds`` are the parse's wall and CPU time (``cached`` is set when
    read from the cache).
    """
    cache = _cache_path(Path(cache_dir), task) if cache_dir else None
    if cache is not None and cache.exists():
        with gzip.open(cache, "rt", encoding="utf-8") as fh:
            return {**json.load(fh), "cached": True}
    t0, c0 = time.perf_counter(), time.process_time()
    result = {"path": task.path, "source": task.source, "records": [], "scores": 0, "skipped": 0, "error": None,
              "first": task.first, "dropped": [], "seconds": 0.0, "cpu_seconds": 0.0}
    try:
        scores, result["dropped"] = _task_scores(task)
        result["scores"] = len(scores)
        rel = Path(task.path).name
        for i, score in scores:
            if len(score.parts) < task.min_parts:
                result["skipped"] += 1
                continue
            try:
                rec = records_from_score(score, piece_id=f"{task.source}/{rel}#{i}", source=task.source, style=task.style)
            except Exception as exc:  # noqa: BLE001 - a bad tune must not stop the corpus
                rec, result["error"] = None, f"{type(exc).__name__}: {exc}"
            if rec is None:
                result["skipped"] += 1
            else:
                result["records"].append(rec.to_json())
    except Exception as exc:  # noqa: BLE001 - an unparsable file is counted, not fatal
        result["error"] = f"{type(exc).__name__}: {exc}"
    result["seconds"] = round(time.perf_counter() - t0, 3)
    result["cpu_seconds"] = round(time.process_time() - c0, 3)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            json.dump(result, fh)
        tmp.replace(cache)
    return result
