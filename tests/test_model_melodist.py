"""The shipped model as the composer's melodist: contract, determinism, errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aimusic.compose.melody_context import ChordSpan, MelodyContext
from aimusic.errors import ModelError
from aimusic.model.melodist import ModelMelodist, load_model_melodist
from aimusic.theory import Key, roman_to_chord

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "melody.pt"


@pytest.fixture(scope="module")
def melodist() -> ModelMelodist:
    return load_model_melodist(MODEL_PATH)


def _context(*, key: Key = Key(0, "major"), meter: tuple[int, int] = (4, 4), start: float = 0.0,
             bars: int = 8, register: tuple[int, int] = (60, 81), style: str = "folk",
             final: bool = False) -> MelodyContext:
    per_bar = float(meter[0])
    prog = [roman_to_chord(r, key) for r in (("I", "IV", "V7", "I") if key.mode == "major" else ("i", "iv", "V7", "i"))]
    spans = tuple(ChordSpan(start + b * per_bar, per_bar, prog[b % 4]) for b in range(bars))
    return MelodyContext(key=key, beats_per_bar=meter[0], beat_unit=meter[1], start=start, length=bars * per_bar,
                         chords=spans, register=register, style_tag=style, step=0.5, density=0.7,
                         rest_prob=0.05, long_note_prob=0.1, final=final)


CASES = {
    "folk-C": _context(),
    "classical-late-start": _context(style="classical", start=32.0, key=Key(9, "minor")),
    "pop-narrow": _context(style="pop", register=(64, 72), key=Key(7, "major")),
    "jazz-tag-3/4": _context(style="jazz", meter=(3, 4), key=Key(5, "dorian")),
    "waltz-6/8": _context(meter=(6, 8), key=Key(2, "minor"), bars=6),
    "bass-register": _context(register=(28, 40)),
    "breve-bars-4/1": _context(style="classical", meter=(4, 1), bars=3),   # bars longer than the position table
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_notes_respect_span_register_and_order(melodist: ModelMelodist, name: str) -> None:
    ctx = CASES[name]
    notes = melodist.melody(ctx, rng=np.random.default_rng(3), temperature=1.0)
    end = ctx.start + ctx.length
    assert len(notes) >= ctx.length / 4                      # a melody, not a few stray notes
    low, high = ctx.register
    for a, b in zip(notes, notes[1:]):
        assert a.start < b.start and a.end <= b.start + 1e-9
    for n in notes:
        assert ctx.start <= n.start < end and n.end <= end + 1e-9
        assert low <= n.pitch <= high


def test_same_seed_same_melody_other_seed_other_melody(melodist: ModelMelodist) -> None:
    ctx = CASES["folk-C"]
    a = melodist.melody(ctx, rng=np.random.default_rng(11), temperature=1.0)
    b = melodist.melody(ctx, rng=np.random.default_rng(11), temperature=1.0)
    c = melodist.melody(ctx, rng=np.random.default_rng(12), temperature=1.0)
    assert a == b
    assert a != c


def test_final_section_comes_to_rest_on_the_tonic(melodist: ModelMelodist) -> None:
    for seed in range(4):
        ctx = _context(key=Key(2, "major"), final=True)
        notes = melodist.melody(ctx, rng=np.random.default_rng(seed), temperature=1.0)
        assert notes[-1].pitch % 12 == 2
        assert notes[-1].end == pytest.approx(ctx.start + ctx.length)


def test_melodies_follow_the_chords(melodist: ModelMelodist) -> None:
    ctx = _context(bars=16)
    on_chord = total = 0
    for seed in range(5):
        for n in melodist.melody(ctx, rng=np.random.default_rng(seed), temperature=1.0):
            if float(n.start).is_integer():
                total += 1
                on_chord += n.pitch % 12 in ctx.chord_at(n.start).pitch_classes
    assert on_chord / total > 0.6


def test_low_temperature_narrows_the_choice(melodist: ModelMelodist) -> None:
    ctx = CASES["folk-C"]
    def distinct(temp: float) -> int:
        return len({tuple(n.pitch for n in melodist.melody(ctx, rng=np.random.default_rng(s), temperature=temp))
                    for s in range(6)})
    assert distinct(0.05) < distinct(1.0)


def test_missing_or_foreign_files_raise_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        load_model_melodist(tmp_path / "nope.pt")
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError):
        load_model_melodist(bogus)


def test_tags_a_checkpoint_was_not_trained_on_fall_back_to_folk() -> None:
    from aimusic.model.checkpoint import load_checkpoint

    blob = load_checkpoint(MODEL_PATH)
    shipped = ModelMelodist(blob)
    assert set(blob["metrics"].get("train_styles", ["folk", "classical", "pop"])) == {"folk", "classical", "pop"}
    blob["metrics"] = {**blob["metrics"], "train_styles": ["classical", "folk"]}   # as if trained without pop
    public_domain = ModelMelodist(blob)
    pop, folk = _context(style="pop"), _context(style="folk")
    def melody(m: ModelMelodist, ctx: MelodyContext) -> list:
        return m.melody(ctx, rng=np.random.default_rng(5), temperature=1.0)
    assert melody(public_domain, pop) == melody(public_domain, folk) == melody(shipped, folk)
    assert melody(shipped, pop) != melody(shipped, folk)
