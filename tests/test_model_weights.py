"""The torch-free weights files: faithful to their checkpoints, current, and never stale when served."""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from aimusic.compose.melody_context import MelodyContext
from aimusic.data.sources import folder_tasks, parse_task
from aimusic.data.records import MelodyRecord
from aimusic.errors import ModelError
from aimusic.model.checkpoint import export_weights, load_checkpoint, model_from_checkpoint, update_checkpoint
from aimusic.model.events import BOS_DUR, BOS_PITCH, encode_record
from aimusic.model.melodist import ModelMelodist, load_model_melodist
from aimusic.model.sample import NumpyMelodyStepper
from aimusic.model.weights import WeightsUnavailable, load_weights, weights_paths
from aimusic.theory import Key

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = {"default": ROOT / "models" / "melody.pt", "public-domain": ROOT / "models" / "melody-public-domain.pt"}
FIXTURES = Path(__file__).parent / "fixtures" / "scores"


def _context(style: str = "folk", final: bool = True) -> MelodyContext:
    return MelodyContext(key=Key(7, "major"), beats_per_bar=4, beat_unit=4, start=0.0, length=32.0, chords=(),
                         register=(60, 81), style_tag=style, step=0.5, density=0.7, rest_prob=0.05,
                         long_note_prob=0.1, final=final)


@pytest.mark.parametrize("which", sorted(SHIPPED))
def test_shipped_weights_hold_the_checkpoints_tensors_and_entries(which: str) -> None:
    path = SHIPPED[which]
    npz, sidecar = weights_paths(path)
    assert npz.stat().st_size < 20 * 1024 * 1024 and sidecar.stat().st_size < 1024 * 1024
    blob, exported = load_checkpoint(path), load_weights(path)
    assert sorted(exported["state_dict"]) == sorted(blob["state_dict"])
    for name, tensor in blob["state_dict"].items():
        array = exported["state_dict"][name]
        assert array.dtype == np.float32 and array.shape == tuple(tensor.shape)
        np.testing.assert_array_equal(array, tensor.numpy(), err_msg=name)
    for key in ("name", "parameters", "model_args", "vocab", "metrics", "sampling", "train_config"):
        assert exported[key] == blob[key], key


@pytest.mark.parametrize("which", sorted(SHIPPED))
def test_committed_weights_are_what_export_writes_for_the_committed_checkpoint(which: str, tmp_path: Path) -> None:
    copy = tmp_path / SHIPPED[which].name
    shutil.copy(SHIPPED[which], copy)
    for written, committed in zip(export_weights(copy), weights_paths(SHIPPED[which])):
        assert written.read_bytes() == committed.read_bytes(), f"run python train_models.py export ({committed.name})"


@pytest.mark.parametrize("which", sorted(SHIPPED))
def test_next_note_distributions_from_the_weights_match_the_network(which: str) -> None:
    blob = load_checkpoint(SHIPPED[which])
    model = model_from_checkpoint(blob)
    exported = load_weights(SHIPPED[which])
    stepper = NumpyMelodyStepper(exported["state_dict"], exported["model_args"]["layers"],
                                 exported["model_args"]["hidden"])
    records = [MelodyRecord.from_json(r) for t in folder_tasks(FIXTURES, "folk") for r in parse_task(t)["records"]]
    for rec in records[:3]:
        enc = encode_record(rec)
        with torch.no_grad():
            pl, dl = model(torch.tensor(enc.pitch)[None], torch.tensor(enc.dur)[None], torch.tensor(enc.cond)[None])
        want_p, want_d = torch.softmax(pl[0], -1).numpy(), torch.softmax(dl[0], -1).numpy()
        state, prev = stepper.initial_state(), (BOS_PITCH, BOS_DUR)
        for t in range(min(len(enc.pitch), 40)):
            logits, state = stepper.step(*prev, tuple(int(c) for c in enc.cond[t]), state)
            d_logits = stepper.duration_logits(state, int(enc.pitch[t]))
            np.testing.assert_allclose(np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum(),
                                       want_p[t], atol=1e-4)
            np.testing.assert_allclose(np.exp(d_logits - d_logits.max()) / np.exp(d_logits - d_logits.max()).sum(),
                                       want_d[t], atol=1e-4)
            prev = (int(enc.pitch[t]), int(enc.dur[t]))


@pytest.mark.parametrize("which", sorted(SHIPPED))
def test_melodist_from_the_weights_writes_what_the_checkpoint_would(which: str) -> None:
    from_weights = load_model_melodist(SHIPPED[which])
    from_checkpoint = ModelMelodist(load_checkpoint(SHIPPED[which]))
    assert from_weights.rest_offset == from_checkpoint.rest_offset and from_weights.name == from_checkpoint.name
    for style in ("folk", "classical", "pop"):
        a = from_weights.melody(_context(style), rng=np.random.default_rng(4), temperature=1.0)
        b = from_checkpoint.melody(_context(style), rng=np.random.default_rng(4), temperature=1.0)
        assert a == b and len(a) > 8


def test_a_rewritten_checkpoint_is_served_not_its_stale_weights(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "melody.pt"
    shutil.copy(SHIPPED["default"], path)
    export_weights(path)
    blob = load_checkpoint(path)
    blob["sampling"] = {**blob["sampling"], "top_p": 0.5}
    torch.save(blob, path)                         # as a tool unaware of the weights file would
    with pytest.raises(WeightsUnavailable):
        load_weights(path)
    with caplog.at_level(logging.WARNING, logger="aimusic.model.melodist"):
        assert load_model_melodist(path).top_p == 0.5
    assert "reading the checkpoint with torch" in caplog.text
    update_checkpoint(path, sampling=blob["sampling"])    # our writers refresh the pair
    assert load_weights(path)["sampling"]["top_p"] == 0.5


def test_weights_that_do_not_match_their_sidecar_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "melody.pt"
    shutil.copy(SHIPPED["default"], path)
    npz, sidecar = export_weights(path)
    other = tmp_path / "other.pt"
    shutil.copy(SHIPPED["public-domain"], other)
    shutil.copy(export_weights(other)[0], npz)      # the public-domain tensors under the default sidecar
    with pytest.raises(WeightsUnavailable):
        load_weights(path)
    with pytest.raises(WeightsUnavailable):
        load_model_melodist(npz)                    # asked for the weights file itself: no fallback
    meta = json.loads(sidecar.read_text())
    meta["vocab"] = {**meta["vocab"], "n_pos": 96}
    sidecar.write_text(json.dumps(meta))
    shutil.copy(weights_paths(SHIPPED["default"])[0], npz)
    with pytest.raises(ModelError, match="vocabulary"):
        load_weights(path)


def test_weights_without_their_checkpoint_load_alone(tmp_path: Path) -> None:
    for f in weights_paths(SHIPPED["default"]):
        shutil.copy(f, tmp_path / f.name)
    melodist = load_model_melodist(tmp_path / "melody.pt")     # the .pt itself is not there
    assert melodist.name == load_model_melodist(SHIPPED["default"]).name
    with pytest.raises(ModelError):
        load_model_melodist(tmp_path / "missing.pt")
