"""A user's MIDI file as the opening of the melody: what is read from it, and how the model continues it."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from aimusic.compose.markov import MarkovMelodist
from aimusic.compose.melody_context import ChordSpan, MelodyContext
from aimusic.errors import ParameterError
from aimusic.model.events import DURATIONS
from aimusic.model.melodist import ModelMelodist, load_model_melodist
from aimusic.pipeline import GenerationRequest, compose_piece, generate
from aimusic.primer import MAX_PRIMER_BYTES, Primer, read_primer
from aimusic.score import Note
from aimusic.theory import Key, roman_to_chord

from .midi_files import TUNE, midi_bytes

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "melody.pt"


@pytest.fixture(scope="module")
def melodist() -> ModelMelodist:
    return load_model_melodist(MODEL_PATH)


def _pairs(notes) -> list[tuple[float, int]]:
    return [(round(n.start, 6), n.pitch) for n in notes]


def test_the_line_is_the_top_voice_of_the_first_track_with_pitched_notes() -> None:
    chords = [(0, 4, 55), (0, 4, 59), (4, 4, 57), (4, 4, 60), (8, 8, 55)]       # under the tune, held long
    drums = [(i * 0.5, 0.25, 42) for i in range(32)]
    primer = read_primer(midi_bytes(TUNE, chords, drums=drums))
    assert _pairs(primer.notes) == [(float(s), p) for s, _, p in TUNE]
    assert [n.length for n in primer.notes] == [float(length) for _, length, _ in TUNE]
    # Chords in the same track as the tune: the tune is still the line heard on top.
    merged = sorted(TUNE + chords, key=lambda n: (n[0], -n[2]))
    assert _pairs(read_primer(midi_bytes(merged)).notes) == [(float(s), p) for s, _, p in TUNE]


def test_tempo_meter_and_key_come_from_the_file() -> None:
    primer = read_primer(midi_bytes(TUNE, qpm=90, time_signature=(3, 4), key="Eb"))
    assert primer.qpm == pytest.approx(90.0)
    assert primer.time_signature == "3/4" and primer.key == Key(3, "major")
    # No key signature: the key its notes suggest (a G major tune ending on G).
    guessed = read_primer(midi_bytes(TUNE, key=None, qpm=None, time_signature=None))
    assert guessed.key == Key(7, "major") and guessed.qpm is None and guessed.time_signature is None


def test_a_line_that_starts_late_keeps_its_place_in_the_bar() -> None:
    late = [(s + 9.5, length, p) for s, length, p in TUNE]          # bar 3, beat 2.5
    primer = read_primer(midi_bytes(late))
    assert primer.notes[0].start == pytest.approx(1.5)


def test_onsets_off_the_grid_are_snapped_to_it() -> None:
    human = [(s + 0.013, length, p) for s, length, p in TUNE]     # 13 ms early-ish at 120: under a grid step
    primer = read_primer(midi_bytes(human, resolution=960))
    assert _pairs(primer.notes) == [(float(s), p) for s, _, p in TUNE]


@pytest.mark.parametrize("data, words", [
    (b"not a midi file at all", "not a Standard MIDI File"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\xff\xff", "not a Standard MIDI File"),
    (midi_bytes(drums=[(0, 1, 36), (1, 1, 38)]), "no melody"),
    (midi_bytes([(i, 1, 60 + i % 12) for i in range(70)]), "at most 64"),
    (b"MThd" + bytes(MAX_PRIMER_BYTES), "at most 32768"),
])
def test_files_it_cannot_use_are_refused_saying_why(data: bytes, words: str) -> None:
    with pytest.raises(ParameterError) as caught:
        read_primer(data)
    assert caught.value.field == "primer.midi" and words in caught.value.message


def _first_melody(score) -> list[Note]:
    return sorted(score.track("melody").notes, key=lambda n: n.start)


@pytest.mark.parametrize("style", ["classical", "jazz", "blues", "rock", "electronic", "ambient"])
def test_the_melody_opens_with_the_primer_exactly_and_goes_on(style: str, melodist: ModelMelodist) -> None:
    primer = read_primer(midi_bytes(TUNE, qpm=96, key="G"))
    plan, score, _ = compose_piece(GenerationRequest(style=style, duration=30.0, seed=5, primer=primer), melodist)
    assert plan.key == Key(7, "major") and plan.tempo == 96       # its own key and tempo: none asked
    start = plan.primer[0].start
    melody = _first_melody(score)
    opening = [n for n in melody if n.start < start + primer.end]
    assert _pairs(opening[:len(TUNE)]) == [(start + s, p) for s, _, p in TUNE]
    assert len([n for n in melody if n.start >= start + primer.end]) > 10, "the model did not continue the line"


def test_an_asked_key_and_tempo_win_and_the_primer_is_transposed(melodist: ModelMelodist) -> None:
    primer = read_primer(midi_bytes(TUNE, qpm=96, key="G"))
    plan, score, _ = compose_piece(GenerationRequest(style="jazz", duration=20.0, seed=5, key="A major", tempo=150,
                                                     primer=primer), melodist)
    assert plan.tempo == 150 and plan.key == Key(9, "major")
    start = plan.primer[0].start
    assert _pairs(_first_melody(score)[:len(TUNE)]) == [(start + s, p + 2) for s, _, p in TUNE]


def test_the_primer_meter_is_taken_when_the_style_offers_it(melodist: ModelMelodist) -> None:
    waltz = read_primer(midi_bytes(TUNE, time_signature=(3, 4), qpm=120))
    plan, _, _ = compose_piece(GenerationRequest(style="classical", duration=20.0, seed=1, primer=waltz), melodist)
    assert plan.time_signature == "3/4" and plan.tempo == 120
    plan, _, _ = compose_piece(GenerationRequest(style="rock", duration=20.0, seed=1, primer=waltz), melodist)
    assert plan.time_signature == "4/4"                               # rock offers no 3/4
    compound = read_primer(midi_bytes(TUNE, time_signature=(12, 8), qpm=90))
    plan, _, _ = compose_piece(GenerationRequest(style="blues", duration=20.0, seed=1, primer=compound), melodist)
    assert plan.time_signature == "12/8" and plan.tempo == 60         # 90 quarters a minute: 60 dotted quarters


def test_the_motif_comes_back_where_the_form_repeats(melodist: ModelMelodist) -> None:
    short = read_primer(midi_bytes(TUNE[:6]))                        # two bars: inside the first half of A
    plan, score, _ = compose_piece(GenerationRequest(style="classical", duration=75.0, seed=2, primer=short,
                                                     tempo=100), melodist)
    bpb = plan.beats_per_bar
    first_a = next(s for s in plan.sections if s.kind == "A")
    again = next(s for s in plan.sections if s.kind == "A" and s.occurrence == 1)
    shift = (again.start_bar - first_a.start_bar) * bpb
    melody = _first_melody(score)
    returned = [n for n in melody if again.start_bar * bpb - 0.1 <= n.start < again.start_bar * bpb + short.end - 0.1]
    assert [n.pitch for n in returned] == [n.pitch for n in short.notes]
    assert [n.start - shift for n in returned] == pytest.approx([plan.primer[0].start + n.start for n in short.notes],
                                                                 abs=0.1)   # recalled notes are humanised


def _context(key: Key, bars: int = 8, primer: tuple[Note, ...] = ()) -> MelodyContext:
    prog = [roman_to_chord(r, key) for r in ("I", "vi", "IV", "V7")]
    spans = tuple(ChordSpan(b * 4.0, 4.0, prog[b % 4]) for b in range(bars))
    return MelodyContext(key=key, beats_per_bar=4, beat_unit=4, start=0.0, length=bars * 4.0, chords=spans,
                         register=(57, 84), style_tag="folk", step=0.5, density=0.7, rest_prob=0.05,
                         long_note_prob=0.1, primer=primer)


def _random_line(start: float, end: float, register: tuple[int, int], rng: np.random.Generator) -> list[Note]:
    notes, t = [], start
    while t < end - 0.25:
        length = min(float(rng.choice(DURATIONS[:24])) / 12.0, end - t)
        notes.append(Note(t, length, int(rng.integers(register[0], register[1] + 1)), 0.7))
        t += length
    return notes


def test_the_model_finds_its_continuation_likelier_than_a_random_one(melodist: ModelMelodist) -> None:
    primer = read_primer(midi_bytes(TUNE, key="G"))
    context = _context(Key(7, "major"), primer=primer.notes)
    rng = np.random.default_rng(11)
    margins = []
    for seed in range(5):
        written = melodist.melody(context, rng=np.random.default_rng(seed), temperature=1.0)
        assert _pairs(written[:len(TUNE)]) == _pairs(primer.notes)
        continuation = written[len(TUNE):]
        random_line = _random_line(primer.end, context.start + context.length, context.register, rng)
        margins.append(melodist.log_likelihood(context, continuation) - melodist.log_likelihood(context, random_line))
    assert min(margins) > 0.5, margins        # nats per event: the model's own line is far likelier


def test_the_primed_state_shapes_the_continuation(melodist: ModelMelodist) -> None:
    primer = read_primer(midi_bytes(TUNE, key="G"))
    primed = _context(Key(7, "major"), primer=primer.notes)
    # The same continuation is likelier after the primer it was written to follow than after another opening.
    other = tuple(replace(n, pitch=n.pitch - 5) for n in primer.notes)
    gains = []
    for seed in range(4):
        continuation = melodist.melody(primed, rng=np.random.default_rng(seed), temperature=0.7)[len(TUNE):]
        gains.append(melodist.log_likelihood(primed, continuation)
                     - melodist.log_likelihood(replace(primed, primer=other), continuation))
    assert np.mean(gains) > 0, gains


def test_the_baseline_keeps_the_primer_too() -> None:
    primer = read_primer(midi_bytes(TUNE, key="G"))
    context = _context(Key(7, "major"), primer=primer.notes)
    written = MarkovMelodist().melody(context, rng=np.random.default_rng(0), temperature=1.0)
    assert _pairs(written[:len(TUNE)]) == _pairs(primer.notes) and len(written) > len(TUNE)
    assert all(n.start >= primer.end for n in written[len(TUNE):])


def test_a_primed_request_gives_the_same_samples_every_time(melodist: ModelMelodist) -> None:
    primer = read_primer(midi_bytes(TUNE))
    request = GenerationRequest(style="jazz", duration=4.0, seed=3, primer=primer)
    a, b = generate(request, melodist), generate(request, melodist)
    assert np.array_equal(a.audio, b.audio)
    plain = generate(replace(request, primer=None), melodist)
    assert not np.array_equal(a.audio[: len(plain.audio)], plain.audio)


def test_a_primer_is_plain_data() -> None:
    primer = read_primer(midi_bytes(TUNE))
    assert isinstance(primer, Primer) and hash(primer) == hash(read_primer(midi_bytes(TUNE)))


def test_mangled_files_are_refused_cleanly_never_crash() -> None:
    """Bytes flipped, cut and repeated anywhere in a real file: a primer or a ParameterError, nothing else."""
    good = bytearray(midi_bytes(TUNE, [(0, 4, 55)], drums=[(0, 1, 36)], key="G"))
    rng = np.random.default_rng(5)
    outcomes = {"read": 0, "refused": 0}
    for _ in range(400):
        data = bytearray(good)
        for _ in range(int(rng.integers(1, 6))):
            at = int(rng.integers(len(data)))
            kind = rng.integers(3)
            if kind == 0:
                data[at] = int(rng.integers(256))
            elif kind == 1:
                del data[at:at + int(rng.integers(1, 9))]
            else:
                data[at:at] = data[at:at + int(rng.integers(1, 64))] * int(rng.integers(1, 40))
        try:
            primer = read_primer(bytes(data[: MAX_PRIMER_BYTES + 10]))
        except ParameterError as refused:
            assert refused.field == "primer.midi"
            outcomes["refused"] += 1
            continue
        assert primer.notes and all(0 <= n.pitch <= 127 and n.length > 0 for n in primer.notes)
        outcomes["read"] += 1
    assert outcomes["read"] and outcomes["refused"], outcomes
