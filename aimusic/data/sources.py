"""Where melodies come from: the music21 corpus collections, POP909, and user folders."""
from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import music21

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


@dataclass(frozen=True, slots=True)
class FileTask:
    """One score file to parse, with the source and style tag its melodies get."""

    path: str
    source: str
    style: str
    min_parts: int = 1     # chorales: only true four-part settings


def corpus_root() -> Path:
    """Folder of the corpus bundled with the installed music21 package."""
    return Path(music21.__file__).parent / "corpus"


def music21_tasks(sources: list[str]) -> list[FileTask]:
    """Parse tasks for the selected music21 collections (folk tunes, Bach chorales)."""
    root = corpus_root()
    tasks = []
    for name in sources:
        if name in FOLK_COLLECTIONS:
            files = sorted((root / name).rglob("*.abc"))
            tasks += [FileTask(str(f), name, STYLE_OF_SOURCE[name]) for f in files]
        elif name == "bach":
            files = sorted(f for f in (root / "bach").rglob("*") if f.suffix in (".mxl", ".xml", ".krn"))
            tasks += [FileTask(str(f), "bach", STYLE_OF_SOURCE["bach"], min_parts=4) for f in files]
    return tasks


def folder_tasks(folder: Path, style: str) -> list[FileTask]:
    """Parse tasks for every score file (MIDI, MusicXML, ABC, Humdrum) under ``folder``."""
    folder = Path(folder)
    files = sorted(f for f in folder.rglob("*") if f.suffix.lower() in SCORE_SUFFIXES)
    return [FileTask(str(f), f"dir:{folder.name}", style) for f in files]


def _cache_path(cache_dir: Path, task: FileTask) -> Path:
    st = Path(task.path).stat()
    key = f"{DATASET_VERSION}|{Path(task.path).resolve()}|{st.st_size}|{st.st_mtime_ns}|{task}"
    return cache_dir / f"{hashlib.sha1(key.encode()).hexdigest()}.json.gz"


def parse_task(task: FileTask, cache_dir: str | None = None) -> dict:
    """Parse one file into record dicts; never raises (failures are counted by the caller).

    Results are cached per file (keyed by path, size, mtime and dataset version) so a
    rerun only parses what changed.
    """
    cache = _cache_path(Path(cache_dir), task) if cache_dir else None
    if cache is not None and cache.exists():
        with gzip.open(cache, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    result = {"path": task.path, "source": task.source, "records": [], "scores": 0, "skipped": 0, "error": None}
    try:
        scores = load_scores(Path(task.path))
        result["scores"] = len(scores)
        rel = Path(task.path).name
        for i, score in enumerate(scores):
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
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            json.dump(result, fh)
        tmp.replace(cache)
    return result
