"""The generated-vs-real figures: what each one measures, on melodies small enough to count by hand."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aimusic.data.records import MelodyRecord
from aimusic.model.melodist import load_model_melodist
from aimusic.model.melody_stats import REGISTER_SPAN, compare_generated, context_for, mean_interval, melody_metrics

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "melody.pt"
Q = 12   # ticks per quarter


def _record(pitches: list[int], *, style: str = "folk") -> MelodyRecord:
    """A 4/4 melody in C major of quarter notes (-1 for a rest) over C, C, G7, C per bar."""
    notes = [[p, i * Q, Q, (i * Q) % (4 * Q)] for i, p in enumerate(pitches)]
    chords = [[(0, 0, 7, 0)[(i // 4) % 4], "7" if (i // 4) % 4 == 2 else "maj"] for i in range(len(pitches))]
    return MelodyRecord(id="t", source="test", style=style, tonic=0, mode="major", meter="4/4", bar_ticks=4 * Q,
                        notes=notes, chords=chords, chord_source="symbols")


def test_metrics_of_a_hand_counted_melody() -> None:
    rec = _record([60, 62, 64, -1, 67, 66, 64, 72])
    m = melody_metrics([tuple(n) for n in rec.notes], [tuple(c) for c in rec.chords], tonic=0, mode="major",
                       meter="4/4")
    assert m["rest_ratio"] == pytest.approx(1 / 8)
    assert m["in_scale"] == pytest.approx(6 / 7)                 # F# is the one note outside C major
    assert m["range"] == 12
    assert m["mean_abs_interval"] == pytest.approx(np.mean([2, 2, 3, 1, 2, 8]))
    # Every row sits on a beat; chord tones of C: 60, 64, 67, 64, 72 ; not: 62, 66.
    assert m["chord_tones_strong"] == pytest.approx(5 / 7)
    assert m["pc_entropy"] == pytest.approx(-(2 / 7 * np.log2(2 / 7) * 2 + 3 / 7 * np.log2(1 / 7)))


def test_the_context_gives_a_lead_register_around_the_real_melody() -> None:
    rec = _record([60, 62, 64, 65, 67, 69, 71, 72] * 2)
    ctx = context_for(rec)
    low, high = ctx.register
    assert high - low == REGISTER_SPAN
    assert low < 60 and high > 72 and abs((low + high) / 2 - 66) <= 1
    assert ctx.length == pytest.approx(16) and ctx.beats_per_bar == 4 and ctx.key.tonic == 0


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_more_melodies() -> None:
    rng = np.random.default_rng(0)
    few, many = rng.exponential(1.0, 20), rng.exponential(1.0, 2000)
    lo_f, hi_f = mean_interval(list(few))
    lo_m, hi_m = mean_interval(list(many))
    assert lo_f < few.mean() < hi_f and lo_m < many.mean() < hi_m
    assert hi_m - lo_m < (hi_f - lo_f) / 3


def test_compare_generated_counts_samples_and_reports_every_figure() -> None:
    recs = [_record([60, 64, 67, 64, 65, 67, 69, 67, 64, 62, 60, 62, 64, 62, 60, 60]) for _ in range(2)]
    table = compare_generated(load_model_melodist(MODEL_PATH), recs, seed=3, samples=3)
    stats = table["folk"]
    assert stats["melodies"] == (2, 6)
    for fig in stats["metrics"].values():
        assert fig["real_low"] <= fig["real"] <= fig["real_high"]
        assert np.isfinite(fig["generated"])
