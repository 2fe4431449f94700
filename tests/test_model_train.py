"""Training on tiny data: the loss falls, checkpoints are safe to load, runs resume."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from aimusic.data.records import DATASET_VERSION, MelodyRecord
from aimusic.data.sources import folder_tasks, parse_task
from aimusic.model.batches import chunk_melodies
from aimusic.model.checkpoint import load_checkpoint, model_from_checkpoint
from aimusic.model.events import encode_record
from aimusic.model.network import MelodyConfig, MelodyLSTM, count_parameters
from aimusic.model.train import TrainConfig, bits_per_note, train, train_epoch
from aimusic.model.weights import load_weights

FIXTURES = Path(__file__).parent / "fixtures" / "scores"
TINY = MelodyConfig(hidden=32, layers=1, pitch_emb=8, dur_emb=8, feature_emb=4, dur_hidden=16, dropout=0.0)


@pytest.fixture(scope="module")
def records() -> list[MelodyRecord]:
    out = []
    for task in folder_tasks(FIXTURES, "folk"):
        out += [MelodyRecord.from_json(r) for r in parse_task(task)["records"]]
    return out


def test_one_epoch_lowers_the_loss(records) -> None:
    torch.manual_seed(0)
    encoded = [encode_record(r) for r in records]
    model = MelodyLSTM(TINY)
    before, n = bits_per_note(model, encoded)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    chunks = chunk_melodies(encoded, 64, {"folk": 8})
    train_epoch(model, opt, chunks, batch_size=4, rng=np.random.default_rng(0), progress=False)
    after, _ = bits_per_note(model, encoded)
    assert n == sum(len(r.notes) for r in records)
    assert after < before - 0.5


def _write_dataset(path: Path, records: list[MelodyRecord]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"version": DATASET_VERSION}) + "\n")
        for i, rec in enumerate(records):
            rec.split = "validation" if i == 0 else "train"
            fh.write(json.dumps(rec.to_json()) + "\n")


def test_train_writes_a_safe_checkpoint_and_resumes(records, tmp_path: Path) -> None:
    data = tmp_path / "melodies.jsonl.gz"
    _write_dataset(data, records)
    out = tmp_path / "model.pt"
    cfg = TrainConfig(data=str(data), out=str(out), epochs=2, batch_size=4, seq_len=32, lr=5e-3,
                      threads=1, patience=10, repeat={"folk": 4})
    metrics = train(cfg, TINY, progress=False)
    blob = torch.load(out, map_location="cpu", weights_only=True)     # plain data only
    assert blob["name"] == "melody-lstm-v1" and blob["model_args"]["hidden"] == 32
    assert blob["parameters"] == count_parameters(MelodyLSTM(TINY))
    assert blob["train_config"]["seed"] == cfg.seed and metrics["valid_bits_per_note"] > 0
    assert len(blob["history"]) == 2
    model = model_from_checkpoint(load_checkpoint(out))
    assert not model.training
    exported = load_weights(out)                                       # the torch-free pair beside it
    assert exported["history"] == blob["history"] and exported["metrics"] == blob["metrics"]
    for name, tensor in blob["state_dict"].items():
        np.testing.assert_array_equal(exported["state_dict"][name], tensor.numpy())
    cfg.epochs = 3
    train(cfg, TINY, resume=True, progress=False)
    assert len(torch.load(out, map_location="cpu", weights_only=True)["history"]) == 3
    assert len(load_weights(out)["history"]) == 3


def test_training_is_seeded(records, tmp_path: Path) -> None:
    data = tmp_path / "melodies.jsonl.gz"
    _write_dataset(data, records)
    results = []
    for run in range(2):
        cfg = TrainConfig(data=str(data), out=str(tmp_path / f"m{run}.pt"), epochs=1, batch_size=4, seq_len=32,
                          threads=1, repeat={"folk": 2})
        results.append(train(cfg, TINY, progress=False)["valid_bits_per_note"])
    assert results[0] == results[1]
