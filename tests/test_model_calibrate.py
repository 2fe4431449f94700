"""The rest calibration: fitted offsets move the generated rest share and travel in the checkpoint."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from aimusic.data.records import MelodyRecord
from aimusic.model.calibrate import calibrate_checkpoint, fit_rest_offset, generated_rest_ratio
from aimusic.model.melody_stats import real_means
from aimusic.model.melodist import load_model_melodist

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "melody.pt"
Q = 12


def _record(seed: int, *, split: str, rests: int = 0) -> MelodyRecord:
    """Eight bars of a 4/4 C major line of quarters and eighths, with ``rests`` quarter rests."""
    rng = np.random.default_rng(seed)
    notes, t = [], 0
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    rest_at = set(rng.choice(np.arange(2, 28), size=rests, replace=False).tolist()) if rests else set()
    i = 0
    while t < 32 * Q:
        length = Q if rng.random() < 0.7 else Q // 2
        length = min(length, 32 * Q - t)
        notes.append([-1 if i in rest_at else int(rng.choice(scale)), t, length, t % (4 * Q)])
        t += length
        i += 1
    chords = [[(0, 5, 7, 0)[(n[1] // (4 * Q)) % 4], "maj"] for n in notes]
    return MelodyRecord(id=f"r{seed}", source="test", style="folk", tonic=0, mode="major", meter="4/4",
                        bar_ticks=4 * Q, notes=notes, chords=chords, chord_source="symbols", split=split)


@pytest.fixture(scope="module")
def melodist():
    return load_model_melodist(MODEL_PATH)


def test_an_offset_moves_the_rest_share_its_way(melodist) -> None:
    contexts = [_record(s, split="validation") for s in range(4)]
    share = {}
    for offset in (-2.0, 0.0, 2.0):
        melodist.rest_offset = {"folk": offset}
        share[offset] = generated_rest_ratio(melodist, contexts, seed=1, samples=8)
    melodist.rest_offset = {}
    assert share[-2.0] < share[0.0] < share[2.0]


def test_fit_brings_the_generated_share_to_the_target(melodist) -> None:
    contexts = [_record(s, split="validation") for s in range(4)]
    before = generated_rest_ratio(melodist, contexts, seed=11, samples=10)
    target = max(4 * before, 0.05)
    fit = fit_rest_offset(melodist, contexts, target, min_generated=40, tolerance=0.1)
    assert fit.offset > 0 and fit.generated_before == pytest.approx(before)
    assert abs(fit.generated - target) < abs(before - target) / 2
    assert melodist.rest_offset == {}, "fitting leaves the melodist as it found it"


def test_calibration_is_stored_in_the_checkpoint_and_used_by_the_melodist(tmp_path: Path) -> None:
    path = tmp_path / "melody.pt"
    shutil.copy(MODEL_PATH, path)
    records = ([_record(s, split="train", rests=3) for s in range(6)]
               + [_record(100 + s, split="validation") for s in range(3)])
    assert real_means(records[:6])["rest_ratio"] > 0.05
    fits = calibrate_checkpoint(path, records, min_generated=30)
    blob = torch.load(path, map_location="cpu", weights_only=True)
    stored = blob["sampling"]["rest_offset"]["folk"]
    assert stored["offset"] == pytest.approx(fits["folk"].offset, abs=1e-4) and stored["offset"] > 0
    assert blob["sampling"]["top_p"] == pytest.approx(0.98)
    assert load_model_melodist(path).rest_offset == {"folk": stored["offset"]}
