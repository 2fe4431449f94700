"""Requests without the newer fields (meter, energy, instruments, primer) give the same bytes as before.

The hashes were taken from the code before those fields existed: audio samples, MIDI file and
score JSON of a few short renders per style, with the trained model and the Markov baseline.
A change of the synthesizer's sound is a new version and renews the audio hashes it changes
(rock's rhythm guitars: 20 string partials; the acoustic and jazz kits: modal shells, wires,
metallic cymbals; the guitars' 4x12 cabinet falling from 3.5 kHz, the bass guitar, rock's mix;
the strings' and synth pad's ensembles weighted to their middle copy; every note cut from one tone of
its pitch and velocity, and the cymbals' partials summed in blocks; the shells' modes in single precision);
the MIDI and score JSON hashes of these requests stay, but where a style's own parts change
(blues: a rhythm guitar comps instead of the piano, its lead and grooves, all three hashes).
"""
from __future__ import annotations

import hashlib
import io

import pytest

from aimusic.compose.markov import MarkovMelodist
from aimusic.config import DEFAULT_MODEL_PATH
from aimusic.encode import write_midi_file
from aimusic.encode.score_json import score_json_bytes
from aimusic.model.melodist import load_model_melodist
from aimusic.pipeline import GenerationRequest, generate

# (melodist, style, duration, seed, tempo, key, loop, temperature): (audio, MIDI, score JSON) sha256[:16]
BEFORE = {
    ("model", "classical", 6.0, 11, None, None, False, 1.0): ("3d8e076d77f3205f", "21caffe36384caa1", "3bdaa82cca1e34a1"),
    ("model", "jazz", 6.0, 12, 150, 'F major', False, 1.0): ("1f2f975dc1bb5ab7", "898b2c361ac04d8f", "1c457deffa2e624f"),
    ("model", "rock", 5.0, 13, None, None, False, 0.8): ("cddc319e31efa07e", "88e31c37dcece1b1", "1baa49b2278f5bd6"),
    ("model", "blues", 8.0, 14, 70, None, False, 1.0): ("53ae17a1a8b49852", "36508bf80d679f57", "e02dbcc7164f3821"),
    ("model", "electronic", 5.0, 15, None, None, True, 1.0): ("a96d9f7a62d8f0f7", "545992491b1fe4d6", "49355d5dfdd68209"),
    ("model", "ambient", 6.0, 16, None, 'C minor', False, 1.3): ("89c070c540263322", "f7df4ea06d50ce29", "05760f611727cb05"),
    ("markov", "classical", 6.0, 11, None, None, False, 1.0): ("831f9840f5f90885", "a0c564d220b33b0a", "2410f94a14c96816"),
    ("markov", "jazz", 6.0, 12, 150, 'F major', False, 1.0): ("ce0abce028621d85", "8f18ef582e239cbf", "72e800d80c13ee95"),
    ("markov", "rock", 5.0, 13, None, None, False, 0.8): ("3dcffbd412f0fd9f", "4f53513340ec32ba", "0653e613461cd4ba"),
    ("markov", "blues", 8.0, 14, 70, None, False, 1.0): ("eb2aab8f58045dba", "d370f3d4762822a3", "ff65391e088ec988"),
    ("markov", "electronic", 5.0, 15, None, None, True, 1.0): ("1af47e6ae88a2c9e", "59b1683284d8b0a6", "d2cb472c32e01f8a"),
    ("markov", "ambient", 6.0, 16, None, 'C minor', False, 1.3): ("9c7745443f681353", "c369ed5c8406a015", "c36af3f69e70e1c0"),
}
_MELODISTS: dict[str, object] = {}


def _melodist(name: str):
    if name not in _MELODISTS:
        _MELODISTS[name] = MarkovMelodist() if name == "markov" else load_model_melodist(DEFAULT_MODEL_PATH)
    return _MELODISTS[name]


@pytest.mark.parametrize("case", list(BEFORE), ids=lambda c: f"{c[0]}-{c[1]}")
def test_an_old_request_renders_the_same_bytes(case: tuple) -> None:
    engine, style, duration, seed, tempo, key, loop, temperature = case
    request = GenerationRequest(style=style, duration=duration, seed=seed, tempo=tempo, key=key, loop=loop,
                                temperature=temperature)
    track = generate(request, _melodist(engine))
    midi = io.BytesIO()
    write_midi_file(midi, track.score)
    got = (hashlib.sha256(track.audio.tobytes()).hexdigest()[:16],
           hashlib.sha256(midi.getvalue()).hexdigest()[:16],
           hashlib.sha256(score_json_bytes(track.score, track.plan, loop=loop)).hexdigest()[:16])
    assert got == BEFORE[case]
