"""The up-tempo arrangement: which requests get it, and what it plays."""
from __future__ import annotations

import pytest

from aimusic.analysis import estimate_tempo
from aimusic.compose.markov import MarkovMelodist
from aimusic.pipeline import GenerationRequest, generate, request_style
from aimusic.compose.drums import GROOVES
from aimusic.score import KICK, OPEN_HAT
from aimusic.styles import STYLES
from aimusic.tempo_feel import FAST_FROM, SLOW_BELOW, beat_lean, style_at_tempo


def _harmony_pattern(request: GenerationRequest) -> str:
    return next(p.pattern for p in request_style(request).parts if p.role == "harmony")


def test_jazz_from_its_threshold_plays_the_fast_grooves_and_comping() -> None:
    at = FAST_FROM["jazz"]
    slow = request_style(GenerationRequest(style="jazz", duration=10.0, tempo=at - 1))
    fast = request_style(GenerationRequest(style="jazz", duration=10.0, tempo=at))
    assert slow == STYLES["jazz"]
    assert fast.grooves == ("jazz_fast", "jazz_fast_kick")
    assert _harmony_pattern(GenerationRequest(style="jazz", duration=10.0, tempo=at)) == "comp_swing_fast"
    assert request_style(GenerationRequest(style="jazz", duration=10.0)) == STYLES["jazz"]   # 120 by default


def test_rock_from_its_threshold_strikes_every_beat_of_its_four_groove_alike() -> None:
    at = FAST_FROM["rock"]
    assert request_style(GenerationRequest(style="rock", duration=10.0, tempo=at - 1)) == STYLES["rock"]
    fast = request_style(GenerationRequest(style="rock", duration=10.0, tempo=at))
    assert fast.grooves == ("rock_backbeat", "rock_eighths", "rock_four_fast")
    assert len(set(GROOVES["rock_four_fast"][OPEN_HAT].replace(".", ""))) == 1


def test_a_meter_keeps_its_figures_and_an_energy_gets_the_fast_version_of_its_own() -> None:
    waltz = request_style(GenerationRequest(style="jazz", duration=10.0, tempo=180, time_signature="3/4"))
    assert waltz.grooves == ("jazz_waltz", "jazz_waltz_kick")
    assert _harmony_pattern(GenerationRequest(style="jazz", duration=10.0, tempo=180, time_signature="3/4")) == \
        "comp_waltz"
    calm = request_style(GenerationRequest(style="jazz", duration=10.0, tempo=180, energy=0.05))
    assert calm.grooves == ("jazz_quarters_fast",)          # the energy's groove, in its fast version
    assert _harmony_pattern(GenerationRequest(style="jazz", duration=10.0, tempo=180, energy=0.05)) == "comp_held"
    for name, style in STYLES.items():
        if name not in FAST_FROM:
            assert style_at_tempo(style, 220) is style


def test_a_fast_jazz_track_feathers_the_kick_on_every_beat() -> None:
    # a moderate tempo ghosts the kick (velocity about 0.22); up-tempo it is felt on every beat
    for tempo, feathered in ((150, False), (180, True)):
        track = generate(GenerationRequest(style="jazz", duration=12.0, tempo=tempo, seed=3), MarkovMelodist())
        kicks = [n for n in track.score.track("drums").notes if n.pitch == KICK and n.start < 16.0]
        on_beats = [n for n in kicks if abs(n.start - round(n.start)) < 0.05]
        assert len(on_beats) >= 14, f"{tempo}: kicks at {[round(n.start, 2) for n in kicks]}"
        loud = sum(n.velocity >= 0.45 for n in on_beats)
        assert (loud >= 0.75 * len(on_beats)) if feathered else (loud <= 0.25 * len(on_beats)), \
            f"{tempo}: kick velocities {[round(n.velocity, 2) for n in on_beats]}"


def test_rock_at_160_on_the_seeds_that_draw_its_four_groove_is_heard_at_160() -> None:
    # before the fast groove, these three were heard at 80 (the hat's accent on every other beat)
    for seed in (1, 4, 8):
        track = generate(GenerationRequest(style="rock", duration=24.0, tempo=160, seed=seed), MarkovMelodist())
        assert track.plan.groove == "rock_four_fast"
        heard = estimate_tempo(track.audio, sr=track.sample_rate)
        assert abs(heard - 160) <= 0.04 * 160, f"seed {seed} heard at {heard:.1f}"


@pytest.mark.parametrize("energy", [0.15, 0.9])
def test_fast_jazz_at_a_calm_or_a_driving_energy_is_heard_at_its_tempo(energy: float) -> None:
    # before the fast versions of the energies' grooves: 2 of 6 seeds at 0.15, none at 0.9
    heard = [estimate_tempo(generate(GenerationRequest(style="jazz", duration=24.0, tempo=180, seed=seed,
                                                       energy=energy), MarkovMelodist()).audio, sr=44100)
             for seed in (5, 6, 7)]
    assert sum(abs(h - 180) <= 0.04 * 180 for h in heard) >= 2, f"heard at {', '.join(f'{h:.1f}' for h in heard)}"


def test_slow_classical_leans_off_its_beats_more_the_slower_it_is() -> None:
    below = SLOW_BELOW["classical"]
    assert beat_lean("classical", below) == 0.0 and beat_lean("classical", None) == 0.0
    assert 0.0 < beat_lean("classical", 72) < beat_lean("classical", 60) <= beat_lean("classical", 40) <= 0.5
    assert beat_lean("jazz", 40) == 0.0
    six_eight = request_style(GenerationRequest(style="classical", duration=10.0, tempo=50, time_signature="6/8"))
    assert six_eight.beat_lean == 0.0                      # a compound meter leans by its own pulses
    assert request_style(GenerationRequest(style="classical", duration=10.0, tempo=60)).beat_lean == 0.4


def test_slow_classical_broken_chords_are_lighter_between_their_beats() -> None:
    # the same notes at 60 and at 96 (the plan's bars differ with the tempo, so compare the ratio
    # of between-beat to on-beat velocity within each track)
    def ratio(tempo: int) -> float:
        track = generate(GenerationRequest(style="classical", duration=40.0, tempo=tempo, seed=5), MarkovMelodist())
        notes = track.score.track("harmony").notes
        on = [n.velocity for n in notes if abs(n.start - round(n.start)) < 0.03]
        off = [n.velocity for n in notes if abs(n.start - round(n.start)) >= 0.03]
        return sum(off) / len(off) / (sum(on) / len(on))
    assert ratio(60) < 0.75 * ratio(96)


def test_fast_classical_strikes_every_beat_of_its_broken_chords_alike() -> None:
    at = FAST_FROM["classical"]
    assert _harmony_pattern(GenerationRequest(style="classical", duration=10.0, tempo=at - 1)) == "arpeggio"
    assert _harmony_pattern(GenerationRequest(style="classical", duration=10.0, tempo=at)) == "arpeggio_fast"
    calm = GenerationRequest(style="classical", duration=10.0, tempo=at, energy=0.05)
    assert _harmony_pattern(calm) == "arpeggio_quarters"     # an energy's figure stays

    def lean(tempo: int) -> float:          # on-beat velocity at a figure's start over the other beats'
        track = generate(GenerationRequest(style="classical", duration=30.0, tempo=tempo, seed=5), MarkovMelodist())
        beats = [n for n in track.score.track("harmony").notes if abs(n.start - round(n.start)) < 0.03]
        starts = [n.velocity for n in beats if round(n.start) % 2 == 0]
        others = [n.velocity for n in beats if round(n.start) % 2 == 1]
        return (sum(starts) / len(starts)) / (sum(others) / len(others))
    assert lean(at - 1) > 1.05 * lean(at)


def test_fast_electronic_is_heard_at_its_tempo_with_a_softer_backbeat() -> None:
    at = FAST_FROM["electronic"]
    assert request_style(GenerationRequest(style="electronic", duration=10.0, tempo=at - 1)) == STYLES["electronic"]
    assert request_style(GenerationRequest(style="electronic", duration=10.0, tempo=at)).grooves == \
        ("four_on_floor_fast", "four_on_floor_clap_fast")
    # before the softer backbeat, these three were heard at 75, 101 and 99
    for seed in (1, 4, 7):
        track = generate(GenerationRequest(style="electronic", duration=24.0, tempo=150, seed=seed), MarkovMelodist())
        heard = estimate_tempo(track.audio, sr=track.sample_rate)
        assert abs(heard - 150) <= 0.04 * 150, f"seed {seed} heard at {heard:.1f}"


def test_fast_driving_electronic_is_heard_at_its_tempo() -> None:
    at = FAST_FROM["electronic"]
    assert request_style(GenerationRequest(style="electronic", duration=10.0, tempo=at - 1, energy=0.9)).grooves == \
        ("house_drive",)
    assert request_style(GenerationRequest(style="electronic", duration=10.0, tempo=at, energy=0.9)).grooves == \
        ("house_drive_fast",)
    # before the fast drive, these three were heard at 99 (with either melodist)
    for seed in (2, 4, 6):
        track = generate(GenerationRequest(style="electronic", duration=24.0, tempo=150, seed=seed, energy=0.9),
                         MarkovMelodist())
        heard = estimate_tempo(track.audio, sr=track.sample_rate)
        assert abs(heard - 150) <= 0.04 * 150, f"seed {seed} heard at {heard:.1f}"
