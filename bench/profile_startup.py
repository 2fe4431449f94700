"""Where a cold start of the server goes: interpreter, app build (imports, library, model, warm-up), fork, /health.

Run from the project root (or give another project folder)::

    python bench/profile_startup.py                 # 3 starts after one to warm the OS cache
    python bench/profile_startup.py --runs 5 --imports ../other-checkout

Each start is the server of ``bench_startup.py`` (``python -m gunicorn -c gunicorn.conf.py
ai_music_system:app``, fresh process, free port, temporary OUTPUT_DIR holding a copy of a library
at the head revision; ``--fresh-library`` for an empty one; bytecode compiled first unless
``--no-compile``), with a config that runs
the project's ``gunicorn.conf.py`` and stamps gunicorn's hooks, and its log read for the app's
own ``start-up:`` line (:mod:`aimusic.runtime`). Printed: the median of each step, in ms since
launch and as a duration, with the CPU time of the app build's steps. ``--imports`` also
lists the packages whose import takes longest (``python -X importtime``, one process).
``--in-process`` instead takes the app build apart in fresh processes, step by step with the
project's own functions (the same in older checkouts, which log no ``start-up:`` line): the
imports by group, the library opened (a fresh one: migrated; one at the head), the model, the
synthesizer's tables, the styles' renders, the reconciliation and a first ``/health``.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_startup import _free_port, compile_bytecode, migrated_library, wait_for_health  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

_CONFIG = r'''
import os, sys, time
def _stamp(name):
    sys.stderr.write(f"STAMP {{name}} {{time.time():.6f}} {{os.getpid()}}\n")
    sys.stderr.flush()
_stamp("config")
_ns = {{"__file__": {conf!r}, "__name__": "gunicorn_conf"}}
exec(compile(open({conf!r}).read(), {conf!r}, "exec"), _ns)
globals().update({{k: v for k, v in _ns.items() if not k.startswith("__")}})
_project_post_worker_init = _ns.get("post_worker_init")
def on_starting(server):
    _stamp("app loaded")
def when_ready(server):
    _stamp("listening")
def pre_fork(server, worker):
    _stamp("fork")
def post_fork(server, worker):
    _stamp("worker forked")
def post_worker_init(worker):
    if _project_post_worker_init is not None:
        _project_post_worker_init(worker)
    _stamp("worker ready")
'''

_STEP = re.compile(r"([a-z][a-z -]*?) (\d+) ms \(cpu (\d+)\)")


def start_once(root: Path, library: Path | None = None) -> dict:
    """One start: seconds since launch of each stamp, and the app's own step durations."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "out").mkdir()
        for path in sorted(library.glob("library.sqlite3*")) if library else ():
            shutil.copy2(path, Path(tmp) / "out")
        conf = Path(tmp) / "stamped.conf.py"
        conf.write_text(_CONFIG.format(conf=str(root / "gunicorn.conf.py")))
        log_path = Path(tmp) / "server.log"
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "OUTPUT_DIR": str(Path(tmp) / "out"),
               "LOG_LEVEL": "INFO"}
        with open(log_path, "w") as log:
            t0 = time.time()
            proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(conf), "ai_music_system:app"],
                                    cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=log)
            try:
                wait_for_health(port, proc, lambda: f"the server in {root} exited with {proc.returncode}:\n"
                                                    f"{log_path.read_text()[-3000:]}")
                health = time.time() - t0
                time.sleep(0.5)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
        text = log_path.read_text()
    stamps: dict[str, float] = {}
    for name, at, _pid in re.findall(r"^STAMP (.+?) ([\d.]+) (\d+)$", text, flags=re.M):
        stamps.setdefault(name, float(at) - t0)      # the first worker's, for the worker stamps
    stamps["first /health 200"] = health
    line = next((ln for ln in text.splitlines() if "start-up: " in ln), "")
    steps = {name.strip(): (float(wall), float(cpu)) for name, wall, cpu in _STEP.findall(line.split("start-up: ")[-1])}
    warm = re.search(r"warm-up: .*? in (\d+) ms", text)
    return {"stamps": stamps, "steps": steps, "styles_ms": float(warm.group(1)) if warm else None}


def import_report(root: Path, top: int = 15) -> str:
    """Import time of the app's modules by package (self time of every module, summed; one process)."""
    code = "import aimusic.runtime, aimusic.web, aimusic.web.server"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=root, capture_output=True, text=True)
    totals: dict[str, float] = {}
    for ln in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", ln)
        if m:
            parts = m.group(4).split(".")
            package = ".".join(parts[:2]) if parts[0] == "aimusic" and len(parts) > 1 else parts[0]
            totals[package] = totals.get(package, 0.0) + int(m.group(1)) / 1e3
    rows = sorted(((ms, name) for name, ms in totals.items()), reverse=True)
    return "\n".join(f"| {name} | {ms:.0f} |" for ms, name in rows[:top]) + \
        f"\n| (all {len(totals)} packages) | {sum(totals.values()):.0f} |"


_IN_PROCESS = r'''
import json, os, sys, tempfile, time
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")
sys.path.insert(0, os.getcwd())
steps, last = [], [time.perf_counter(), time.process_time()]
def done(name):
    wall, cpu = time.perf_counter(), time.process_time()
    steps.append((name, (wall - last[0]) * 1e3, (cpu - last[1]) * 1e3))
    last[:] = [wall, cpu]
import gunicorn.app.wsgiapp, gunicorn.workers.gthread
done("gunicorn")
import flask, sqlalchemy.orm, pydantic
done("flask, sqlalchemy, pydantic")
import numpy
done("numpy")
import aimusic.library
done("aimusic.library (alembic before)")
import aimusic.mastering, aimusic.synth
done("aimusic.mastering, aimusic.synth (scipy.signal before)")
import aimusic.web, aimusic.web.server
done("rest of aimusic.web")
from aimusic import library
from aimusic.config import SAMPLE_RATE, Settings
from aimusic.web import create_app
settings = Settings.from_env(output_dir=tempfile.mkdtemp())
library.open_library(settings.resolved_database_url).dispose()
done("library: a fresh one migrated")
db = library.open_library(settings.resolved_database_url)
done("library: opened at the head")
app = create_app(settings, db=db)
service = app.extensions["aimusic"]
done("app")
info = service.melodist_info()
service.model_hash()
done("model")
from aimusic.synth import warm_up
warm_up(sr=SAMPLE_RATE)
done("warm-up: synthesizer tables")
from aimusic.pipeline import warm_up_styles
warm_up_styles(info.melodist)
done("warm-up: every style rendered")
service.reconcile()
done("reconcile")
response = app.test_client().get("/health")
done(f"first /health ({response.status_code})")
print(json.dumps(steps))
'''


def in_process(root: Path) -> list[tuple[str, float, float]]:
    """The app build's steps, wall and CPU ms, in one fresh process of ``root``'s code."""
    proc = subprocess.run([sys.executable, "-c", _IN_PROCESS], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "LOG_LEVEL": "WARNING"})
    if proc.returncode:
        raise RuntimeError(f"the in-process profile of {root} failed:\n{proc.stderr[-3000:]}")
    return [tuple(step) for step in __import__("json").loads(proc.stdout.strip().splitlines()[-1])]


def main(argv: list[str] | None = None) -> None:
    """Start the server ``--runs`` times and print the medians of every step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=ROOT)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--imports", action="store_true", help="also list the slowest imports")
    parser.add_argument("--fresh-library", action="store_true", help="start on an empty output folder")
    parser.add_argument("--no-compile", action="store_true", help="leave the project's bytecode as it is")
    parser.add_argument("--in-process", action="store_true", help="the app build's steps in fresh processes")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if not args.no_compile:
        compile_bytecode(root)
    if args.in_process:
        in_process(root)                                          # warm the OS cache
        loads = [os.getloadavg()[0]]
        runs = []
        for _ in range(args.runs):
            runs.append(in_process(root))
            loads.append(os.getloadavg()[0])
        print(f"load average {statistics.median(loads):.1f} (from {min(loads):.1f} to {max(loads):.1f}); "
              f"median of {args.runs} fresh processes of {root}")
        print("\n| step (one process) | wall ms | CPU ms |\n|---|---:|---:|")
        for i, (name, _, _) in enumerate(runs[0]):
            print(f"| {name} | {statistics.median(r[i][1] for r in runs):.0f} | "
                  f"{statistics.median(r[i][2] for r in runs):.0f} |")
        total = [sum(step[1] for step in r if "fresh one" not in step[0]) for r in runs]
        print(f"| (all but the fresh library) | {statistics.median(total):.0f} | |")
        return
    with tempfile.TemporaryDirectory() as tmp:
        library = None if args.fresh_library else migrated_library(root, Path(tmp))
        loads = [os.getloadavg()[0]]
        start_once(root, library)                                 # warm the OS cache
        runs = []
        for _ in range(args.runs):
            runs.append(start_once(root, library))
            loads.append(os.getloadavg()[0])
    print(f"load average {statistics.median(loads):.1f} (from {min(loads):.1f} to {max(loads):.1f}); "
          f"median of {args.runs} starts of {root}, {'an empty output folder' if args.fresh_library else 'a library at the head revision'}")
    print("\n| since launch | s | step | ms |\n|---|---:|---|---:|")
    order = sorted(runs[0]["stamps"], key=lambda k: runs[0]["stamps"][k])
    prev = 0.0
    for name in order:
        at = statistics.median(r["stamps"][name] for r in runs if name in r["stamps"])
        print(f"| {name} | {at:.2f} | since the previous | {(at - prev) * 1e3:.0f} |")
        prev = at
    print("\n| app build step (aimusic.runtime) | wall ms | CPU ms |\n|---|---:|---:|")
    for name in runs[0]["steps"]:
        wall = statistics.median(r["steps"][name][0] for r in runs if name in r["steps"])
        cpu = statistics.median(r["steps"][name][1] for r in runs if name in r["steps"])
        print(f"| {name} | {wall:.0f} | {cpu:.0f} |")
    styles = [r["styles_ms"] for r in runs if r["styles_ms"] is not None]
    if styles:
        print(f"| (of the warm-up: every style rendered) | {statistics.median(styles):.0f} | |")
    if args.imports:
        print("\n| import, by package (self times summed, one process) | ms |\n|---|---:|")
        print(import_report(root))


if __name__ == "__main__":
    main()
