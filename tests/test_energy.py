"""Energy measured on real output: the onsets a detector hears and the Score's notes rise with it."""
from __future__ import annotations

import numpy as np
import pytest

from aimusic.analysis import estimate_tempo, onset_rate
from aimusic.compose.drums import LOW_SECTION
from aimusic.compose.markov import MarkovMelodist
from aimusic.config import DEFAULT_MODEL_PATH
from aimusic.model.melodist import load_model_melodist
from aimusic.pipeline import GenerationRequest, compose_piece, generate
from aimusic.score import KICK, SNARE

MODEL = load_model_melodist(DEFAULT_MODEL_PATH)
LEVELS = (0.1, 0.5, 0.9)


def _figures(style: str, energy: float, seed: int) -> tuple[float, int]:
    track = generate(GenerationRequest(style=style, duration=30.0, seed=seed, energy=energy), MODEL)
    return onset_rate(track.audio, sr=track.sample_rate), sum(len(t.notes) for t in track.score.tracks)


@pytest.mark.parametrize("style", ["classical", "jazz", "rock", "blues", "electronic", "ambient"])
@pytest.mark.parametrize("seed", [12, 3])
def test_onset_rate_and_notes_rise_with_energy(style: str, seed: int) -> None:
    rates, notes = zip(*(_figures(style, e, seed) for e in LEVELS))
    assert notes[0] < notes[1] < notes[2], f"{style} notes {notes}"
    assert rates[0] < rates[1] < rates[2], f"{style} onsets/s {rates}"


@pytest.mark.parametrize("style, seed", [("blues", 77), ("electronic", 303)])
def test_a_busy_top_level_is_heard_above_the_middle(style: str, seed: int) -> None:
    """Seeds whose top level was heard as less busy than their middle one: blues 77 (its drive's
    full hats on every swung eighth and soft comping triplets, 3.47 onsets/s against 4.10) and
    electronic 303 (its first stab out of silence the loudest onset by far, 3.70 against 3.93)."""
    rates = [_figures(style, e, seed)[0] for e in LEVELS[1:]]
    assert rates[0] < rates[1], f"{style} {seed} onsets/s at 0.5 and 0.9: {rates}"


@pytest.mark.parametrize("style", ["classical", "jazz", "rock", "blues", "electronic", "ambient"])
def test_the_melody_itself_grows_busier_with_energy(style: str) -> None:
    """Not only the accompaniment: the model's line has more notes the higher the asked energy,
    on at least 7 of 8 seeds, and its median count rises at every step."""
    seeds = (1, 2, 3, 5, 7, 12, 21, 34)
    counts = np.array([[len(compose_piece(GenerationRequest(style=style, duration=30.0, seed=seed, energy=e),
                                          MODEL)[1].track("melody").notes) for e in LEVELS] for seed in seeds])
    rising = int(np.sum((counts[:, 0] < counts[:, 1]) & (counts[:, 1] < counts[:, 2])))
    medians = np.median(counts, axis=0)
    assert rising >= 7, f"{style} melody notes per seed {counts.tolist()}"
    assert medians[0] < medians[1] < medians[2], f"{style} median melody notes {medians}"


def test_a_quieter_bridge_and_a_build_up_around_the_asked_level() -> None:
    track = generate(GenerationRequest(style="jazz", duration=40.0, seed=3, energy=0.5), MODEL)
    body = [s for s in track.plan.sections if s.kind in ("A", "B")]
    first_b = next(s for s in body if s.kind == "B")
    first_a = next(s for s in body if s.kind == "A")
    assert first_b.energy < first_a.energy < body[-1].energy


def test_a_calm_backbeat_track_plays_its_groove_softly_and_is_heard_at_its_tempo() -> None:
    # every section quiet: after the intro the kick and the backbeat play, where hats alone kept time
    plan, score, _ = compose_piece(GenerationRequest(style="rock", duration=24.0, tempo=160, seed=1, energy=0.15),
                                   MarkovMelodist())
    first = plan.sections[1]
    bpb = plan.beats_per_bar
    inside = [n for n in score.track("drums").notes
              if first.start_bar * bpb <= n.start < (first.end_bar - 1) * bpb]   # its last bar may fill
    assert all(s.energy < LOW_SECTION for s in plan.sections)
    assert sum(n.pitch == KICK for n in inside) >= first.n_bars - 1
    assert sum(n.pitch == SNARE and round(n.start) % 2 == 1 for n in inside) >= first.n_bars - 1
    # before, with the hats alone, these were heard at half their tempo
    for tempo, seeds in ((160, (1, 6, 8)), (120, (1, 4, 8))):
        for seed in seeds:
            track = generate(GenerationRequest(style="rock", duration=24.0, tempo=tempo, seed=seed, energy=0.15),
                             MarkovMelodist())
            heard = estimate_tempo(track.audio, sr=track.sample_rate)
            assert abs(heard - tempo) <= 0.04 * tempo, f"seed {seed} at {tempo} heard at {heard:.1f}"
