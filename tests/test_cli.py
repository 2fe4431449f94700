"""The command line: ``python ai_music_system.py generate ...`` and ``python ai_music_system.py`` (serve)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import soundfile as sf

from .midi_files import TUNE, midi_bytes
from .conftest import PROJECT_ROOT, free_port, http_request, server_env, stop_process, wait_until_healthy

ENTRY = str(PROJECT_ROOT / "ai_music_system.py")
API_FIELDS = ["id", "filename", "download_url", "style", "duration", "tempo", "key", "seed", "temperature",
              "sample_rate", "channels", "bars", "time_signature", "model", "generation_time_ms", "format"]


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    env = server_env(cwd / "unused-output", 0)
    return subprocess.run([sys.executable, ENTRY, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_generate_writes_the_file_and_prints_the_api_metadata(tmp_path, server):
    out = tmp_path / "jazz.wav"
    done = run_cli("generate", "--style", "jazz", "--duration", "3", "--seed", "7", "--key", "D minor",
                   "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    meta = json.loads(done.stdout)
    assert list(meta) == API_FIELDS
    assert (meta["style"], meta["seed"], meta["key"], meta["filename"]) == ("jazz", 7, "D minor", "jazz.wav")
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_16")
    assert info.frames / 44100 == pytest.approx(3.0, rel=0.01)
    assert meta["duration"] == pytest.approx(info.frames / 44100, abs=1e-3)
    assert not [p for p in tmp_path.iterdir() if p.name != "jazz.wav"], "no temporary file left behind"

    # The CLI and the HTTP API render the same request to the same bytes.
    created = server.post_json("/api/generate", {"style": "jazz", "duration": 3, "seed": 7, "key": "D minor"})
    assert created.status == 201
    assert server.get(created.json()["download_url"]).body == out.read_bytes()
    assert created.json()["model"] == meta["model"]


def test_generate_takes_the_musical_controls_and_a_primer_file(tmp_path):
    primer = tmp_path / "tune.mid"
    primer.write_bytes(midi_bytes(TUNE, qpm=90, key="G"))
    out = tmp_path / "blues.wav"
    done = run_cli("generate", "--style", "blues", "--duration", "12", "--seed", "3", "--energy", "0.8",
                   "--time-signature", "12/8", "--instrument", "melody=sax", "--primer", str(primer),
                   "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    meta = json.loads(done.stdout)
    assert (meta["time_signature"], meta["key"], meta["tempo"]) == ("12/8", "G major", 60)   # 90 quarters: 60 pulses
    assert sf.info(str(out)).frames / 44100 == pytest.approx(12.0, rel=0.01)


@pytest.mark.parametrize(("args", "field"), [(["--style", "polka"], "style"),
                                             (["--style", "rock", "--tempo", "300"], "tempo"),
                                             (["--style", "rock", "--time-signature", "3/4"], "time_signature"),
                                             (["--style", "jazz", "--instrument", "melody=kazoo"],
                                              "instruments.melody"),
                                             (["--style", "jazz", "--instrument", "melody"], "instruments"),
                                             (["--style", "jazz", "--primer", "/etc/hostname"], "primer.midi"),
                                             (["--style", "jazz", "--primer", "/no/such.mid"], "primer.midi")])
def test_invalid_arguments_exit_2_with_the_api_error(tmp_path, args, field):
    out = tmp_path / "x.wav"
    done = run_cli("generate", *args, "-o", str(out), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    error = json.loads(done.stderr.strip().splitlines()[-1])["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith(field + " ")
    assert not out.exists()


def test_generate_needs_style_and_output(tmp_path):
    done = run_cli("generate", "--style", "jazz", cwd=tmp_path)
    assert done.returncode == 2 and "--output" in done.stderr


def test_running_the_module_serves_the_api(tmp_path):
    port = free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, ENTRY], cwd=tmp_path, env=server_env(tmp_path / "output", port),
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(proc, "127.0.0.1", port, log_path)
        root = http_request("127.0.0.1", port, "GET", "/", headers={"Accept": "application/json"})
        assert root.status == 200
        assert root.json()["name"] == "AI Music Generation System"
        assert b"gunicorn" in log_path.read_bytes().lower(), "served by gunicorn, not a development server"
    finally:
        stop_process(proc)
    assert proc.returncode == 0


def test_batch_writes_every_track_with_a_progress_bar(tmp_path):
    out = tmp_path / "jazz"
    done = run_cli("batch", "--style", "jazz", "--count", "3", "--duration", "1", "--seed", "40", "-o", str(out),
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [item["seed"] for item in lines] == [40, 41, 42]
    assert sorted(p.name for p in out.iterdir()) == [f"jazz_00{i}_seed{39 + i}.wav" for i in (1, 2, 3)]
    for item in lines:
        info = sf.info(item["file"])
        assert info.frames == 44100 and info.channels == 2
    assert "3 s of audio" in done.stderr and "100%" in done.stderr, "tqdm shows the audio rendered"


def test_batch_and_worker_refuse_what_they_cannot_do(tmp_path):
    bad = run_cli("batch", "--style", "jazz", "--count", "0", "-o", str(tmp_path / "x"), cwd=tmp_path)
    assert bad.returncode == 2 and json.loads(bad.stderr)["error"]["details"][0]["field"] == "count"
    worker = run_cli("worker", cwd=tmp_path)
    assert worker.returncode == 2 and "BROKER_URL" in worker.stderr
