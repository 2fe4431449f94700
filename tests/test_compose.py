"""Planner and arranger: form, harmony per style, feel, registers, reproducibility."""
from __future__ import annotations

import numpy as np
import pytest

from aimusic.compose.arrange import compose
from aimusic.compose.feel import swing_position
from aimusic.compose.markov import MarkovMelodist
from aimusic.compose.planner import SongPlan, plan_song
from aimusic.score import CRASH, KICK, SNARE, Score
from aimusic.styles import STYLE_NAMES, STYLES

MARKOV = MarkovMelodist()


def make(style: str, *, duration: float = 30.0, seed: int = 1, tempo: int | None = None,
         key: str | None = None) -> tuple[SongPlan, Score]:
    spec = STYLES[style]
    rng = np.random.default_rng(seed)
    plan = plan_song(spec, duration=duration, tempo=tempo, key=key, seed=seed, rng=rng)
    return plan, compose(plan, spec, MARKOV, rng=rng)


@pytest.mark.parametrize("style", STYLE_NAMES)
@pytest.mark.parametrize("duration", [1.0, 12.0, 30.0, 120.0, 300.0])
def test_form_fills_the_duration_and_ends_in_time(style: str, duration: float) -> None:
    plan, score = make(style, duration=duration)
    assert plan.total_bars == sum(s.n_bars for s in plan.sections)
    starts = [s.start_bar for s in plan.sections]
    assert starts == sorted(starts) and plan.sections[0].start_bar == 0
    assert plan.sections[-1].kind == "ending"
    # Every note is released before the end of the file, and the music fills most of it.
    end_s = float(score.tempo.seconds(score.end_beat()))
    assert end_s <= duration
    music_s = float(score.tempo.seconds(plan.total_beats))
    assert music_s >= min(0.55 * duration, duration - STYLES[style].tail_seconds - 4 * 60 / plan.tempo)


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_song_has_intro_contrast_and_return_at_a_minute(style: str) -> None:
    plan, _ = make(style, duration=90.0)
    kinds = [s.kind for s in plan.sections]
    assert kinds[0] == "intro" and kinds[-1] == "ending"
    body = [k for k in kinds if k in ("A", "B")]
    if STYLES[style].fixed_form:
        assert len(body) >= 2, kinds  # at least two choruses of the form
    else:
        assert body.count("A") >= 2 and "B" in body, kinds


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_piece_ends_on_the_tonic_after_a_cadence(style: str) -> None:
    for seed in range(4):
        plan, _ = make(style, seed=seed)
        last = plan.chords[-1].chord
        assert last.root == plan.key.tonic
        before = {s.chord.root for s in plan.chords[-3:-1]}
        dominant, subdominant = (plan.key.tonic + 7) % 12, (plan.key.tonic + 5) % 12
        flat6, flat7, two = (plan.key.tonic + 8) % 12, (plan.key.tonic + 10) % 12, (plan.key.tonic + 2) % 12
        assert before & {dominant, subdominant, flat6, flat7, two}, plan.numerals[-3:]


def test_blues_is_a_twelve_bar_form_of_dominant_sevenths() -> None:
    plan, _ = make("blues", duration=120.0, tempo=100)
    chorus = next(s for s in plan.sections if s.kind == "A")
    bars = [c for c in plan.chords if chorus.start_bar * 4 <= c.start < chorus.end_bar * 4]
    assert chorus.n_bars == 12
    qualities = {c.chord.quality for c in bars}
    assert qualities <= {"7", "min7"}
    roots = [(c.chord.root - plan.key.tonic) % 12 for c in bars]
    assert roots[0] == 0 and 5 in roots[:6] and 7 in roots[8:10]


def test_jazz_uses_two_five_one_and_extended_chords() -> None:
    found = False
    for seed in range(6):
        plan, _ = make("jazz", duration=60.0, seed=seed)
        chords = [c.chord for c in plan.chords]
        assert all(len(c.intervals) >= 4 for c in chords), "jazz voices sevenths or richer"
        for a, b, c in zip(chords, chords[1:], chords[2:]):
            if (b.root - a.root) % 12 == 5 and (c.root - b.root) % 12 == 5 and b.quality == "7":
                found = True
    assert found


def test_electronic_is_minor_with_four_on_the_floor() -> None:
    plan, score = make("electronic", duration=30.0, seed=3)
    assert plan.key.mode == "minor"
    drums = score.track("drums")
    assert drums is not None
    kicks = [n.start for n in drums.notes if n.pitch == KICK]
    a = next(s for s in plan.sections if s.kind == "A")
    in_a = [k for k in kicks if a.start_bar * 4 - 0.1 <= k < a.end_bar * 4 - 0.1]
    assert len(in_a) >= 4 * a.n_bars - 2  # a fill may replace the last beats
    assert all(abs(k - round(k)) < 0.05 for k in in_a)


@pytest.mark.parametrize("style", ["classical", "ambient"])
def test_no_drums_where_the_style_has_none(style: str) -> None:
    _, score = make(style)
    assert score.track("drums") is None


# the part that plays the eighths: the jazz ride, the blues boogie bass (its drums keep the beat)
@pytest.mark.parametrize("style, role", [("jazz", "drums"), ("blues", "bass")])
def test_swing_moves_offbeat_eighths_late(style: str, role: str) -> None:
    _, score = make(style, duration=30.0)
    part = score.track(role)
    ratio = STYLES[style].swing
    fracs = np.array([n.start % 1.0 for n in part.notes if role != "drums" or n.pitch != CRASH])
    offbeats = fracs[(fracs > 0.3) & (fracs < 0.9)]
    assert len(offbeats) > 8
    assert np.median(offbeats) == pytest.approx(ratio, abs=0.03)


def test_swing_position_maps_the_grid() -> None:
    assert swing_position(2.5, 0.66) == pytest.approx(2.66)
    assert swing_position(3.0, 0.66) == pytest.approx(3.0)
    assert swing_position(1.25, 0.5) == pytest.approx(1.25)
    assert 1.0 < swing_position(1.75, 0.66) < 2.0


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_parts_stay_in_their_registers(style: str) -> None:
    spec = STYLES[style]
    _, score = make(style, duration=60.0, seed=5)
    for part in spec.parts:
        track = score.track(part.role)
        if track is None or part.role == "drums":
            continue
        pitches = [n.pitch for n in track.notes]
        assert pitches, part.role
        assert min(pitches) >= part.register[0] and max(pitches) <= part.register[1], part.role


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_same_seed_same_score_other_seed_other_music(style: str) -> None:
    _, a = make(style, seed=11)
    _, b = make(style, seed=11)
    _, c = make(style, seed=12)
    assert [t.notes for t in a.tracks] == [t.notes for t in b.tracks]
    assert a.track("melody").notes != c.track("melody").notes


def test_asked_key_and_tempo_are_used() -> None:
    plan, score = make("rock", key="F# minor", tempo=140)
    assert plan.key.name == "F# minor" and plan.tempo == 140
    assert score.tempo.bpm == 140


def test_markov_melody_favours_chord_tones_on_strong_beats() -> None:
    hits = total = 0
    for seed in range(5):
        plan, score = make("classical", duration=60.0, seed=seed)
        for note in score.track("melody").notes:
            beat = round(note.start * 2) / 2
            if beat % 2 == 0:
                chord = next(c.chord for c in plan.chords if c.start <= beat < c.end or c is plan.chords[-1])
                total += 1
                hits += note.pitch % 12 in chord.pitch_classes
    assert total > 50 and hits / total > 0.6


def test_repeated_section_recalls_its_melody() -> None:
    plan, score = make("rock", duration=120.0, seed=4)
    a1, a2 = [s for s in plan.sections if s.kind == "A"][:2]
    melody = score.track("melody").notes
    def first_half(sec):
        lo, hi = sec.start_bar * 4, (sec.start_bar + sec.n_bars // 2) * 4
        return [(round(n.start - lo, 1), n.pitch) for n in melody if lo <= n.start < hi - 0.5]
    one, two = first_half(a1), first_half(a2)
    same = len(set(one) & set(two)) / max(len(one), 1)
    assert same > 0.7


def test_drum_fills_and_crashes_mark_section_changes() -> None:
    plan, score = make("rock", duration=90.0, seed=2)
    drums = score.track("drums").notes
    for sec in plan.sections[1:]:
        start = sec.start_bar * 4
        assert any(n.pitch == CRASH and abs(n.start - start) < 0.1 for n in drums), sec.label
    snares = [n for n in drums if n.pitch == SNARE]
    assert any(0.1 < n.velocity < 0.35 for n in snares), "ghost notes between the backbeats"


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_seeds_vary_key_progression_instruments_and_density(style: str) -> None:
    plans = [make(style, seed=s)[0] for s in range(12)]
    assert len({p.key for p in plans}) >= 3
    assert len({p.numerals for p in plans}) >= 2
    assert len({p.instruments for p in plans}) >= 2
    assert len({p.density for p in plans}) >= 2
    if STYLES[style].grooves:
        assert len({p.groove for p in plans}) >= 2


def test_rock_rhythm_is_double_tracked_power_chords_with_palm_mutes() -> None:
    plan, score = make("rock", duration=30.0, seed=2)
    first, second = (next(t for t in score.tracks if t.name == name) for name in ("harmony", "harmony_double"))
    assert first.role == second.role == "harmony"
    assert first.pan == -second.pan and abs(first.pan) >= 0.9, "hard left and right"
    assert sorted(n.pitch for n in first.notes) == sorted(n.pitch for n in second.notes)
    assert any(abs(a.start - b.start) > 0.005 for a, b in zip(first.notes, second.notes)), "two takes, not a copy"
    chords: dict[float, list[int]] = {}
    for n in first.notes:
        chords.setdefault(round(n.start * 4), []).append(n.pitch)
    for pitches in chords.values():
        root = min(pitches)
        assert sorted(pitches) == [root, root + 7, root + 12]
    spb = 60.0 / plan.tempo
    muted = [n for n in first.notes if n.length * spb < 0.3]
    ringing = [n for n in first.notes if n.length * spb >= 0.3]
    assert len(muted) > 2 * len(ringing) > 0, "palm-muted eighths between ringing accents"


def _relative_to_chord(plan: SongPlan, note) -> int:
    chord = next(c.chord for c in plan.chords if c.start - 0.1 <= note.start < c.end - 0.1 or c is plan.chords[-1])
    return (note.pitch - chord.root) % 12


def test_blues_bass_is_a_boogie_not_a_walk() -> None:
    for seed in range(3):
        plan, score = make("blues", duration=30.0, seed=seed)
        bass = score.track("bass").notes[:-1]          # the last is the final chord's root
        steps = [_relative_to_chord(plan, n) for n in bass]
        assert set(steps) <= {0, 7, 9, 10}, set(steps)
        assert {0, 7, 9, 10} <= set(steps)


def test_blues_rhythm_guitar_comps_in_triplets() -> None:
    _, score = make("blues", duration=30.0, seed=1)
    phases = np.array([n.start % 1.0 for n in score.track("harmony").notes])
    grid = np.abs(phases[:, None] - np.array([0.0, 1 / 3, 2 / 3, 1.0])[None, :]).min(axis=1)
    assert np.mean(grid < 0.04) > 0.95
    assert np.mean(np.abs(phases - 1 / 3) < 0.04) > 0.2, "the middle triplet is played"


def test_blues_lead_bends_toward_blue_notes_and_phrases_aab() -> None:
    blue = total = 0
    for seed in range(4):
        plan, score = make("blues", duration=120.0, seed=seed, tempo=100)
        melody = score.track("melody").notes
        rel = [(n.pitch - plan.key.tonic) % 12 for n in melody]
        assert 11 not in rel, "no major seventh against the dominant chords"
        blue += sum(r in (3, 6, 10) for r in rel)
        total += len(rel)
        a = next(s for s in plan.sections if s.kind == "A")
        bar = 4.0

        def line(i: int) -> list[float]:
            lo = (a.start_bar + 4 * i) * bar - 0.1
            return [n.start - lo for n in melody if lo <= n.start < lo + 4 * bar and n.length >= 0.3]

        # the second line repeats the rhythm of the first (its thirds may turn blue over IV)
        one, two = ({int(t // 0.5) for t in line(i)} for i in (0, 1))
        assert len(one & two) >= 0.7 * len(one), (one, two)
        for i in range(3):   # each line calls, then leaves the last bar and a half to the band
            assert all(t < 2.5 * bar + 0.1 for t in line(i))
    assert blue > 0.08 * total



def test_blues_chorus_turns_around_in_its_eleventh_bar() -> None:
    plan, score = make("blues", duration=120.0, seed=0, tempo=100)
    chorus = next(s for s in plan.sections if s.kind == "A" and s.n_bars == 12)
    bar = (chorus.start_bar + 10) * 4.0
    root = next(c.chord.root for c in plan.chords if c.start <= bar < c.end)
    tops = []
    for beat in range(4):
        hit = [n.pitch for n in score.track("harmony").notes if abs(n.start - (bar + beat)) < 0.05]
        tops.append((max(hit) - root) % 12)
    assert tops == [10, 9, 8, 7], tops          # flat seventh down to the fifth, chromatically
