"""MIDI export: every note survives the round trip with its timing, pitch and channel."""
from __future__ import annotations

import mido
import numpy as np
import pytest

from aimusic.compose.arrange import compose
from aimusic.compose.markov import MarkovMelodist
from aimusic.compose.planner import plan_song
from aimusic.midi import TICKS_PER_BEAT, write_midi
from aimusic.styles import STYLES


@pytest.mark.parametrize("style", ["classical", "jazz"])
def test_midi_round_trip_keeps_every_note(style: str, tmp_path) -> None:
    rng = np.random.default_rng(2)
    spec = STYLES[style]
    plan = plan_song(spec, duration=20.0, tempo=None, key=None, seed=2, rng=rng)
    score = compose(plan, spec, MarkovMelodist(), rng=rng)
    path = write_midi(score, tmp_path / "piece.mid")
    midi = mido.MidiFile(path)
    assert len(midi.tracks) == 1 + len(score.tracks)
    assert midi.length == pytest.approx(float(score.tempo.seconds(score.end_beat())), abs=0.05)
    for track, mt in zip(score.tracks, midi.tracks[1:]):
        tick, ons = 0, []
        for msg in mt:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                ons.append((tick, msg.note, msg.channel))
        assert sorted((t, p) for t, p, _ in ons) == sorted(
            (int(round(n.start * TICKS_PER_BEAT)), n.pitch) for n in track.notes)
        channels = {c for _, _, c in ons}
        assert channels == {9} if track.is_drums else 9 not in channels
