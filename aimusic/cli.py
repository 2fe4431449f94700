"""The command line: ``generate`` one track to a file, manage ``keys``, migrate the ``db``.

``generate`` goes through the same request model as the HTTP API, so it accepts exactly
what the API accepts and reports errors in the same JSON shape (on stderr, exit code 2).
"""
from __future__ import annotations

import argparse
import base64
import json
import logging
import sys
import time
from pathlib import Path

from . import library
from .config import Settings
from .styles import STYLE_NAMES

EXIT_INVALID = 2


def build_parser() -> argparse.ArgumentParser:
    """The ``generate`` sub-command's arguments."""
    parser = argparse.ArgumentParser(prog="ai_music_system.py generate",
                                     description="Compose and render one track to a WAV file.")
    parser.add_argument("--style", required=True, help="one of " + ", ".join(STYLE_NAMES))
    parser.add_argument("--duration", type=float, default=None, help="seconds (default 30)")
    parser.add_argument("--tempo", type=int, default=None, help="BPM (default: the style's)")
    parser.add_argument("--key", default=None, help='e.g. "A minor" (default: chosen by the seed)')
    parser.add_argument("--seed", type=int, default=None, help="0..2^32-1 (default: random)")
    parser.add_argument("--temperature", type=float, default=None, help="0.1..2.0 (default 1.0)")
    parser.add_argument("--time-signature", default=None, help='one of the style\'s, e.g. "3/4"')
    parser.add_argument("--energy", type=float, default=None, help="0..1 (default: the style's own shape)")
    parser.add_argument("--instrument", action="append", default=[], metavar="PART=NAME",
                        help='a part\'s instrument, e.g. "melody=sax" (repeatable)')
    parser.add_argument("--primer", type=Path, default=None, help="a MIDI file whose melody the track continues")
    parser.add_argument("-o", "--output", required=True, type=Path, help="WAV file to write")
    return parser


def _controls(args: argparse.Namespace) -> dict[str, object] | int:
    """The musical controls of ``args`` as request fields, or the exit code after printing the error."""
    from .primer import MAX_PRIMER_BYTES

    fields: dict[str, object] = {}
    if args.time_signature is not None:
        fields["time_signature"] = args.time_signature
    if args.energy is not None:
        fields["energy"] = args.energy
    if args.instrument:
        pairs = [item.partition("=") for item in args.instrument]
        if any(not sep or not part or not name for part, sep, name in pairs):
            return _fail("instruments", "each --instrument must be PART=NAME, e.g. melody=sax")
        fields["instruments"] = {part.strip(): name.strip() for part, _, name in pairs}
    if args.primer is not None:
        try:
            with open(args.primer, "rb") as handle:
                data = handle.read(MAX_PRIMER_BYTES + 1)
        except OSError as exc:
            return _fail("primer.midi", f"cannot be read: {exc.strerror or exc}")
        fields["primer"] = {"midi": base64.b64encode(data).decode("ascii")}
    return fields


def _fail(field: str, message: str, details: list[dict[str, str]] | None = None) -> int:
    error = {"code": "invalid_request", "message": f"{field} {message}",
             "details": details or [{"field": field, "message": message}]}
    print(json.dumps({"error": error}), file=sys.stderr)
    return EXIT_INVALID


def _request(args: argparse.Namespace, settings: Settings):  # noqa: ANN202 - a GenerateRequest or an exit code
    """The arguments as the API's validated request, or the exit code after printing the API's error."""
    from pydantic import ValidationError

    from .web.schemas import describe_validation_errors, generate_request_model

    fields = {name: getattr(args, name) for name in ("style", "duration", "tempo", "key", "seed", "temperature")}
    controls = _controls(args)
    if isinstance(controls, int):
        return controls
    model = generate_request_model(settings.max_duration)
    try:
        return model.model_validate({**{k: v for k, v in fields.items() if v is not None}, **controls})
    except ValidationError as exc:
        details = describe_validation_errors(exc, model)
        return _fail(details[0]["field"], details[0]["message"], details)


def run_generate(argv: list[str], settings: Settings | None = None) -> int:
    """Parse ``argv``, generate, write the file atomically, print the metadata JSON; the exit code."""
    from .audio_io import write_wav
    from .melodists import load_melodist
    from .pipeline import generate
    from .track_record import new_track_id, plan_summary, to_pipeline_request
    from .web import configure_logging

    args = build_parser().parse_args(argv)
    settings = settings or Settings.from_env()
    params = _request(args, settings)
    if isinstance(params, int):
        return params
    out = args.output.expanduser().resolve()
    if not out.parent.is_dir():
        return _fail("output", f"folder {out.parent} does not exist")

    configure_logging(settings.log_level)
    info = load_melodist(settings.melody_engine, settings.model_path)
    if not info.loaded:
        print(f"warning: trained melody model not loaded ({info.error}); using {info.name}", file=sys.stderr)
    t0 = time.perf_counter()
    track = generate(to_pipeline_request(params), info.melodist)
    write_wav(out, track.audio, sr=track.sample_rate)
    elapsed_ms = (time.perf_counter() - t0) * 1e3
    summary = plan_summary(track)
    meta = {"id": new_track_id(), "filename": out.name, "download_url": out.as_uri(), "style": params.style,
            "duration": round(track.duration_s, 3), "tempo": int(track.plan.tempo), "key": track.plan.key.name,
            "seed": int(track.seed), "temperature": float(params.temperature), "sample_rate": track.sample_rate,
            "channels": int(track.audio.shape[1]), "bars": int(track.plan.total_bars),
            "time_signature": summary["time_signature"], "model": track.melody_engine,
            "generation_time_ms": int(round(elapsed_ms)), "format": "wav"}
    print(json.dumps(meta, indent=2))
    return 0


def _iso(value) -> str:  # noqa: ANN001 - a datetime or None
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else "-"


def run_keys(argv: list[str], settings: Settings | None = None) -> int:
    """``keys create NAME`` (the key alone on the last line, once), ``keys list``, ``keys revoke NAME``."""
    parser = argparse.ArgumentParser(prog="ai_music_system.py keys", description="Manage API keys (AUTH=keys).")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("create", help="create a key and print it once").add_argument("name")
    sub.add_parser("list", help="names, creation dates and last use; never the keys")
    sub.add_parser("revoke", help="revoke a key").add_argument("name")
    args = parser.parse_args(argv)
    settings = settings or Settings.from_env()
    db = library.open_library(settings.resolved_database_url)
    try:
        if args.action == "create":
            info, key = library.create_key(db, args.name)
            print(f"created key {info.name!r} ({info.prefix}…); it is shown only now, keep it safe:")
            print(key)
        elif args.action == "list":
            print(f"{'name':24} {'prefix':10} {'created':20} {'last used':20} revoked")
            for info in library.list_keys(db):
                print(f"{info.name:24} {info.prefix:10} {_iso(info.created_at):20} {_iso(info.last_used_at):20} "
                      f"{_iso(info.revoked_at)}")
        else:
            info = library.revoke_key(db, args.name)
            print(f"revoked key {info.name!r} at {_iso(info.revoked_at)}")
    except library.KeyNameError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    finally:
        db.dispose()
    return 0


def run_db(argv: list[str], settings: Settings | None = None) -> int:
    """``db upgrade`` (what every start does) and ``db current`` (the schema revision)."""
    parser = argparse.ArgumentParser(prog="ai_music_system.py db", description="The library's database.")
    parser.add_argument("action", choices=["upgrade", "current"])
    args = parser.parse_args(argv)
    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s %(message)s")
    db = library.Database(settings.resolved_database_url)
    try:
        if args.action == "upgrade":
            before, after = db.upgrade()
            print(f"{db.describe()}: {before or 'empty'} -> {after}")
        else:
            print(f"{db.describe()}: {db.current_revision() or 'empty'} (head {db.head_revision()})")
    finally:
        db.dispose()
    return 0


def run_worker(argv: list[str], settings: Settings | None = None) -> int:
    """``worker``: run background jobs from the broker (``BROKER_URL``) until SIGTERM."""
    parser = argparse.ArgumentParser(prog="ai_music_system.py worker",
                                     description="Run background jobs from Redis (BROKER_URL), on any machine.")
    parser.add_argument("--threads", type=int, default=None, help="job threads (default WORKER_THREADS)")
    args = parser.parse_args(argv)
    settings = settings or Settings.from_env()
    if not settings.broker_url:
        print("error: a worker needs BROKER_URL (redis://…); without it the server runs jobs itself",
              file=sys.stderr)
        return EXIT_INVALID
    from .jobs.distributed import run_worker as serve_jobs
    from .service import TrackService
    from .web import configure_logging

    configure_logging(settings.log_level)
    db = library.open_library(settings.resolved_database_url)
    service = TrackService(settings, db)
    service.prepare()
    return serve_jobs(service, threads=args.threads)


def run_batch(argv: list[str], settings: Settings | None = None) -> int:
    """``batch --style S --count N -o DIR``: N tracks into DIR with a progress bar; a JSON line each."""
    from tqdm import tqdm

    from .audio_io import write_wav
    from .melodists import load_melodist
    from .pipeline import generate, resolve_seed
    from .track_record import to_pipeline_request

    parser = build_parser()
    parser.prog = "ai_music_system.py batch"
    parser.description = "Compose and render several tracks of one style into a folder."
    for action in parser._actions:
        if action.dest == "output":
            action.help = "folder to write the WAV files into (created if missing)"
    parser.add_argument("--count", type=int, required=True, help="how many tracks (1-1000)")
    args = parser.parse_args(argv)
    settings = settings or Settings.from_env()
    if not 1 <= args.count <= 1000:
        return _fail("count", "must be between 1 and 1000")
    params = _request(args, settings)
    if isinstance(params, int):
        return params
    out = args.output.expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    info = load_melodist(settings.melody_engine, settings.model_path)
    first_seed = resolve_seed(params.seed)
    with tqdm(total=round(args.count * params.duration, 1), unit="s", desc=f"{params.style} x{args.count}",
              file=sys.stderr, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s of audio [{elapsed}<{remaining}]") as bar:
        for index in range(args.count):
            seed = (first_seed + index) % 2**32
            base = bar.n

            def advance(fraction: float, base: float = base) -> None:
                bar.update(base + fraction * params.duration - bar.n)

            track = generate(to_pipeline_request(params.model_copy(update={"seed": seed})), info.melodist,
                             progress=advance)
            path = out / f"{params.style}_{index + 1:03d}_seed{seed}.wav"
            write_wav(path, track.audio, sr=track.sample_rate)
            bar.write(json.dumps({"file": str(path), "seed": seed, "key": track.plan.key.name,
                                  "tempo": int(track.plan.tempo), "duration": round(track.duration_s, 3)}),
                      file=sys.stdout)
    return 0


COMMANDS = {  # light commands (keys, db) import neither the model nor the synthesizer
    "generate": run_generate, "keys": run_keys, "db": run_db, "worker": run_worker, "batch": run_batch,
}
