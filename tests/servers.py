"""Real servers for tests and benchmarks: PostgreSQL (and Redis) started as our own processes.

Each runs from Debian's packages in a temporary folder on a free port and is stopped when the
``with`` block ends. Run as root, PostgreSQL is started as the ``postgres`` user (it refuses root).
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_program(name: str) -> str:
    """A server program: PostgreSQL's live in /usr/lib/postgresql/<version>/bin on Debian."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    path = found[-1] if found else shutil.which(name)
    if not path:
        raise RuntimeError(f"{name} is not installed (apt-get install -y postgresql redis-server)")
    return path


@dataclass
class PostgresServer:
    """A running PostgreSQL server: where it listens and as whom to connect."""

    port: int
    user: str

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE DATABASE, …)."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(sql)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """``initdb`` + ``pg_ctl start`` in a temporary folder; stopped and removed afterwards."""
    prefix: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="aimusic-pg-"))
    user = pwd.getpwuid(os.geteuid()).pw_name
    if os.geteuid() == 0:
        user = "postgres"
        entry = pwd.getpwnam(user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
        prefix = ["runuser", "-u", user, "--"]
    data, sock = base / "data", base / "sock"
    subprocess.run([*prefix, "mkdir", str(sock)], check=True)
    subprocess.run([*prefix, server_program("initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8",
                    "--no-sync"], check=True, capture_output=True)
    port = free_port()
    options = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    started = subprocess.run([*prefix, server_program("pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w",
                              "-o", options, "start"], capture_output=True, text=True)
    if started.returncode != 0:
        log = (base / "log").read_text() if (base / "log").exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log}")
    try:
        yield PostgresServer(port, user)
    finally:
        subprocess.run([*prefix, server_program("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class RedisServer:
    """A running redis-server of our own."""

    port: int
    process: subprocess.Popen
    folder: Path

    @property
    def url(self) -> str:
        """The broker URL of this server."""
        return f"redis://127.0.0.1:{self.port}/0"


def start_redis(port: int | None = None, folder: Path | None = None) -> RedisServer:
    """``redis-server`` on a free (or the given) port, without persistence; waits until it answers."""
    import time

    port = port or free_port()
    folder = folder or Path(tempfile.mkdtemp(prefix="aimusic-redis-"))
    proc = subprocess.Popen([server_program("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return RedisServer(port, proc, folder)
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def stop_redis(server: RedisServer) -> None:
    """Stop the server (its data is gone: nothing is persisted)."""
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A redis-server for the block."""
    server = start_redis()
    try:
        yield server
    finally:
        stop_redis(server)
        shutil.rmtree(server.folder, ignore_errors=True)
