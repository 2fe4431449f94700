"""Every file format, read back by independent decoders: ffmpeg for audio, mido for MIDI, jsonschema for JSON."""
from __future__ import annotations

import io
import json
import shutil
import subprocess

import mido
import numpy as np
import pytest
import soundfile as sf

from aimusic.audio_io import to_pcm16
from aimusic.compose.markov import MarkovMelodist
from aimusic.encode.audio import AUDIO_FORMATS, AudioTags, encoded_bytes
from aimusic.encode.midi import DRUM_CHANNEL, GM_PROGRAMS, TICKS_PER_BEAT, key_signature_name, score_to_midi
from aimusic.encode.score_json import ScoreDocument, score_document
from aimusic.pipeline import GenerationRequest, compose_piece, generate
from aimusic.theory import Key, parse_key

SR = 44100
_TRACKS: dict[tuple[str, float], object] = {}


def track(style: str = "jazz", duration: float = 30.0):
    """One rendered track per (style, duration) in this module."""
    if (style, duration) not in _TRACKS:
        _TRACKS[style, duration] = generate(GenerationRequest(style=style, duration=duration, seed=11),
                                            MarkovMelodist())
    return _TRACKS[style, duration]


def ffmpeg_decode(data: bytes) -> np.ndarray:
    """(n, 2) float32 samples of an encoded file as ffmpeg decodes it (CI installs Debian's ffmpeg)."""
    assert shutil.which("ffmpeg"), "ffmpeg is needed to check the encoders (apt-get install ffmpeg)"
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", "pipe:0", "-f", "f32le", "-ac", "2", "-ar", str(SR),
                          "pipe:1"], input=data, capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=np.float32).reshape(-1, 2)


def ffprobe_tags(data: bytes, path) -> dict[str, str]:
    """Every tag ffprobe finds in the file's container and streams, with lower-case names."""
    path.write_bytes(data)   # a file, not a pipe: an ID3v1 tag sits at the end of an MP3
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                          str(path)], capture_output=True, check=True).stdout
    info = json.loads(out)
    tags = dict(info.get("format", {}).get("tags", {}))
    for stream in info.get("streams", []):
        tags.update(stream.get("tags", {}))
    return {k.lower(): v for k, v in tags.items()}


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_every_format_decodes_by_ffmpeg_to_the_length_without_clipping(fmt: str) -> None:
    made = track()
    data = encoded_bytes(made.audio, fmt=fmt, sr=SR, tags=AudioTags("Jazz 0123456789ab", "seed=11 style=jazz"))
    decoded = ffmpeg_decode(data)
    assert decoded.shape[0] == pytest.approx(made.audio.shape[0], rel=0.01)
    assert float(np.max(np.abs(decoded))) < 1.0, f"{fmt} decodes to a clipped sample"
    n = min(decoded.shape[0], made.audio.shape[0])
    # aligned to the sample: the encoder delay is taken off, not just the length right
    corr = np.corrcoef(decoded[:n].ravel(), made.audio[:n].ravel())[0, 1]
    assert corr > (0.9999 if fmt in ("wav", "flac") else 0.98), f"{fmt}: correlation {corr:.4f}"


@pytest.mark.parametrize("fmt", ["flac", "mp3", "ogg"])
def test_tags_carry_title_and_seed(fmt: str, tmp_path) -> None:
    data = encoded_bytes(track().audio, fmt=fmt, sr=SR, tags=AudioTags("Jazz 0123456789ab", "seed=11 style=jazz"))
    tags = ffprobe_tags(data, tmp_path / f"tagged.{fmt}")
    assert tags.get("title") == "Jazz 0123456789ab"
    assert "seed=11" in tags.get("comment", ""), tags


def test_flac_is_the_wav_sample_for_sample() -> None:
    audio = track().audio
    wav, _ = sf.read(io.BytesIO(encoded_bytes(audio, fmt="wav", sr=SR)), dtype="int16")
    flac, _ = sf.read(io.BytesIO(encoded_bytes(audio, fmt="flac", sr=SR)), dtype="int16")
    assert np.array_equal(flac, wav) and np.array_equal(wav, to_pcm16(audio))
    by_ffmpeg = np.round(ffmpeg_decode(encoded_bytes(audio, fmt="flac", sr=SR)) * 32768.0).astype(np.int16)
    assert np.array_equal(by_ffmpeg, wav), "an independent decoder gets the same samples"


def test_mp3_is_320_kbps_cbr_stereo_44100() -> None:
    data = encoded_bytes(track().audio, fmt="mp3", sr=SR)
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "pipe:0"],
                         input=data, capture_output=True, check=True).stdout
    stream = json.loads(out)["streams"][0]
    assert stream["codec_name"] == "mp3" and int(stream["sample_rate"]) == SR and stream["channels"] == 2
    seconds = track().audio.shape[0] / SR
    assert len(data) * 8 / seconds / 1000 == pytest.approx(320, rel=0.03)


def test_int16_input_encodes_as_the_float_it_came_from() -> None:
    audio = track().audio
    for fmt in ("wav", "flac"):
        assert encoded_bytes(to_pcm16(audio), fmt=fmt, sr=SR) == encoded_bytes(audio, fmt=fmt, sr=SR)


@pytest.mark.parametrize("text, expected", [("F major", "F"), ("C# minor", "C#m"), ("Eb major", "Eb"),
                                            ("D minor", "Dm"), ("B major", "B"), ("G# minor", "G#m")])
def test_key_signature_names(text: str, expected: str) -> None:
    assert key_signature_name(parse_key(text)) == expected


def test_key_signature_of_a_mode_is_its_relative_major() -> None:
    assert key_signature_name(Key(2, "dorian")) == "C"


@pytest.mark.parametrize("style", ["classical", "jazz", "rock", "electronic"])
def test_midi_round_trip_has_tracks_tempo_meter_key_and_the_notes(style: str) -> None:
    plan, score, _ = compose_piece(GenerationRequest(style=style, duration=20.0, seed=4), MarkovMelodist())
    buffer = io.BytesIO()
    score_to_midi(score).save(file=buffer)
    midi = mido.MidiFile(file=io.BytesIO(buffer.getvalue()))
    assert midi.type == 1 and midi.ticks_per_beat == TICKS_PER_BEAT
    assert len(midi.tracks) == 1 + len(score.tracks)
    meta = {m.type: m for m in reversed(midi.tracks[0]) if m.is_meta}   # the first of each kind
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (score.beats_per_bar,
                                                                                       score.beat_unit)
    assert meta["key_signature"].key == key_signature_name(parse_key(score.key_name))
    assert mido.tempo2bpm(meta["set_tempo"].tempo) == pytest.approx(plan.tempo, abs=0.01)
    markers = [m.text for m in midi.tracks[0] if m.type == "marker"]
    assert markers == [label for label, _ in score.sections]
    for part, mt in zip(score.tracks, midi.tracks[1:]):
        names = [m.name for m in mt if m.type == "track_name"]
        assert names == [part.name]
        programs = [m.program for m in mt if m.type == "program_change"]
        if not part.is_drums:
            assert programs == [GM_PROGRAMS[part.instrument]]
        tick, ons = 0, []
        for msg in mt:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                ons.append((tick, msg.note, msg.velocity, msg.channel))
        expected = sorted((int(round(n.start * TICKS_PER_BEAT)), n.pitch, max(1, round(n.velocity * 127)))
                          for n in part.notes)
        assert sorted((t, p, v) for t, p, v, _ in ons) == expected
        channels = {c for *_, c in ons}
        assert channels == {DRUM_CHANNEL} if part.is_drums else DRUM_CHANNEL not in channels


def test_midi_keeps_swing_and_humanised_timing_as_played() -> None:
    _, score, _ = compose_piece(GenerationRequest(style="jazz", duration=20.0, seed=4), MarkovMelodist())
    buffer = io.BytesIO()
    score_to_midi(score).save(file=buffer)
    midi = mido.MidiFile(file=io.BytesIO(buffer.getvalue()))
    ticks = []
    for mt in midi.tracks[1:]:
        tick = 0
        for msg in mt:
            tick += msg.time
            if msg.type == "note_on":
                ticks.append(tick)
    off_grid = np.mod(np.asarray(ticks), TICKS_PER_BEAT // 4) != 0
    assert off_grid.mean() > 0.3, "onsets are written as played, not quantised to sixteenths"


def test_midi_tempo_map_keeps_the_final_ritardando() -> None:
    _, score, _ = compose_piece(GenerationRequest(style="classical", duration=30.0, seed=4), MarkovMelodist())
    assert score.tempo.ritard_start is not None
    midi = score_to_midi(score)
    tempi = [mido.tempo2bpm(m.tempo) for m in midi.tracks[0] if m.type == "set_tempo"]
    assert len(tempi) > 2 and tempi[0] == pytest.approx(score.tempo.bpm) and tempi[-1] < tempi[0]
    assert midi.length == pytest.approx(float(score.tempo.seconds(score.end_beat())), abs=0.05)


def test_score_json_holds_every_note_and_validates_against_its_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    plan, score, _ = compose_piece(GenerationRequest(style="rock", duration=20.0, seed=4), MarkovMelodist())
    doc = json.loads(score_document(score, plan).model_dump_json())
    jsonschema.validate(doc, ScoreDocument.model_json_schema())
    assert doc["key"]["name"] == score.key_name and doc["meter"]["numerator"] == score.beats_per_bar
    assert doc["tempo_map"][0] == {"beat": 0.0, "seconds": 0.0, "bpm": float(plan.tempo)}
    assert [s["name"] for s in doc["sections"]] == [label for label, _ in score.sections]
    assert sum(s["bars"] for s in doc["sections"]) == plan.total_bars == doc["bars"]
    assert len(doc["chords"]) == len(plan.chords)
    assert [(p["name"], p["role"], p["instrument"]) for p in doc["parts"]] == [
        (t.name, t.role, t.instrument) for t in score.tracks]
    for part, t in zip(doc["parts"], score.tracks):
        assert [(n["pitch"], n["start_beat"]) for n in part["notes"]] == [(n.pitch, round(n.start, 5))
                                                                          for n in t.notes]
        seconds = score.tempo.seconds(np.array([n.start for n in t.notes]))
        assert np.allclose([n["start_s"] for n in part["notes"]], seconds, atol=1e-4)
        assert part["channel"] == (10 if t.is_drums else part["channel"])


LONG_ENCODE = """
import threading, numpy as np
from aimusic.encode.audio import encoded_bytes
y = (np.random.default_rng(0).standard_normal((int(90 * 44100), 2)) * 0.1).astype(np.float32)
sizes = {}
threading.stack_size(1 << 20)   # a server thread's stack, smaller than the main thread's
def work():
    for fmt in ("ogg", "mp3", "flac"):
        sizes[fmt] = len(encoded_bytes(y, fmt=fmt, sr=44100))
t = threading.Thread(target=work)
t.start(); t.join()
print(sorted(sizes))
"""


def test_long_tracks_encode_in_a_thread_without_overflowing_its_stack() -> None:
    """90 s in a 1 MiB-stack thread (libsndfile's Vorbis encoder once crashed the process at 60 s)."""
    import sys
    from pathlib import Path

    done = subprocess.run([sys.executable, "-c", LONG_ENCODE], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['flac', 'mp3', 'ogg']"
