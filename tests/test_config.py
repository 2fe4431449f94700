"""Settings come from the environment in one place and reach every part of the service."""
from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from aimusic.config import Settings
from aimusic.web import create_app

from .conftest import PROJECT_ROOT, captured_logs


def test_environment_variables_are_parsed():
    settings = Settings.from_env({
        "HOST": "127.0.0.1", "PORT": "8080", "OUTPUT_DIR": "/srv/music", "MAX_DURATION": "120",
        "LOG_LEVEL": "debug", "MELODY_ENGINE": "Markov", "RATE_LIMIT_PER_MINUTE": "10",
        "MAX_CONCURRENT_GENERATIONS": "2", "KEEP_FILES": "50", "MODEL_PATH": "/models/m.pt", "WARM_UP": "Off",
    })
    assert (settings.host, settings.port, settings.output_dir, settings.max_duration) == (
        "127.0.0.1", 8080, Path("/srv/music"), 120.0)
    assert (settings.log_level, settings.melody_engine, settings.rate_limit_per_minute) == ("DEBUG", "markov", 10)
    assert (settings.max_concurrent_generations, settings.keep_files, settings.model_path) == (
        2, 50, Path("/models/m.pt"))
    assert settings.warm_up is False and Settings.from_env({"WARM_UP": "yes"}).warm_up is True


def test_defaults_and_blank_values():
    settings = Settings.from_env({"PORT": "  ", "HOST": ""})
    assert (settings.host, settings.port, settings.max_duration) == ("0.0.0.0", 5001, 300.0)
    assert settings.rate_limit_per_minute == 0 and settings.melody_engine == "model"


@pytest.mark.parametrize(("env", "name"), [({"PORT": "http"}, "PORT"), ({"MAX_DURATION": "long"}, "MAX_DURATION"),
                                           ({"MELODY_ENGINE": "gpt"}, "MELODY_ENGINE"),
                                           ({"MAX_DURATION": "0"}, "MAX_DURATION"), ({"WARM_UP": "maybe"}, "WARM_UP")])
def test_invalid_values_are_refused_naming_the_variable(env, name):
    with pytest.raises(ValueError, match=name):
        Settings.from_env(env)


def test_create_app_applies_overrides(tmp_path, melodist_info):
    settings = Settings.from_env({"OUTPUT_DIR": str(tmp_path / "from-env")})
    app = create_app(settings, melodist=melodist_info, output_dir=tmp_path / "override", keep_files=3)
    service = app.extensions["aimusic"]
    assert service.output_dir == tmp_path / "override" and service.output_dir.is_dir()
    assert service.settings.keep_files == 3
    assert not (tmp_path / "from-env").exists()


def test_warm_up_renders_every_style_once_at_start_and_changes_no_track(tmp_path, melodist_info):
    def wav(warm: bool) -> bytes:
        app = create_app(Settings.from_env({}, output_dir=tmp_path / f"out-{warm}", warm_up=warm),
                         melodist=melodist_info)
        app.extensions["aimusic"].prepare()  # what a server does once before forking; the factory renders nothing
        created = app.test_client().post("/api/generate", json={"style": "jazz", "duration": 3, "seed": 5})
        return (tmp_path / f"out-{warm}" / created.get_json()["filename"]).read_bytes()

    with captured_logs("aimusic.service") as records:
        cold = wav(False)
        assert not any("warm-up" in r.getMessage() for r in records)
        warm = wav(True)
    assert any("warm-up: every style rendered once" in r.getMessage() for r in records)
    assert warm == cold, "caches are keyed by content: a warm process writes the same bytes"


def test_create_app_reads_the_environment(tmp_path, monkeypatch, melodist_info):
    monkeypatch.setenv("OUTPUT_DIR", str(tmp_path / "env-output"))
    monkeypatch.setenv("MAX_DURATION", "12")
    app = create_app(melodist=melodist_info)
    assert app.extensions["aimusic"].output_dir == tmp_path / "env-output"
    response = app.test_client().post("/api/generate", json={"style": "jazz", "duration": 13})
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "duration must be between 1 and 12"


def test_max_duration_bounds_validation_default_and_documentation(make_app):
    client = make_app(max_duration=5).test_client()
    schema = client.get("/openapi.json").get_json()["components"]["schemas"]["GenerateRequest"]
    assert schema["properties"]["duration"]["maximum"] == 5
    assert schema["properties"]["duration"]["default"] == 5, "the default never exceeds the limit"
    assert client.post("/api/generate", json={"style": "rock", "duration": 5.5}).status_code == 400
    created = client.post("/api/generate", json={"style": "rock", "seed": 1})
    assert created.status_code == 201
    assert created.get_json()["duration"] == pytest.approx(5.0, rel=0.01)


def test_log_level_and_one_access_line_per_request(make_app):
    with captured_logs("aimusic.access") as records:
        quiet = make_app(log_level="WARNING")
        assert logging.getLogger("aimusic").getEffectiveLevel() == logging.WARNING
        quiet.test_client().get("/health")
        assert not records, "INFO access lines are hidden at WARNING"
        app = make_app(log_level="INFO")
        response = app.test_client().get("/api/styles", headers={"X-Request-ID": "req-7"})
    assert len(records) == 1
    line = records[0].getMessage()
    assert line.startswith("GET /api/styles 200 ") and "ms" in line and line.endswith("id=req-7")
    assert response.headers["X-Request-ID"] == "req-7"


def test_gunicorn_config_binds_host_and_port_and_preloads(tmp_path):
    code = ("import runpy, json; c = runpy.run_path('gunicorn.conf.py'); "
            "print(json.dumps({k: c[k] for k in ('bind', 'preload_app', 'workers', 'threads', 'timeout')}))")
    env = {"HOST": "127.0.0.2", "PORT": "6123", "WEB_CONCURRENCY": "3", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                         check=True)
    conf = json.loads(out.stdout)
    assert conf["bind"] == "127.0.0.2:6123"
    assert conf["preload_app"] is True and conf["workers"] == 3
    assert conf["threads"] > Settings().max_concurrent_generations, "spare threads answer 503 instead of queueing"
    assert conf["timeout"] >= 60


def test_health_reports_a_model_that_could_not_be_loaded(tmp_path):
    broken = tmp_path / "melody.pt"
    broken.write_bytes(b"not a checkpoint")
    app = create_app(Settings.from_env({}, output_dir=tmp_path / "out", model_path=broken, melody_engine="model"))
    response = app.test_client().get("/health")
    assert response.status_code == 200, "the baseline still serves generations"
    body = response.get_json()
    assert body["model"]["loaded"] is False and body["model"]["error"]
    assert any("could not be loaded" in w for w in body["warnings"])


def test_health_reports_the_loaded_model(tmp_path):
    torch = pytest.importorskip("torch")
    from aimusic.model.checkpoint import save_checkpoint
    from aimusic.model.network import MelodyConfig, MelodyLSTM

    torch.manual_seed(0)
    path = tmp_path / "melody.pt"
    network = MelodyLSTM(MelodyConfig())
    save_checkpoint(path, network, name="melody-lstm-fixture", train_config={}, metrics={})
    app = create_app(Settings.from_env({}, output_dir=tmp_path / "out", model_path=path, melody_engine="model"))
    model = app.test_client().get("/health").get_json()["model"]
    assert model == {"name": "melody-lstm-fixture", "loaded": True,
                     "parameters": sum(p.numel() for p in network.parameters())}
    created = app.test_client().post("/api/generate", json={"style": "classical", "duration": 2, "seed": 1})
    assert created.status_code == 201 and created.get_json()["model"] == "melody-lstm-fixture"
