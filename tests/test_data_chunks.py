"""Multi-tune ABC files parsed in chunks give exactly the records of a whole-file parse."""
from __future__ import annotations

from pathlib import Path

import pytest

from aimusic.data.abc_chunks import abc_layout, plan_chunks
from aimusic.data.records import quarters_to_ticks
from aimusic.data.sources import FileTask, abc_tasks, corpus_root, parse_task

# Small real files of the corpus: Essen tunes and O'Neill's (with their file header).
CORPUS_FILES = [("essenFolksong", "teste.abc"), ("oneills1850", "0721-0730.abc")]

HEADER_ABC = """%abc-2.1
L:1/4
O:Test Land

X:1
T:One
M:4/4
K:C
C D E F | G A B c |

X:2
T:Two
M:4/4
K:G
G A B c | d c B A |

X:3
T:Three
M:4/4
K:D
D E F G | A B c d |

X:4
T:Four
M:4/4
K:F
F G A B | c B A G |
"""


def _records(tasks: list[FileTask]) -> list[dict]:
    out = []
    for task in tasks:
        res = parse_task(task)
        assert res["error"] is None and res["dropped"] == []
        out += res["records"]
    return sorted(out, key=lambda r: r["id"])


@pytest.mark.parametrize(("source", "name"), CORPUS_FILES)
def test_chunks_give_the_whole_file_records(source: str, name: str) -> None:
    path = corpus_root() / source / name
    whole = _records([FileTask(str(path), source, "folk")])
    tasks = abc_tasks(path, source, "folk", max_tunes=3)
    assert len(tasks) >= 3 and all(t.count for t in tasks)
    assert sum(t.count for t in tasks) == len(abc_layout(path.read_text(encoding="utf-8")).tunes)
    assert len(whole) >= 6 and all(r["id"].startswith(f"{source}/{name}#") for r in whole)
    assert _records(tasks) == whole


def test_header_fields_apply_to_every_chunk(tmp_path: Path) -> None:
    path = tmp_path / "header.abc"
    path.write_text(HEADER_ABC, encoding="utf-8")
    layout = abc_layout(HEADER_ABC)
    assert plan_chunks(layout, 1) == [(0, 1), (1, 1), (2, 1), (3, 1)]
    tasks = abc_tasks(path, "dir:t", "folk", max_tunes=1)
    chunked = _records(tasks)
    assert chunked == _records([FileTask(str(path), "dir:t", "folk")])
    assert [r["id"] for r in chunked] == [f"dir:t/header.abc#{i}" for i in range(4)]
    quarter = quarters_to_ticks(1.0)
    for rec in chunked:                      # L:1/4 from the file header: every note is a quarter
        assert {n[2] for n in rec["notes"]} == {quarter}, rec["id"]


def test_a_tune_inheriting_state_stays_with_the_tune_before() -> None:
    # Tune 1 sets L:1/16; tunes 2 and 4 set none and keep it in the whole file, so no cut before them.
    text = HEADER_ABC.replace("M:4/4\nK:C", "M:4/4\nL:1/16\nK:C").replace("M:4/4\nK:D", "M:4/4\nL:1/4\nK:D")
    layout = abc_layout(text)
    assert [t.clean_start for t in layout.tunes] == [False, False, True, False]
    assert plan_chunks(layout, 1) == [(0, 2), (2, 2)]
