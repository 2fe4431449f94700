"""The whole pipeline, measured on its real output: length, level, tempo, key, reproducibility."""
from __future__ import annotations

import numpy as np
import pytest

from aimusic.compose.markov import MarkovMelodist
from aimusic.config import SAMPLE_RATE
from aimusic.pipeline import GenerationRequest, GeneratedTrack, generate
from aimusic.styles import STYLE_NAMES, STYLES
from aimusic.theory import parse_key

from aimusic.analysis import click_positions, estimate_key, estimate_tempo, swing_ratio

MARKOV = MarkovMelodist()
_CACHE: dict[GenerationRequest, GeneratedTrack] = {}


def render(request: GenerationRequest, melodist=MARKOV) -> GeneratedTrack:
    """Generate once per distinct request within the test session (renders are the slow part)."""
    key = request if melodist is MARKOV else None
    if key is not None and key in _CACHE:
        return _CACHE[key]
    track = generate(request, melodist)
    if key is not None:
        _CACHE[key] = track
    return track


@pytest.mark.parametrize("style", STYLE_NAMES)
@pytest.mark.parametrize("duration", [2.0, 17.3])
def test_length_rate_and_peak(style: str, duration: float) -> None:
    track = render(GenerationRequest(style=style, duration=duration, seed=3))
    audio = track.audio
    assert track.sample_rate == SAMPLE_RATE
    assert audio.dtype == np.float32 and audio.ndim == 2 and audio.shape[1] == 2
    assert audio.shape[0] / SAMPLE_RATE == pytest.approx(duration, rel=0.01)
    assert np.isfinite(audio).all()
    peak_db = 20 * np.log10(np.abs(audio).max())
    assert peak_db <= -1.0 + 1e-3
    assert peak_db > -30.0, "the track is audible"
    assert abs(audio[-1]).max() < 1e-3, "the file ends in silence, not a cut"


# Tempi inside each rhythmic style's range, and classical's running eighths at slow and moderate
# tempi; the tracker must hear them within 4% (a doubled or halved tempo is a miss). The blues is
# heard both as a slow 12/8 and a shuffle.
TEMPO_CASES = [(s, t) for s, tempi in {"classical": (60, 72, 96, 140), "jazz": (100, 140, 160, 180),
                                        "rock": (100, 125, 160), "blues": (62, 70, 95, 120),
                                        "electronic": (115, 128, 142, 150)}.items()
               for t in tempi]


# Jazz at 160 and 180 plays its up-tempo arrangement (aimusic.tempo_feel); before it, jazz at 180
# was heard at half its tempo on 7 seeds of 8.
@pytest.mark.parametrize("style, tempo", TEMPO_CASES)
def test_beat_tracker_hears_the_asked_tempo(style: str, tempo: int) -> None:
    # three seeds, at least two heard at the tempo: the tracker hears a few arrangements an
    # octave off (electronic at 142: about one seed in twelve, at half the tempo), a wrong
    # tempo on most of them is ours
    heard = [estimate_tempo(track.audio, sr=track.sample_rate)
             for track in (render(GenerationRequest(style=style, duration=24.0, tempo=tempo, seed=seed))
                           for seed in (5, 6, 7))]
    right = [abs(h - tempo) <= 0.04 * tempo for h in heard]
    assert sum(right) >= 2, f"{style} at {tempo} BPM heard as {', '.join(f'{h:.1f}' for h in heard)}"


KEY_CASES = [("classical", "D major"), ("jazz", "Bb major"), ("rock", "E minor"), ("blues", "A major"),
             ("electronic", "F minor"), ("ambient", "C major"), ("classical", "G minor"), ("rock", "G major")]


@pytest.mark.parametrize("style, key", KEY_CASES)
def test_key_from_chroma_matches_the_asked_key(style: str, key: str) -> None:
    track = render(GenerationRequest(style=style, duration=30.0, key=key, seed=8))
    assert track.plan.key == parse_key(key)
    tonic, mode = estimate_key(track.audio, sr=track.sample_rate)
    asked = parse_key(key)
    assert (tonic, mode) == (asked.tonic, asked.mode), f"{style} in {key} heard as {tonic} {mode}"


@pytest.mark.parametrize("style", STYLE_NAMES)
def test_same_seed_same_samples_other_seed_other_music(style: str) -> None:
    a = generate(GenerationRequest(style=style, duration=6.0, seed=42), MARKOV)
    b = generate(GenerationRequest(style=style, duration=6.0, seed=42), MARKOV)
    c = generate(GenerationRequest(style=style, duration=6.0, seed=43), MARKOV)
    assert np.array_equal(a.audio, b.audio)
    assert a.audio.shape == c.audio.shape and not np.allclose(a.audio, c.audio, atol=1e-3)


@pytest.mark.parametrize("style", STYLE_NAMES)
@pytest.mark.parametrize("seed, duration", [(3, 17.3), (12, 30.0), (29, 30.0)])
def test_no_clicks_in_the_mix(style: str, seed: int, duration: float) -> None:
    # the listener's detector: second-difference spikes 30x over the neighbourhood, >= 0.02 FS
    track = render(GenerationRequest(style=style, duration=duration, seed=seed))
    clicks = click_positions(track.audio, sr=track.sample_rate)
    assert len(clicks) == 0, f"clicks at {clicks[:10] / track.sample_rate} s"


def test_click_detector_finds_a_step_and_passes_a_loud_entry() -> None:
    sr = SAMPLE_RATE
    t = np.arange(2 * sr) / sr
    tone = 0.3 * np.sin(2 * np.pi * 110.0 * t)
    assert len(click_positions(tone, sr=sr)) == 0
    stepped = tone.copy()
    stepped[sr:] += 0.05                                   # a DC step: the classic click
    found = click_positions(stepped, sr=sr)
    assert len(found) == 1 and abs(int(found[0]) - sr) <= 2
    entry = tone.copy()                                    # bright noise entering at full level
    noise = np.random.default_rng(0).standard_normal(sr // 2) * 0.2
    entry[sr:sr + sr // 2] += noise
    assert len(click_positions(entry, sr=sr)) == 0
    spike = tone.copy()
    spike[sr // 2] += 0.1                                  # one bad sample, in one channel
    assert len(click_positions(np.stack([tone, spike], axis=1), sr=sr)) == 1, "each channel is checked"


def test_seed_is_reported_when_not_given() -> None:
    track = generate(GenerationRequest(style="rock", duration=2.0), MARKOV)
    assert 0 <= track.seed <= 2**32 - 1
    again = generate(GenerationRequest(style="rock", duration=2.0, seed=track.seed), MARKOV)
    assert np.array_equal(track.audio, again.audio)


@pytest.mark.parametrize("style, tempo", [("jazz", 100), ("jazz", 150), ("blues", 80), ("blues", 110),
                                          ("rock", 120), ("electronic", 126)])
def test_swing_heard_in_the_onsets(style: str, tempo: int) -> None:
    track = render(GenerationRequest(style=style, duration=20.0, tempo=tempo, seed=1))
    ratio, count = swing_ratio(track.audio, sr=track.sample_rate, tempo=tempo)
    assert count >= 10
    assert ratio == pytest.approx(STYLES[style].swing, abs=0.03), f"{style}: off-beats at {ratio:.3f}"
