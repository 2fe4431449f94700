"""A deployment under test: gunicorn web processes and job workers on one folder and database.

Processes are started in sessions of their own so a test can ``kill -9`` a whole server, one of
its worker processes, or a job worker, exactly as a crash would.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .conftest import PROJECT_ROOT, LiveServer, free_port, server_env, stop_process, wait_until_healthy

ENTRY = str(PROJECT_ROOT / "ai_music_system.py")


class Deployment:
    """One output folder and database, served by gunicorn processes started and stopped at will."""

    def __init__(self, base: Path, database_url: str, **env: str) -> None:
        self.output_dir = base / "output"
        self.log_path = base / "server.log"
        self.database_url = database_url
        self.env = {"WEB_CONCURRENCY": "2", "WARM_UP": "0", "DATABASE_URL": database_url, **env}
        self.proc: subprocess.Popen | None = None
        self.server: LiveServer | None = None
        self.workers: list[JobWorker] = []

    def start(self) -> LiveServer:
        port = free_port()
        cmd = [sys.executable, "-m", "gunicorn", "-c", str(PROJECT_ROOT / "gunicorn.conf.py"), "ai_music_system:app"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=server_env(self.output_dir, port, **self.env),
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until_healthy(self.proc, "127.0.0.1", port, self.log_path)
        self.server = LiveServer("127.0.0.1", port, self.output_dir, self.log_path)
        return self.server

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def crash(self) -> None:
        """kill -9 the master and every worker at once."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        env = server_env(self.output_dir, 0, **self.env)
        return subprocess.run([sys.executable, ENTRY, *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    def worker(self, name: str, **env: str) -> "JobWorker":
        """Start a ``python ai_music_system.py worker`` process of this deployment."""
        self.workers.append(JobWorker(self, name, **env))
        return self.workers[-1]

    def close(self) -> None:
        """Stop the server and every worker."""
        self.stop()
        for worker in self.workers:
            worker.stop()


class JobWorker:
    """One ``worker`` process: started at once, ready when it says it serves jobs."""

    def __init__(self, deployment: Deployment, name: str, **env: str) -> None:
        self.log_path = deployment.log_path.with_name(f"worker-{name}.log")
        environment = server_env(deployment.output_dir, 0, **{**deployment.env, **env})
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, ENTRY, "worker"], cwd=PROJECT_ROOT, env=environment,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while b"serving jobs" not in self.log_path.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not start:\n{self.log_path.read_text()}")
            time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """kill -9, as a crash."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            stop_process(self.proc)
