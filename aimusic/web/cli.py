"""``python ai_music_system.py generate ...``: one track to a file, the API's metadata to stdout.

The arguments go through the same request model as the HTTP API, so the CLI accepts
exactly what the API accepts and reports errors in the same JSON shape (on stderr).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from ..audio_io import write_wav
from ..config import Settings
from ..melodists import load_melodist
from ..pipeline import generate
from ..styles import STYLE_NAMES
from . import configure_logging
from .schemas import describe_validation_errors, dump, generate_request_model
from .service import describe_track, new_file_id, to_pipeline_request

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
    parser.add_argument("-o", "--output", required=True, type=Path, help="WAV file to write")
    return parser


def _fail(field: str, message: str, details: list[dict[str, str]] | None = None) -> int:
    error = {"code": "invalid_request", "message": f"{field} {message}",
             "details": details or [{"field": field, "message": message}]}
    print(json.dumps({"error": error}), file=sys.stderr)
    return EXIT_INVALID


def run_generate(argv: list[str], settings: Settings | None = None) -> int:
    """Parse ``argv``, generate, write the file atomically, print the metadata JSON; the exit code."""
    args = build_parser().parse_args(argv)
    settings = settings or Settings.from_env()
    fields = {name: getattr(args, name) for name in ("style", "duration", "tempo", "key", "seed", "temperature")}
    model = generate_request_model(settings.max_duration)
    try:
        params = model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        details = describe_validation_errors(exc, model)
        return _fail(details[0]["field"], details[0]["message"], details)
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
    meta = describe_track(track, style=params.style, file_id=new_file_id(), filename=out.name,
                          download_url=out.as_uri(), temperature=params.temperature, generation_ms=elapsed_ms)
    print(json.dumps(dump(meta), indent=2))
    return 0
