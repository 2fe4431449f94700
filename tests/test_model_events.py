"""Event encoding, nucleus sampling and the Markov baseline: exact, cheap properties."""
from __future__ import annotations

import numpy as np
import pytest

from aimusic.data.records import MelodyRecord
from aimusic.model.events import (DURATIONS, N_DUR, N_PITCH, REST, decode_events, duration_index, encode_record,
                                  joint_index, pitch_from_index, pitch_index, style_index)
from aimusic.model.markov import InterpolatedMarkov
from aimusic.model.sample import nucleus_sample


def _record(pitches: list[int], durs: list[int], tonic: int = 2) -> MelodyRecord:
    notes, onset = [], 0
    for p, d in zip(pitches, durs):
        notes.append([p, onset, d, onset % 48])
        onset += d
    return MelodyRecord(id="t", source="test", style="folk", tonic=tonic, mode="major", meter="4/4",
                        bar_ticks=48, notes=notes, chords=[[tonic, "maj"]] * len(notes), chord_source="symbols")


def test_encoding_round_trips_pitches_rests_and_grid_durations() -> None:
    pitches = [62, 66, 69, -1, 74, 50, 85, 62]
    durs = [12, 6, 6, 12, 4, 8, 24, 48]
    rec = _record(pitches, durs)
    enc = encode_record(rec)
    decoded = decode_events(enc.pitch, enc.dur, rec.tonic)
    assert [d[0] for d in decoded] == pitches
    assert [d[2] for d in decoded] == durs
    assert [d[1] for d in decoded] == [n[1] for n in rec.notes]


@pytest.mark.parametrize("ticks", DURATIONS)
def test_vocabulary_durations_map_to_themselves(ticks: int) -> None:
    assert DURATIONS[duration_index(ticks)] == ticks


def test_off_grid_durations_snap_to_the_nearest_vocabulary_duration() -> None:
    assert DURATIONS[duration_index(13)] == 12
    assert DURATIONS[duration_index(400)] == 192
    assert DURATIONS[duration_index(0)] == 1


def test_pitches_out_of_range_fold_by_octaves() -> None:
    low = pitch_from_index(pitch_index(20, 0), 0)
    high = pitch_from_index(pitch_index(120, 0), 0)
    assert low % 12 == 20 % 12 and low > 20
    assert high % 12 == 120 % 12 and high < 120
    assert pitch_index(-1, 5) == REST


def test_unknown_style_tags_map_to_a_trained_one() -> None:
    assert style_index("classical") == 1
    assert style_index("jazz") == style_index("pop")
    assert style_index("no-such-style") == style_index("folk")


def test_nucleus_sampling_is_deterministic_masked_and_truncated() -> None:
    logits = np.array([5.0, 4.0, 1.0, 0.0, -3.0])
    us = np.linspace(0.0, 0.999, 200)
    picks = [nucleus_sample(logits, u, temperature=1.0, top_p=0.9) for u in us]
    assert picks == [nucleus_sample(logits, u, temperature=1.0, top_p=0.9) for u in us]
    assert set(picks) <= {0, 1}                       # the tail lies outside the nucleus
    allowed = np.array([False, True, True, True, True])
    assert 0 not in {nucleus_sample(logits, u, temperature=1.0, top_p=1.0, allowed=allowed) for u in us}
    cold = {nucleus_sample(logits, u, temperature=0.05, top_p=1.0) for u in us}
    assert cold == {0}


def test_the_kept_choice_survives_the_nucleus_at_its_own_probability() -> None:
    logits = np.array([5.0, 4.0, 1.0, 0.0, -3.0])
    p = np.exp(logits) / np.exp(logits).sum()
    us = (np.arange(20000) + 0.5) / 20000
    picks = np.array([nucleus_sample(logits, u, temperature=1.0, top_p=0.9, keep=4) for u in us])
    assert set(picks.tolist()) == {0, 1, 4}
    share = float(np.mean(picks == 4))                # its probability, renormalised over the nucleus
    assert share == pytest.approx(p[4] / (p[0] + p[1] + p[4]), rel=0.02)
    masked = np.array([True, True, True, True, False])
    assert 4 not in {nucleus_sample(logits, u, temperature=1.0, top_p=0.9, allowed=masked, keep=4) for u in us[::50]}


def test_markov_probabilities_sum_to_one_over_the_joint_space() -> None:
    rng = np.random.default_rng(0)
    seqs = [rng.integers(0, 40, size=30) for _ in range(20)]
    model = InterpolatedMarkov(order=3, vocab=50).fit(seqs)
    for ctx in ([1, 2, 3], list(seqs[0][:3]), [49, 48, 47]):
        total = sum(model.prob(ctx, e) for e in range(50))
        assert total == pytest.approx(1.0, abs=1e-9)
    bits = model.sequence_bits(seqs[0])
    assert np.all(bits > 0) and bits.mean() < model.unigram_bits(seqs[0]).mean()


def test_joint_index_covers_the_event_space_once() -> None:
    p, d = np.meshgrid(np.arange(N_PITCH), np.arange(N_DUR), indexing="ij")
    idx = joint_index(p.ravel(), d.ravel())
    assert sorted(idx) == list(range(N_PITCH * N_DUR))
