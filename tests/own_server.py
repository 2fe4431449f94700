"""A gunicorn server of a test's own (``gunicorn.conf.py``), with its own settings and limits."""
from __future__ import annotations

import resource
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .conftest import PROJECT_ROOT, LiveServer, server_env, stop_process, wait_until_healthy
from .servers import free_port


@contextmanager
def own_server(base: Path, *, fsize: int | None = None,
               **env: str) -> Iterator[tuple[LiveServer, subprocess.Popen]]:
    """Run the server on a free port with ``env`` (and files of at most ``fsize`` bytes); stopped after."""
    port = free_port()
    output = base / f"output-{port}"
    log_path = base / f"server-{port}.log"

    def limit() -> None:   # in the child, before exec: the server's file-size limit
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(PROJECT_ROOT / "gunicorn.conf.py"),
                                 "ai_music_system:app"], cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                env=server_env(output, port, **{"WARM_UP": "0", **env}), preexec_fn=limit)
    try:
        wait_until_healthy(proc, "127.0.0.1", port, log_path)
        yield LiveServer("127.0.0.1", port, output, log_path), proc
    finally:
        stop_process(proc)
