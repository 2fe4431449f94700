"""Memory soak: the service under gunicorn as deployed, 8 clients for 10 minutes, RSS sampled every 10 s.

Starts ``gunicorn -c gunicorn.conf.py ai_music_system:app`` through :class:`tests.deploy.Deployment`
with the deployed defaults (two worker processes, the default threads, warm-up on) on a PostgreSQL
library of its own, then runs ``--clients`` clients for ``--minutes`` issuing a mix of requests:
POST /api/generate over all six styles, several durations and every format (some with loop, stems,
time_signature, energy, instruments), and GETs of the track list (with cursors), track pages,
score.mid, score.json, stems.zip and audio downloads with Range. The load comes in two parts, each
followed by ``--rest-s`` seconds without requests: two minutes of warm-up, then the rest; what a
worker keeps is its RSS at rest, compared between the two rests. The VmRSS of the gunicorn master
and of each worker (its children) is read from /proc every ``--sample-s`` seconds. Writes the
report to ``--out`` (bench/SOAK.md).

Requests that may take a generation slot (a generation, or a file made on its first request) are
sent at most MAX_CONCURRENT_GENERATIONS at a time, as a client that knows the server's limit does:
past it the server sheds load with a documented 503 and Retry-After, which is not what is measured
here. Any 5xx is counted and reported.

While it runs, /tmp/soak.running exists (benchmarks that time things wait for it to go).

    python bench/soak.py                   # 10 minutes, 8 clients
    python bench/soak.py --minutes 1       # a quick look
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aimusic.config import Settings  # noqa: E402
from tests.deploy import Deployment  # noqa: E402
from tests.servers import postgres_server  # noqa: E402

MARKER = Path("/tmp/soak.running")
STYLES = ("classical", "jazz", "rock", "blues", "electronic", "ambient")
DURATIONS = (5, 10, 30, 60)
FORMATS = ("wav", "flac", "mp3", "ogg")
RECENT_TRACKS = 200        # clients read tracks among the newest this many (well inside KEEP_TRACKS)
WARM_UP_S = 120.0          # load before the first rest (caches fill, the heap finds its size)
WINDOW_S = 60.0            # the verdict compares the lowest and highest RSS of windows this long
# A worker at rest moves less than this between the two rests is flat: its free heap alone varies by
# tens of MB with what it did last (glibc keeps freed pages for reuse; the mix hands them back).
FLAT_MB = 64.0
FINDINGS = "\n## Findings"   # a report's own section from here on survives a new run
# (action, weight): what a client does next.
ACTIONS = (("generate", 5), ("list", 2), ("track", 2), ("page", 1), ("midi", 2), ("score", 2), ("stems", 1),
           ("range_download", 3), ("range_audio", 3))
HEAVY = {"generate", "midi", "score", "stems", "range_audio"}   # may take a generation slot


# -- /proc ---------------------------------------------------------------------------------------

def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (the peak), RssAnon, RssFile, RssShmem of ``pid`` in kB (empty if it is gone)."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                out[name] = int(value.split()[0])
    except OSError:
        return {}
    return out


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers of a master)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()   # after "pid (comm) "
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


class Sampler(threading.Thread):
    """Every ``every_s`` seconds: elapsed time, load average, the master's and each worker's status."""

    def __init__(self, master: int, every_s: float, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.master, self.every_s, self.stop = master, every_s, stop
        self.rows: list[dict[str, Any]] = []
        self.t0 = time.monotonic()
        self.phase = (0, "load")   # (index, "load" or "rest"), set by the run

    def sample(self) -> None:
        workers = {pid: proc_status(pid) for pid in children(self.master)}
        self.rows.append({"t": time.monotonic() - self.t0, "load": os.getloadavg()[0], "phase": self.phase,
                          "master": proc_status(self.master), "workers": workers})

    def run(self) -> None:
        while True:
            self.sample()
            if self.stop.wait(self.every_s):
                self.sample()
                return


# -- clients -------------------------------------------------------------------------------------

class Pool:
    """What every client shares: counts, the newest tracks, the slot budget."""

    def __init__(self, styles: dict[str, Any], slots: int) -> None:
        self.styles = styles
        self.heavy = threading.BoundedSemaphore(slots)
        self.lock = threading.Lock()
        self.tracks: list[dict[str, Any]] = []
        self.cursors: list[str] = []
        self.status: Counter[tuple[str, int]] = Counter()
        self.unexpected: list[str] = []
        self.bytes = 0

    def add_track(self, body: dict[str, Any]) -> None:
        with self.lock:
            self.tracks.append(body)
            del self.tracks[:-RECENT_TRACKS]

    def some_track(self, rng: random.Random) -> dict[str, Any] | None:
        with self.lock:
            return rng.choice(self.tracks) if self.tracks else None

    def count(self, action: str, status: int, problem: str | None = None) -> None:
        with self.lock:
            self.status[(action, status)] += 1
            if problem and len(self.unexpected) < 50:
                self.unexpected.append(f"{action} {status}: {problem}")


def generate_body(rng: random.Random, styles: dict[str, Any]) -> dict[str, Any]:
    """A generate request: any style, duration and format, some with the optional controls."""
    style = rng.choice(STYLES)
    info = styles[style]
    body: dict[str, Any] = {"style": style, "duration": rng.choice(DURATIONS), "format": rng.choice(FORMATS),
                            "seed": rng.randrange(1 << 31)}
    if rng.random() < 0.2:
        body["loop"] = True
    if rng.random() < 0.15:
        body["stems"] = True
    if rng.random() < 0.3:
        body["time_signature"] = rng.choice(info["time_signatures"])
    if rng.random() < 0.3:
        body["energy"] = round(rng.random(), 2)
    if rng.random() < 0.3:
        parts = rng.sample(info["parts"], k=rng.randint(1, min(2, len(info["parts"]))))
        body["instruments"] = {p["name"]: rng.choice(p["instruments"]) for p in parts}
    if rng.random() < 0.2:
        body["tempo"] = rng.randint(*info["tempo_range"])
    if rng.random() < 0.1:
        body["temperature"] = round(rng.uniform(0.5, 1.5), 2)
    return body


def a_range(rng: random.Random, size: int | None) -> str:
    """A single byte range: a prefix, a middle slice, a suffix or an open end."""
    size = size or 4096
    start = rng.randrange(max(size - 1, 1))
    return rng.choice([f"bytes=0-{rng.randrange(1, 65536)}", f"bytes={start}-{min(start + 32767, size - 1)}",
                       f"bytes=-{rng.randrange(1, 8192)}", f"bytes={start}-"])


class Client(threading.Thread):
    """One client: a keep-alive connection, requests chosen by :data:`ACTIONS` until the deadline."""

    def __init__(self, index: int, port: int, pool: Pool, deadline: float, seed: int) -> None:
        super().__init__(daemon=True, name=f"client-{index}")
        self.port, self.pool, self.deadline = port, pool, deadline
        self.rng = random.Random(seed * 1000 + index)
        self.conn: http.client.HTTPConnection | None = None
        self.sizes: dict[str, int] = {}

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        for attempt in (1, 2):   # a kept-alive connection the server closed is opened again once
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            try:
                self.conn.request(method, path, body, headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def run(self) -> None:
        names = [a for a, _ in ACTIONS]
        weights = [w for _, w in ACTIONS]
        while time.monotonic() < self.deadline:
            action = self.rng.choices(names, weights)[0]
            if action != "generate" and action != "page" and action != "list" and not self.pool.tracks:
                action = "generate"
            try:
                if action in HEAVY:
                    with self.pool.heavy:
                        self.act(action)
                else:
                    self.act(action)
            except Exception as exc:   # a broken connection or a bad body: counted, and the client goes on
                self.pool.count(action, 0, f"{type(exc).__name__}: {exc}")
                if self.conn is not None:
                    self.conn.close()
                    self.conn = None

    def act(self, action: str) -> None:
        rng, pool = self.rng, self.pool
        if action == "generate":
            payload = generate_body(rng, pool.styles)
            status, _, data = self.request("POST", "/api/generate", json.dumps(payload).encode(),
                                           {"Content-Type": "application/json"})
            if status == 201:
                pool.add_track(json.loads(data))
            pool.count(action, status, None if status == 201 else f"{payload} -> {data[:300]!r}")
            return
        if action == "list":
            query = f"?limit={rng.choice((5, 20, 100))}"
            if rng.random() < 0.3:
                query += f"&style={rng.choice(STYLES)}"
            with pool.lock:
                cursor = rng.choice(pool.cursors) if pool.cursors and rng.random() < 0.4 else None
            if cursor:
                query = f"?cursor={cursor}"
            status, _, data = self.request("GET", "/api/tracks" + query)
            if status == 200:
                following = json.loads(data).get("next_cursor")
                if following:
                    with pool.lock:
                        pool.cursors.append(following)
                        del pool.cursors[:-50]
            pool.count(action, status, None if status == 200 else data[:300].decode(errors="replace"))
            return
        if action == "page":
            status, headers, _ = self.request("GET", "/", headers={"Accept": "text/html"})
            pool.count(action, status, None if status == 200 and headers.get("content-type", "").startswith(
                "text/html") else "not the page")
            return
        track = pool.some_track(rng)
        assert track is not None
        links = track["links"]
        if action == "track":
            status, _, data = self.request("GET", links["self"])
            pool.count(action, status, None if status == 200 and json.loads(data)["id"] == track["id"] else
                       data[:300].decode(errors="replace"))
            return
        if action in ("midi", "score", "stems"):
            status, _, data = self.request("GET", links[action])
            with pool.lock:
                pool.bytes += len(data)
            pool.count(action, status, None if status == 200 and data else data[:300].decode(errors="replace"))
            return
        path = links["download"] if action == "range_download" else links["audio"][rng.choice(FORMATS)]
        asked = a_range(rng, self.sizes.get(path))
        status, headers, data = self.request("GET", path, headers={"Range": asked})
        with pool.lock:
            pool.bytes += len(data)
        total = headers.get("content-range", "").rpartition("/")[2]
        if total.isdigit():
            self.sizes[path] = int(total)
        ok = status == 206 and headers.get("content-range", "").startswith("bytes ") and int(
            headers.get("content-length", -1)) == len(data)
        pool.count(action, status, None if ok else f"{asked} -> {headers.get('content-range')} {data[:200]!r}")


# -- report --------------------------------------------------------------------------------------

def mb(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:.0f}"


def worker_series(rows: list[dict[str, Any]]) -> dict[int, list[tuple[float, int, int, int]]]:
    """Per worker pid: (t, VmRSS kB, RssAnon kB, phase index) over the samples it appears in."""
    series: dict[int, list[tuple[float, int, int, int]]] = {}
    for row in rows:
        for pid, status in row["workers"].items():
            if status:
                series.setdefault(pid, []).append((row["t"], status["VmRSS"], status["RssAnon"], row["phase"][0]))
    return series


def windows(points: list[tuple[float, int, int, int]], width_s: float,
            sample_s: float) -> list[tuple[float, int, int]]:
    """(start, lowest, highest VmRSS kB) of each whole ``width_s`` window of ``points``."""
    out = []
    if not points:
        return out
    t, last = points[0][0], points[-1][0]
    while t + width_s <= last + sample_s / 2:
        inside = [p[1] for p in points if t <= p[0] < t + width_s]
        if inside:
            out.append((t, min(inside), max(inside)))
        t += width_s
    return out


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points (0 for fewer than two)."""
    if len(points) < 2:
        return 0.0
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def verdict(series: dict[int, list[tuple[float, int, int, int]]], sample_s: float) -> list[str]:
    """Per worker: RSS at the start, at rest after warm-up and at rest at the end; floors and peaks under load.

    A single sample under load says little (a 60 s track with its stems holds a few hundred MB
    while it is made and gives them back), so what a worker keeps is read at rest, when no
    request runs: after the warm-up and at the end. Under load, each window's lowest RSS (the
    floor) and highest (the peaks) show whether the working set drifts.
    """
    lines = []
    for index, (pid, points) in enumerate(sorted(series.items())):
        label = f"worker {index + 1} (pid {pid})"
        rests = {phase: [p for p in points if p[3] == phase] for phase in (1, 3)}
        if not rests[1] or not rests[3]:
            lines.append(f"- {label}: not there for both rests (replaced during the run?)")
            continue
        start, warm, end = points[0], rests[1][-1], rests[3][-1]
        spans = windows([p for p in points if p[3] == 2], WINDOW_S, sample_s)
        grew = (end[1] - warm[1]) / 1024
        text = (f"- {label}: {mb(start[1])} MB at the start, {mb(warm[1])} MB at rest after warm-up "
                f"({warm[0]:.0f} s), {mb(end[1])} MB at rest at the end ({end[0]:.0f} s): {grew:+.0f} MB. ")
        if spans:
            text += (f"Under load, floor of each {WINDOW_S:.0f} s window: " + ", ".join(mb(w[1]) for w in spans)
                     + " MB (a trend of " + f"{slope([(w[0], w[1] / 1024) for w in spans]) * 60:+.1f} MB/min); peaks: "
                     + ", ".join(mb(w[2]) for w in spans) + " MB. ")
        text += "**Flat**" if grew < FLAT_MB else f"**Grew by {grew:.0f} MB**"
        lines.append(text)
    return lines


def write_report(out: Path, *, args: argparse.Namespace, command: str, load_start: tuple[float, ...],
                 load_end: tuple[float, ...], pool: Pool, rows: list[dict[str, Any]], elapsed_s: float,
                 warm_s: float, log_problems: list[str], started_at: str) -> None:
    series = worker_series(rows)
    pids = sorted(series)
    by_action: dict[str, Counter[int]] = {}
    for (action, status), n in pool.status.items():
        by_action.setdefault(action, Counter())[status] += n
    total = sum(pool.status.values())
    statuses: Counter[int] = Counter()
    for (_, status), n in pool.status.items():
        statuses[status] += n
    server_errors = sum(n for s, n in statuses.items() if s >= 500 or s == 0)
    lines = [
        "# Memory soak", "",
        f"`{command}`: the service under gunicorn with the project's gunicorn.conf.py and its defaults (two "
        f"worker processes, {Settings().max_concurrent_generations + 4} threads each, warm-up on, KEEP_TRACKS "
        f"{Settings().keep_tracks}) on a PostgreSQL library; {args.clients} concurrent clients for "
        f"{args.minutes:g} minutes, in two parts: {warm_s:.0f} s of warm-up, {args.rest_s:g} s at rest, the "
        f"other {args.minutes * 60 - warm_s:.0f} s, then {args.rest_s:g} s at rest again. RSS of the master and "
        f"of each worker read from /proc/<pid>/status every {args.sample_s:g} s. Started {started_at}, on "
        f"{os.cpu_count()} cores.", "",
        f"Load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in load_start)} at the start, "
        f"{', '.join(f'{x:.2f}' for x in load_end)} at the end.", "",
        "## Requests", "",
        f"{total} requests in {elapsed_s:.0f} s ({total / max(elapsed_s, 1):.1f}/s), "
        f"{pool.bytes / 1e6:.0f} MB of files read. Status counts: "
        + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())) + ". "
        + ("**No 5xx.**" if server_errors == 0 else f"**{server_errors} server errors or broken exchanges.**"), "",
        "| request | count | statuses |", "|---|---|---|",
    ]
    describe = {"generate": "POST /api/generate", "list": "GET /api/tracks (with style, limit, cursor)",
                "track": "GET /api/tracks/<id>", "page": "GET / (the web page)", "midi": "GET score.mid",
                "score": "GET score.json", "stems": "GET stems.zip",
                "range_download": "GET /api/download/<file> with Range",
                "range_audio": "GET /api/tracks/<id>/audio.<fmt> with Range"}
    for action, _ in ACTIONS:
        counts = by_action.get(action, Counter())
        lines.append(f"| {describe[action]} | {sum(counts.values())} | "
                     + ", ".join(f"{s}: {n}" for s, n in sorted(counts.items())) + " |")
    lines += ["", "Unexpected answers: " + ("none." if not pool.unexpected else ""), *[f"- `{u}`" for u in
              pool.unexpected[:20]], "",
              "Errors in the server log: " + ("none." if not log_problems else ""),
              *[f"- `{p}`" for p in log_problems[:20]], ""]
    lines += ["## RSS", "", "VmRSS in MB, with the worker's private anonymous memory (RssAnon) in brackets; the "
              "workers' RSS includes pages shared with the master (the app, the model and the warmed caches are "
              "loaded before the fork).", "",
              "| time (s) | clients | load 1 min | master | "
              + " | ".join(f"worker {i + 1}" for i in range(len(pids))) + " |", "|---" * (4 + len(pids)) + "|"]
    for row in rows:
        cells = []
        for pid in pids:
            status = row["workers"].get(pid)
            cells.append(f"{mb(status['VmRSS'])} ({mb(status['RssAnon'])})" if status else "-")
        lines.append(f"| {row['t']:.0f} | {row['phase'][1]} | {row['load']:.2f} | "
                     f"{mb(row['master'].get('VmRSS'))} | " + " | ".join(cells) + " |")
    lines += ["", "## Verdict", "", f"Flat means a worker's RSS at rest grows less than {FLAT_MB:.0f} MB from the rest "
              "after warm-up to the rest at the end (its free heap alone varies by tens of MB).", "",
              *verdict(series, args.sample_s), ""]
    kept = out.read_text().partition(FINDINGS)[2] if out.exists() else ""   # written by hand: kept
    out.write_text("\n".join(lines) + (FINDINGS + kept if kept else ""))


def log_problems(log_path: Path) -> list[str]:
    """Lines of the server log that report an error (tracebacks, ERROR records, worker timeouts)."""
    found = []
    for line in log_path.read_text(errors="replace").splitlines():
        if "Traceback" in line or " ERROR " in line or "CRITICAL" in line or "WORKER TIMEOUT" in line:
            found.append(line[:200])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--sample-s", type=float, default=10.0)
    parser.add_argument("--rest-s", type=float, default=30.0, help="idle after warm-up and at the end")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "SOAK.md")
    args = parser.parse_args()
    command = "python bench/soak.py" + "".join(
        f" --{k.replace('_', '-')} {v:g}" for k, v in vars(args).items()
        if k != "out" and v != parser.get_default(k))

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # so the marker is removed on a kill too
    MARKER.write_text(f"{os.getpid()}\n")
    try:
        settings = Settings()
        threads = str(settings.max_concurrent_generations + 4)   # gunicorn.conf.py's default
        with tempfile.TemporaryDirectory(prefix="aimusic-soak-") as tmp, postgres_server() as pg:
            pg.admin("CREATE DATABASE soak")
            app = Deployment(Path(tmp), pg.url("soak"), WARM_UP="1", GUNICORN_THREADS=threads, LOG_LEVEL="INFO")
            server = app.start()
            try:
                styles = {s["name"]: s for s in server.get("/api/styles").json()["styles"]}
                pool = Pool(styles, settings.max_concurrent_generations)
                stop = threading.Event()
                assert app.proc is not None
                sampler = Sampler(app.proc.pid, args.sample_s, stop)
                load_start = os.getloadavg()
                started_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
                sampler.start()
                total_s = args.minutes * 60
                warm_s = min(WARM_UP_S, total_s / 2)
                elapsed = 0.0
                for index, (phase, seconds) in enumerate((("load", warm_s), ("rest", args.rest_s),
                                                          ("load", total_s - warm_s), ("rest", args.rest_s))):
                    sampler.phase = (index, phase)
                    t0 = time.monotonic()
                    if phase == "rest":
                        time.sleep(seconds)
                        continue
                    clients = [Client(i, server.port, pool, t0 + seconds, args.seed * 10 + index)
                               for i in range(args.clients)]
                    for client in clients:
                        client.start()
                    for client in clients:
                        client.join()
                    elapsed += time.monotonic() - t0
                stop.set()
                sampler.join()
                load_end = os.getloadavg()
            finally:
                app.stop()
            write_report(args.out, args=args, command=command, load_start=load_start, load_end=load_end, pool=pool,
                         rows=sampler.rows, elapsed_s=elapsed, warm_s=warm_s, log_problems=log_problems(app.log_path),
                         started_at=started_at)
            print(args.out.read_text())
    finally:
        MARKER.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
