"""Music facts: key parsing, roman numerals, voicing helpers."""
from __future__ import annotations

import pytest

from aimusic.errors import ParameterError
from aimusic.theory import Chord, Key, midi_to_hz, nearest_pitch_with_class, parse_key, roman_to_chord


@pytest.mark.parametrize("text, tonic, mode", [
    ("A minor", 9, "minor"), ("Eb major", 3, "major"), ("F#m", 6, "minor"), ("C", 0, "major"),
    ("bb minor", 10, "minor"), ("Db", 1, "major"), ("g min", 7, "minor"), ("B major", 11, "major"),
    ("Cb", 11, "major"),
])
def test_parse_key_reads_tonic_and_mode(text: str, tonic: int, mode: str) -> None:
    assert parse_key(text) == Key(tonic, mode)


@pytest.mark.parametrize("bad", ["", "H major", "C##", "A dorianish", "12", "C major minor"])
def test_parse_key_rejects_nonsense_naming_the_field(bad: str) -> None:
    with pytest.raises(ParameterError) as err:
        parse_key(bad)
    assert err.value.field == "key"


def test_key_names_use_conventional_spelling() -> None:
    assert Key(10, "major").name == "Bb major"
    assert Key(6, "minor").name == "F# minor"
    assert Key(3, "minor").name == "Eb minor"
    assert Key(5, "major").name == "F major"


@pytest.mark.parametrize("numeral, root, quality", [
    ("ii7", 2, "min7"), ("V7", 7, "7"), ("Imaj7", 0, "maj7"), ("bVII", 10, "maj"),
    ("iiø7", 2, "hdim7"), ("viio", 11, "dim"), ("bVImaj7", 8, "maj7"), ("Isus2", 0, "sus2"),
])
def test_roman_numerals_in_c(numeral: str, root: int, quality: str) -> None:
    assert roman_to_chord(numeral, Key(0, "major")) == Chord(root, quality)


def test_roman_numerals_follow_the_tonic() -> None:
    assert roman_to_chord("V7", Key(9, "minor")) == Chord(4, "7")  # E7 in A minor
    assert roman_to_chord("bIII", Key(9, "minor")).pitch_classes == (0, 4, 7)  # C major


def test_unknown_numeral_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError):
        roman_to_chord("VIII", Key(0))


def test_pitch_helpers() -> None:
    assert midi_to_hz(69) == pytest.approx(440.0)
    assert midi_to_hz(81) == pytest.approx(880.0)
    assert nearest_pitch_with_class(60, 7) == 55
    assert nearest_pitch_with_class(62, 2) == 62
    assert Chord(7, "7").pitch_classes == (7, 11, 2, 5)
