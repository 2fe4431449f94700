"""gunicorn settings for the AI Music Generation System (``gunicorn -c gunicorn.conf.py ai_music_system:app``).

The app, and with it the melody model (NumPy weights: serving imports no torch), is loaded once
in the master (``preload_app``) and shared by the forked workers; the library's migrations and
the store's reconciliation run there too, once, and the warm-up, whose calibrations a copy of the
master starts measuring as soon as this file is read. BLAS runs one thread per worker: parallelism
comes from workers and threads, not from oversubscribing the cores. Each worker opens its own
database connections (the pool is dropped in the child after the fork).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the project, whatever the cwd
# Before torch/numpy are imported by the app: one compute thread per worker process.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from aimusic.config import SAMPLE_RATE, Settings  # noqa: E402
from aimusic.heap import limit_arenas  # noqa: E402
from aimusic.synth import start_warm_up  # noqa: E402

# Before any thread: the workers' request threads share two malloc arenas (aimusic/heap.py).
limit_arenas()

_settings = Settings.from_env()
# The synthesizer's calibrations, the start's longest computation, are measured in a copy of this
# process on the second core while this one imports and builds the app; its warm-up collects them.
start_warm_up(sr=SAMPLE_RATE)

bind = f"{_settings.host}:{_settings.port}"
preload_app = True
# WEB_CONCURRENCY is gunicorn's own variable for the number of worker processes.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gthread, but each request is read whole in the event loop before a thread serves it, and the
# server's own errors are JSON: slow clients cost a buffer, never a thread (aimusic/web/server.py).
worker_class = "aimusic.web.server.BufferingWorker"
# More threads than generation slots, so a request beyond the limit is answered 503 at once.
threads = int(os.environ.get("GUNICORN_THREADS", str(_settings.max_concurrent_generations + 4)))
# A worker whose main loop is silent this long is restarted; a 300 s track renders well within it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "300"))
graceful_timeout = 30
keepalive = 5
accesslog = None  # the app logs one line per request itself
errorlog = "-"
loglevel = _settings.log_level.lower()
limit_request_line = 8190
# No runtime control socket: it would live at one fixed path per user, shared by every instance.
control_socket_disable = True


def post_worker_init(worker):  # noqa: ANN001 - gunicorn hook signature
    """Start the embedded queue's job runners in each worker (threads do not survive the fork)."""
    jobs = getattr(worker.wsgi, "extensions", {}).get("aimusic_jobs")
    if jobs is not None:
        jobs.start()


def child_exit(server, worker):  # noqa: ANN001 - gunicorn hook signature
    """A worker killed mid-write leaves a temporary file: the master removes it now, not in an hour."""
    if not server.cfg.preload_app:
        return
    svc = getattr(server.app.wsgi(), "extensions", {}).get("aimusic")
    if svc is not None:
        removed = svc.store.remove_stale_temp_files()
        if removed:
            server.log.warning("removed %d temporary file(s) of worker %s, which exited mid-write", removed,
                               worker.pid)
