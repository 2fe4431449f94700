"""Synthesizer: measured properties of rendered notes, drum hits and stems."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from aimusic.errors import ParameterError
from aimusic.score import (CLOSED_HAT, CRASH, KICK, OPEN_HAT, PEDAL_HAT, RIDE, SNARE, Note, Score, TempoMap,
                           Track)
from aimusic.styles import STYLES
from aimusic.synth.additive import sum_partials
from aimusic.synth.colour import colour_whole
from aimusic.synth.drums import KITS, get_kit, render_hit
from aimusic.synth.instruments import TIMBRES, get_timbre
from aimusic.synth.levels import stem_level_db
from aimusic.synth.notes import DRUM_CACHE, RenderNotes, drum_hit
from aimusic.synth.render import NOTE_CACHE, NoteCache, render_stems, render_track, track_streams
from aimusic.synth.stream import TrackStream
from aimusic.synth.voice import midi_to_hz, render_note

SR = 44100
TEMPO = TempoMap(bpm=120.0)   # one beat = 0.5 s


def one_note(instrument: str, pitch: int, *, beats: float = 2.0, velocity: float = 0.8,
             seconds: float = 2.0) -> np.ndarray:
    track = Track("melody", instrument, "melody", [Note(0.0, beats, pitch, velocity)])
    return render_track(track, TEMPO, sr=SR, n_samples=int(seconds * SR))


def spectrum(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mag = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return np.fft.rfftfreq(y.size, 1.0 / SR), mag


def centroid(y: np.ndarray) -> float:
    f, mag = spectrum(y)
    return float(np.sum(f * mag) / np.sum(mag))


def attack_time(y: np.ndarray) -> float:
    """Seconds until the 10 ms RMS envelope first reaches 90 % of its maximum."""
    env = np.sqrt(np.convolve(y.astype(np.float64) ** 2, np.ones(441) / 441, mode="same"))
    return float(np.argmax(env >= 0.9 * env.max()) / SR)


def clicks(y: np.ndarray, *, ratio: float = 12.0) -> int:
    """Samples whose second difference towers over the local (5 ms) level: steps, clicks."""
    d2 = np.abs(np.diff(y.astype(np.float64), n=2))
    local = np.sqrt(np.convolve(d2 ** 2, np.ones(221) / 221, mode="same")) + 1e-12
    floor = 1e-4 * float(np.max(np.abs(y)))
    return int(np.sum((d2 > ratio * local) & (d2 > floor)))


def band_share(y: np.ndarray, lo: float, hi: float) -> float:
    f, mag = spectrum(y)
    power = mag ** 2
    return float(np.sum(power[(f >= lo) & (f < hi)]) / np.sum(power))


def test_sum_partials_matches_direct_formula():
    freqs = np.array([220.0, 440.0, 1234.5, 9000.0])
    amps = np.array([1.0, 0.5, 0.3, 0.2])
    decays = np.array([0.5, 2.0, 40.0, 300.0])
    phases = np.array([0.0, 1.0, 2.0, 3.0])
    n = 30001
    t = np.arange(n) / SR
    direct = np.sum(amps[:, None] * np.exp(-decays[:, None] * t)
                    * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None]), axis=0)
    fast = sum_partials(freqs, amps, decays, phases, sr=SR, n=n)
    assert fast.dtype == np.float32 and fast.shape == (n,)
    np.testing.assert_allclose(fast, direct, atol=2e-4)


def test_every_instrument_of_every_style_exists():
    for style in STYLES.values():
        for part in style.parts:
            for name in part.instruments:
                if part.role == "drums":
                    assert get_kit(name)
                else:
                    assert get_timbre(name).name == name


@pytest.mark.parametrize("name", ["kazoo", "acoustic_kit"])
def test_unknown_pitched_instrument_raises(name):
    score = Score([Track("melody", name, "melody", [Note(0.0, 1.0, 60)])], TEMPO, 4, 4, "C major", 1.0)
    with pytest.raises(ParameterError, match="instrument"):
        render_stems(score, sr=SR, n_samples=SR)


def test_unknown_kit_raises():
    track = Track("drums", "tabla", "drums", [Note(0.0, 1.0, KICK)])
    with pytest.raises(ParameterError, match="tabla"):
        render_track(track, TEMPO, sr=SR, n_samples=SR)


@pytest.mark.parametrize("name", sorted(TIMBRES))
def test_high_note_has_no_partials_folded_below_its_fundamental(name):
    # C8: partial 6 would be 25 kHz; nothing may fold back below 4186 Hz
    # tone only (noise is broadband) and no instrument band limit: the Nyquist guard must act
    timbre = replace(get_timbre(name), noise=0.0, transient=0.0, max_hz=1e9)
    f0 = midi_to_hz(108)
    y = render_note(timbre, 108, 1.0, SR // 2, sr=SR, rng=np.random.default_rng(0))
    f, mag = spectrum(y)
    power = mag ** 2
    lowest = min(timbre.ratios) if timbre.ratios else 1.0
    below = power[(f > 40.0) & (f < 0.85 * f0 * lowest)].sum()
    assert 10 * np.log10(below / power.sum() + 1e-30) < -60.0


@pytest.mark.parametrize("name", sorted(TIMBRES))
def test_notes_start_and_end_at_zero_without_clicks(name):
    notes = [Note(0.0, 1.0, 60, 0.9), Note(1.0, 0.25, 64, 0.5), Note(1.25, 0.75, 67, 0.7),
             Note(2.5, 0.5, 72, 1.0)]
    y = render_track(Track("melody", name, "melody", notes), TEMPO, sr=SR, n_samples=4 * SR)
    assert np.all(np.isfinite(y))
    assert abs(y[0]) < 1e-3 * np.max(np.abs(y)) and abs(y[-1]) < 1e-6
    assert clicks(y) == 0


@pytest.mark.parametrize("kit", sorted(KITS))
def test_drum_hits_start_and_end_at_zero_without_clicks(kit):
    for pitch, spec in get_kit(kit).items():
        for layer in (0, 3):
            hit = render_hit(spec, layer, sr=SR, rng=np.random.default_rng(1))
            assert abs(hit[0]) < 1e-2 * np.max(np.abs(hit)) and abs(hit[-1]) < 1e-6, pitch
            padded = np.concatenate([np.zeros(500, np.float32), hit, np.zeros(500, np.float32)])
            assert clicks(padded, ratio=20.0) == 0, pitch


def test_timbres_are_measurably_different():
    lead = one_note("synth_lead", 72)
    keys = one_note("piano", 60)
    bass = one_note("electric_bass", 36)
    pad = one_note("synth_pad", 60, beats=4.0, seconds=3.0)
    brass = one_note("brass", 60)
    # keys and bass strike, the pad swells in over most of a second, brass swells a little
    assert attack_time(keys) < 0.02 and attack_time(bass) < 0.02
    assert attack_time(pad) > 0.4
    assert 0.02 < attack_time(brass) < 0.2
    # spectral centroid: bass darkest, the detuned saw lead brighter than the piano
    assert centroid(bass) < 0.8 * centroid(keys)
    assert centroid(lead) > 1.3 * centroid(keys)
    assert centroid(brass) > 1.3 * centroid(keys)


def test_piano_velocity_changes_brightness_not_only_level():
    soft = one_note("piano", 60, velocity=0.3)
    hard = one_note("piano", 60, velocity=1.0)
    assert np.max(np.abs(hard)) > 3 * np.max(np.abs(soft))
    assert centroid(hard) > 1.2 * centroid(soft)


def test_piano_partials_are_stretched():
    y = render_note(replace(get_timbre("piano"), unison=1, transient=0.0), 48, 1.0, SR, sr=SR,
                    rng=np.random.default_rng(0))
    f, mag = spectrum(y[: SR // 2])
    f0 = midi_to_hz(48)
    near = (f > 11.5 * f0) & (f < 12.5 * f0)
    peak = f[near][np.argmax(mag[near])]
    assert peak > 12.0 * f0 * 1.001   # the 12th partial sits sharp of 12 f0


@pytest.mark.parametrize("kit", sorted(KITS))
def test_drum_spectra(kit):
    pieces = get_kit(kit)

    def hit(pitch):
        return render_hit(pieces[pitch], 3, sr=SR, rng=np.random.default_rng(2))

    assert band_share(hit(KICK), 0.0, 200.0) > 0.6
    assert band_share(hit(CLOSED_HAT), 5000.0, SR / 2) > 0.7
    assert band_share(hit(OPEN_HAT), 5000.0, SR / 2) > 0.7
    assert band_share(hit(CRASH), 2500.0, SR / 2) > 0.8
    assert band_share(hit(RIDE), 2000.0, SR / 2) > 0.8
    assert centroid(hit(KICK)) < centroid(hit(SNARE)) < centroid(hit(CLOSED_HAT))
    # an open hat rings far longer than a closed one
    assert attack_time(hit(OPEN_HAT)) >= 0.0
    assert np.sum(hit(OPEN_HAT) ** 2) > 3 * np.sum(hit(CLOSED_HAT) ** 2)


def test_harder_snare_is_brighter():
    spec = get_kit("acoustic_kit")[SNARE]
    soft = render_hit(spec, 0, sr=SR, rng=np.random.default_rng(3))
    hard = render_hit(spec, 3, sr=SR, rng=np.random.default_rng(3))
    assert centroid(hard) > 1.15 * centroid(soft)


def test_electronic_kick_booms_longer_than_the_jazz_kick():
    def ring(kit):
        y = render_hit(get_kit(kit)[KICK], 3, sr=SR, rng=np.random.default_rng(4)).astype(np.float64)
        energy = np.cumsum(y ** 2)
        return np.argmax(energy >= 0.9 * energy[-1]) / SR

    assert ring("electronic_kit") > 1.5 * ring("jazz_kit")


def small_score() -> Score:
    melody = Track("melody", "violin", "melody", [Note(0.0, 1.5, 72, 0.8), Note(1.5, 0.5, 74, 0.6),
                                                    Note(2.0, 7.0, 76, 0.9)], pan=0.2)
    harmony = Track("harmony", "electric_piano", "harmony",
                    [Note(b, 1.0, p, 0.6) for b in (0.0, 2.0, 4.0) for p in (60, 64, 67)])
    bass = Track("bass", "upright_bass", "bass", [Note(float(b), 1.0, 36 + (b % 3), 0.8) for b in range(8)])
    drums = Track("drums", "jazz_kit", "drums",
                  [Note(b * 0.5, 0.25, RIDE if b % 2 else CLOSED_HAT, 0.5 + 0.05 * (b % 4)) for b in range(16)]
                  + [Note(0.0, 0.5, KICK, 0.9), Note(2.0, 0.5, KICK, 0.9), Note(3.0, 0.5, SNARE, 0.7)])
    return Score([melody, harmony, bass, drums], TEMPO, 4, 4, "C major", 4.0)


def test_stems_are_exact_length_float32_and_deterministic():
    n = int(3.3 * SR)                   # shorter than the score: notes are cut, not the contract
    NOTE_CACHE.clear()
    first = render_stems(small_score(), sr=SR, n_samples=n)      # cold
    second = render_stems(small_score(), sr=SR, n_samples=n)     # every note from the cache
    assert set(first) == {"melody", "harmony", "bass", "drums"}
    for name, stem in first.items():
        assert stem.dtype == np.float32 and stem.shape == (n,)
        assert np.max(np.abs(stem)) > 0.05, name
        np.testing.assert_array_equal(stem, second[name])


def test_note_starting_past_the_end_is_dropped():
    track = Track("melody", "flute", "melody", [Note(0.0, 1.0, 72), Note(20.0, 1.0, 74)])
    stem = render_track(track, TEMPO, sr=SR, n_samples=SR)
    assert stem.shape == (SR,)
    assert np.all(np.isfinite(stem))


def test_empty_track_is_silence():
    stem = render_track(Track("pad", "synth_pad", "pad", []), TEMPO, sr=SR, n_samples=1000)
    assert stem.shape == (1000,) and not np.any(stem)


def test_vibrato_moves_the_pitch():
    y = one_note("violin", 69, beats=4.0, seconds=2.0)
    # the fundamental's frequency, window by window, wobbles around 440 Hz (20 cents = +-5 Hz)
    peaks = []
    for start in np.arange(0.6, 1.8, 0.05):
        w = y[int(start * SR):int(start * SR) + 4410] * np.hanning(4410)
        mag = np.abs(np.fft.rfft(w, 1 << 17))
        f = np.fft.rfftfreq(1 << 17, 1.0 / SR)
        band = (f > 400) & (f < 480)
        peaks.append(f[band][np.argmax(mag[band])])
    assert abs(np.mean(peaks) - 440.0) < 3.0
    assert 4.0 < np.ptp(peaks) < 16.0


def test_note_cache_stays_within_its_budget():
    cache = NoteCache(max_bytes=10_000)
    for k in range(10):
        cache.put(("x", k), np.zeros(1000, dtype=np.float32))          # 4000 bytes each
    assert cache.bytes <= 10_000
    assert cache.get(("x", 9)) is not None and cache.get(("x", 0)) is None


def test_drum_hits_are_kept_within_their_byte_budget():
    """Every kit in every tuning is far more than DRUM_CACHE_MB: the cache keeps its budget, and a
    hit it let go is synthesized again sample for sample."""
    DRUM_CACHE.clear()
    crash = drum_hit("jazz_kit", CRASH, 3, 0, sr=SR).copy()   # the longest hit, used first
    for tune in range(-6, 6):
        for kit in KITS:
            for layer in range(4):   # a kick follows the tuning: 12 new hits per kit and tuning, 63 MB in all
                for variant in range(3):
                    drum_hit(kit, KICK, layer, variant, sr=SR, tune=tune)
            assert 0 < DRUM_CACHE.bytes <= DRUM_CACHE.max_bytes
    assert DRUM_CACHE.get(("jazz_kit", CRASH, 3, 0, SR, 0)) is None   # the least recently used went first
    again = drum_hit("jazz_kit", CRASH, 3, 0, sr=SR)
    assert np.array_equal(again, crash) and not again.flags.writeable


def test_closing_hi_hat_chokes_the_open_one():
    def tail_energy(pitches):
        notes = [Note(0.0, 0.5, OPEN_HAT, 0.8)] + [Note(0.5, 0.25, p, 0.01) for p in pitches]
        y = render_track(Track("drums", "acoustic_kit", "drums", notes), TEMPO, sr=SR, n_samples=SR)
        return float(np.sum(y[int(0.3 * SR):].astype(np.float64) ** 2))

    assert tail_energy([PEDAL_HAT]) < 0.01 * tail_energy([KICK])


@pytest.mark.parametrize("key, hz", [("E minor", 41.2), ("A minor", 55.0), ("C major", 65.4)])
def test_kick_is_tuned_to_the_key(key, hz):
    kicks = Track("drums", "acoustic_kit", "drums", [Note(0.0, 1.0, KICK, 1.0)])
    stem = render_stems(Score([kicks], TEMPO, 4, 4, key, 1.0), sr=SR, n_samples=SR)["drums"]
    f, mag = spectrum(np.concatenate([stem[int(0.06 * SR):int(0.6 * SR)], np.zeros(3 * SR, np.float32)]))
    low = (f > 25) & (f < 100)
    assert f[low][np.argmax(mag[low])] == pytest.approx(hz, rel=0.03)


@pytest.mark.parametrize("name", ["organ", "synth_pad", "piano"])
def test_extreme_notes_render_finite_and_release_gracefully(name):
    notes = [Note(0.0, 0.001, 0, 0.01), Note(0.5, 200.0, 127, 1.0), Note(1.0, 200.0, 60, 1.0)]
    y = render_track(Track("pad", name, "pad", notes), TEMPO, sr=SR, n_samples=40 * SR)
    assert y.shape == (40 * SR,) and np.all(np.isfinite(y))
    assert clicks(y) == 0
    assert np.max(np.abs(y[int(36 * SR):])) < 1e-3 * np.max(np.abs(y))   # released by the 30 s cap


@pytest.mark.parametrize("kit", sorted(KITS))
def test_drum_hits_die_away_before_they_end(kit):
    for pitch, spec in get_kit(kit).items():
        y = render_hit(spec, 3, sr=SR, rng=np.random.default_rng(6)).astype(np.float64)
        env = np.sqrt(np.convolve(y ** 2, np.ones(441) / 441, mode="same"))
        tail = env[int(0.9 * y.size):].max() / env.max()
        assert 20 * np.log10(tail) < -30.0, pitch      # no cymbal stopped in mid-ring


def colour_score() -> Score:
    """Tracks whose stems are coloured as a whole: a rotary organ and a driven guitar, long notes."""
    organ = Track("harmony", "organ", "harmony", [Note(b, 3.0, p, 0.7) for b in (0.0, 3.0, 6.0) for p in (55, 60, 64)])
    guitar = Track("melody", "lead_guitar", "melody", [Note(b * 0.5, 0.5, 64 + b % 5, 0.8) for b in range(16)])
    pad = Track("pad", "strings", "pad", [Note(0.0, 30.0, 57, 0.6), Note(4.0, 2.0, 69, 0.6)])
    return Score([organ, guitar, pad, small_score().track("drums")], TEMPO, 4, 4, "C major", 4.0)


@pytest.mark.parametrize("chunk", [1, 997, 44100])
def test_streamed_stems_do_not_depend_on_the_chunk_size(chunk):
    n = int(4.7 * SR)
    whole = render_stems(colour_score(), sr=SR, n_samples=n)
    for name, stream in track_streams(colour_score(), sr=SR, n_samples=n).items():
        if chunk == 1:   # one sample at a time through the rotary's look-ahead: only the start
            parts = [stream.read(1) for _ in range(3000)]
            np.testing.assert_array_equal(np.concatenate(parts), whole[name][:3000])
            continue
        parts = []
        while stream.pos < n:
            parts.append(stream.read(chunk))
        streamed = np.concatenate(parts)
        assert streamed.shape == (n,)
        np.testing.assert_array_equal(streamed, whole[name])


def test_rotary_and_drive_colour_the_stem():
    n = 4 * SR
    score = colour_score()
    stems = render_stems(score, sr=SR, n_samples=n)
    organ = stems["harmony"].astype(np.float64)
    env = np.sqrt(np.convolve(organ ** 2, np.ones(441) / 441, mode="same"))[int(0.5 * SR):int(1.4 * SR)]
    assert 20 * np.log10(env.max() / env.min()) > 1.5          # the horn's tremolo
    # the same notes through the same amp at the clean guitar's drive keep more of their picked peaks
    stream = TrackStream(score.track("melody"), TEMPO, sr=SR, n_samples=n)
    ref, stream.colour = stream.peak, None
    dry = stream.render()
    lead = get_timbre("lead_guitar")
    hot = colour_whole(dry.copy(), lead, sr=SR, ref=ref)
    mild = colour_whole(dry.copy(), replace(lead, drive=get_timbre("clean_guitar").drive), sr=SR, ref=ref)
    np.testing.assert_array_equal(hot, stems["melody"])
    crest = [np.max(np.abs(y)) / np.sqrt(np.mean(y.astype(np.float64) ** 2)) for y in (hot, mild)]
    assert crest[0] < crest[1]                                                                # squashed peaks


@pytest.mark.parametrize("style", sorted(STYLES))
def test_predicted_track_level_matches_the_rendered_stem(style):
    from aimusic.compose.arrange import compose
    from aimusic.compose.markov import MarkovMelodist
    from aimusic.compose.planner import plan_song

    rng = np.random.default_rng(5)
    plan = plan_song(STYLES[style], duration=10.0, tempo=None, key=None, seed=5, rng=rng)
    score = compose(plan, STYLES[style], MarkovMelodist(), rng=rng)
    for name, stream in track_streams(score, sr=SR, n_samples=10 * SR).items():
        predicted = stream.level_db
        measured = stem_level_db(stream.render(), sr=SR)
        assert predicted == pytest.approx(measured, abs=1.5), name


def test_render_notes_keeps_only_the_tones_needed_again():
    timbre = get_timbre("flute")
    keys = [("flute", 60 + k, 6, 100, SR, 0) for k in range(3)]
    store = RenderNotes({keys[0]: [0, 10], keys[1]: [5], keys[2]: [7, 20]}, max_bytes=10 << 20)
    first = store.tone(keys[0], timbre)
    store.tone(keys[1], timbre)
    assert store.bytes == first[0].nbytes                   # the one-off tone is not kept
    store.tone(keys[2], timbre)
    assert store.tone(keys[0], timbre) is first             # repeated from the store
    store.tone(keys[2], timbre)
    assert store.bytes == 0                                 # every use made: nothing kept
    tight = RenderNotes({keys[0]: [0, 30], keys[2]: [7, 20]}, max_bytes=first[0].nbytes)
    tight.tone(keys[0], timbre)
    tight.tone(keys[2], timbre)
    assert tight.bytes <= first[0].nbytes and store.tone_of[keys[2]] in tight._kept   # the one needed sooner


def test_notes_of_one_pitch_and_velocity_are_cut_from_one_tone():
    NOTE_CACHE.clear()
    timbre = get_timbre("violin")                           # vibrato: the tone reads ahead of each note
    short, long = ("violin", 67, 5, 40, SR, 0), ("violin", 67, 5, 300, SR, 0)
    store = RenderNotes({long: [0], short: [9]})
    made = [store.get(long, timbre), store.get(short, timbre)]
    assert store.tone_of[short] == store.tone_of[long] and len(store.uses) == 1
    for key, y in zip((long, short), made):                 # each is what it is alone, to the bit
        np.testing.assert_array_equal(y, RenderNotes({key: [0]}).get(key, timbre))
        NOTE_CACHE.clear()
        np.testing.assert_array_equal(y, RenderNotes({key: [0]}).get(key, timbre))
        assert y[0] == 0.0 or abs(y[0]) < 1e-6
        assert abs(y[-1]) < 1e-6                            # both end on their own release
    assert made[0].shape[0] > made[1].shape[0]


@pytest.mark.parametrize("name", sorted(TIMBRES))
def test_a_tone_rendered_longer_starts_as_the_shorter_one_to_the_bit(name):
    # what lets one tone serve every held length, and the bytes not depend on which was kept
    from aimusic.synth.voice import note_core
    timbre = get_timbre(name)
    longest = note_core(timbre, 55, 0.7, 3 * SR + 777, sr=SR, rng=np.random.default_rng(5))
    for n in (441, 4096, 4097, 30001, SR + 3):
        tone, burst = note_core(timbre, 55, 0.7, n, sr=SR, rng=np.random.default_rng(5))
        assert tone.shape == (n,)
        np.testing.assert_array_equal(tone, longest[0][:n])
        if burst is not None:
            np.testing.assert_array_equal(burst, longest[1])
