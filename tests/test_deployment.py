"""The scaled deployment's files describe what the tests run: compose.yaml and the proxy config."""
from __future__ import annotations

import re

import yaml

from aimusic.config import Settings

from .conftest import PROJECT_ROOT


def compose() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())


def resolved(env: dict[str, str]) -> dict[str, str]:
    """Compose's ``${NAME:-default}`` interpolation, with nothing set."""
    return {k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(v)) for k, v in env.items()}


def test_compose_runs_web_twice_behind_a_proxy_and_workers_on_one_volume():
    services = compose()["services"]
    assert set(services) == {"proxy", "web", "worker", "redis", "postgres"}
    assert services["web"]["deploy"]["replicas"] == 2 and services["worker"]["deploy"]["replicas"] >= 1
    assert services["worker"]["command"] == ["python", "ai_music_system.py", "worker"]
    assert services["proxy"]["depends_on"] == ["web"]
    for name in ("web", "worker"):
        assert services[name]["volumes"] == ["tracks:/data"], "one file store shared by web and workers"
        assert {"postgres", "redis"} <= set(services[name]["depends_on"])


def test_the_services_environment_is_what_the_settings_read():
    services = compose()["services"]
    for name in ("web", "worker"):
        env = resolved(services[name]["environment"])
        settings = Settings.from_env(env)
        assert settings.database_url.startswith("postgresql+psycopg://") and "@postgres:5432/" in settings.database_url
        assert settings.broker_url == "redis://redis:6379/0"
        assert str(settings.output_dir) == "/data/output"
        assert settings.proxy_hops == 1
        readme = (PROJECT_ROOT / "README.md").read_text()
        for var in env:
            if var not in ("WEB_CONCURRENCY",):
                assert f"`{var}`" in readme, f"{var} is documented"


def test_the_proxy_buffers_requests_and_streams_job_events():
    conf = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_request_buffering on;" in conf and "client_body_timeout" in conf
    assert "client_max_body_size 64k;" in conf
    events = conf[conf.index("/events"):]
    assert "proxy_buffering off;" in events
    assert "server web:5001" in conf and "listen 8080;" in conf
    assert compose()["services"]["proxy"]["ports"] == ["5001:8080"]
