"""The shipped checkpoint: safe to load, documented, faithful at inference, better than Markov."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from aimusic.data.records import MelodyRecord
from aimusic.data.sources import FileTask, corpus_root, folder_tasks, parse_task
from aimusic.model.checkpoint import load_checkpoint, model_from_checkpoint
from aimusic.model.evaluate import compare_bits, fit_markov
from aimusic.model.events import BOS_DUR, BOS_PITCH, encode_record
from aimusic.model.network import count_parameters
from aimusic.model.sample import NumpyMelodyStepper

ROOT = Path(__file__).resolve().parent.parent
MODEL_PATH = ROOT / "models" / "melody.pt"
# The default model, and the one trained only on public-domain sources (no Essen, no POP909).
SHIPPED = {"default": MODEL_PATH, "public-domain": ROOT / "models" / "melody-public-domain.pt"}
CARD_PATH = ROOT / "models" / "MODEL_CARD.md"
FIXTURES = Path(__file__).parent / "fixtures" / "scores"


def _records(task: FileTask) -> list[MelodyRecord]:
    return [MelodyRecord.from_json(r) for r in parse_task(task)["records"]]


@pytest.mark.parametrize("which", sorted(SHIPPED))
def test_checkpoint_loads_safely_and_matches_the_card(which: str) -> None:
    path = SHIPPED[which]
    assert path.stat().st_size < 20 * 1024 * 1024
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = model_from_checkpoint(load_checkpoint(path))
    n = count_parameters(model)
    assert blob["parameters"] == n <= 5_000_000
    documented = re.search(r"Parameters:\s*\**\s*([\d,]+)", CARD_PATH.read_text())
    assert documented is not None and int(documented.group(1).replace(",", "")) == n
    assert {"valid_bits_per_note", "epoch", "test_bits_per_note", "heldout_bits_per_note"} <= set(blob["metrics"])
    assert set(blob["vocab"]["styles"]) == {"folk", "classical", "pop"}
    trained = set(blob["metrics"]["train_styles"])
    assert trained == ({"folk", "classical", "pop"} if which == "default" else {"folk", "classical"})
    assert set(blob["sampling"]["rest_offset"]) == trained, "every trained tag has a calibrated rest offset"
    assert path.name in CARD_PATH.read_text()


@pytest.mark.parametrize("which", sorted(SHIPPED))
def test_numpy_stepper_matches_the_network(which: str) -> None:
    blob = load_checkpoint(SHIPPED[which])
    model = model_from_checkpoint(blob)
    stepper = NumpyMelodyStepper(blob["state_dict"], blob["model_args"]["layers"], blob["model_args"]["hidden"])
    rec = next(r for t in folder_tasks(FIXTURES, "folk") for r in _records(t))
    enc = encode_record(rec)
    with torch.no_grad():
        pl, dl = model(torch.tensor(enc.pitch)[None], torch.tensor(enc.dur)[None], torch.tensor(enc.cond)[None])
    state, prev = stepper.initial_state(), (BOS_PITCH, BOS_DUR)
    for t in range(len(enc.pitch)):
        logits, state = stepper.step(*prev, tuple(int(c) for c in enc.cond[t]), state)
        np.testing.assert_allclose(logits, pl[0, t].numpy(), atol=1e-3)
        np.testing.assert_allclose(stepper.duration_logits(state, int(enc.pitch[t])), dl[0, t].numpy(), atol=1e-3)
        prev = (int(enc.pitch[t]), int(enc.dur[t]))


@pytest.fixture(scope="module")
def unseen_tunes(tmp_path_factory: pytest.TempPathFactory) -> list[MelodyRecord]:
    """The first 25 tunes of Aird's Airs (a collection kept out of training) and our fixtures."""
    text = (corpus_root() / "airdsAirs" / "book1.abc").read_text(encoding="utf-8", errors="replace")
    tunes = text.split("\nX:")
    folder = tmp_path_factory.mktemp("unseen")
    (folder / "airds_first.abc").write_text(tunes[0] + "".join("\nX:" + t for t in tunes[1:26]), encoding="utf-8")
    records = []
    for task in folder_tasks(folder, "folk") + folder_tasks(FIXTURES, "folk"):
        records += _records(task)
    return records


@pytest.mark.parametrize("which", sorted(SHIPPED))
def test_model_beats_the_markov_baseline_on_unseen_tunes(unseen_tunes: list[MelodyRecord], which: str) -> None:
    # The baseline is fitted on O'Neill's tunes, part of the model's own training data.
    train = _records(FileTask(str(corpus_root() / "oneills1850" / "0001-0050.abc"), "oneills1850", "folk"))
    train += _records(FileTask(str(corpus_root() / "oneills1850" / "0051-0100.abc"), "oneills1850", "folk"))
    result = compare_bits(SHIPPED[which], unseen_tunes, fit_markov(train))
    assert result["notes"] > 1000
    assert result["model"] <= 0.85 * result["markov"]
    assert result["markov"] < result["unigram"]


def test_recorded_figures_land_in_the_checkpoint_metrics(tmp_path: Path) -> None:
    import shutil

    from aimusic.model.evaluate import record_bits

    path = tmp_path / "melody.pt"
    shutil.copy(MODEL_PATH, path)
    before = load_checkpoint(path)["metrics"]
    record_bits(path, "fixture", {"model": 2.51234, "markov": 4.0, "unigram": 6.0, "notes": 106})
    after = load_checkpoint(path)["metrics"]
    assert after["fixture_bits_per_note"] == 2.5123 and after["fixture_notes"] == 106
    assert {k: v for k, v in after.items() if not k.startswith("fixture_")} == before
