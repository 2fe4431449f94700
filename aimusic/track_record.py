"""What a track's record holds, as plain data: its id, its plan and lineage, the pipeline request.

Pure functions between the API's validated parameters, the pipeline's results and the
library's rows; the track service, the command line and the store's rebuilds share them.
"""
from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

from .compose.variation import Variation
from .pipeline import GeneratedTrack, GenerationRequest
from .primer import primer_from_base64


def new_track_id() -> str:
    """A fresh random 12-hex-digit id (48 bits: collisions are not a practical concern)."""
    return secrets.token_hex(6)


def plan_summary(track: GeneratedTrack) -> dict[str, Any]:
    """The resolved plan as JSON-able data: key, tempo, meter, bars, sections with their start times."""
    plan = track.plan
    sections = []
    for section in plan.sections:
        start_beat = float(section.start_bar * plan.beats_per_bar)
        sections.append({"label": section.label, "kind": section.kind, "start_bar": int(section.start_bar),
                         "bars": int(section.n_bars), "start_beat": start_beat,
                         "start_s": round(float(plan.tempo_map.seconds(start_beat)), 4),
                         "energy": round(float(section.energy), 3)})
    primer = {"primer": {"start_beat": float(plan.primer[0].start), "notes": len(plan.primer)}} if plan.primer else {}
    return {"key": plan.key.name, "tempo": int(plan.tempo),
            "time_signature": plan.time_signature, "bars": int(plan.total_bars),
            "sections": sections, "chords": list(plan.numerals),
            "instruments": {role: name for role, name in plan.instruments}, "groove": plan.groove, **primer}


def to_pipeline_request(params: Any) -> GenerationRequest:
    """The pipeline's plain request from validated request parameters (the API's model)."""
    primer = getattr(params, "primer", None)
    return GenerationRequest(style=params.style, duration=float(params.duration), tempo=params.tempo,
                             key=params.key, seed=params.seed, temperature=float(params.temperature),
                             loop=bool(getattr(params, "loop", False)),
                             time_signature=getattr(params, "time_signature", None),
                             energy=getattr(params, "energy", None),
                             instruments=tuple(sorted((getattr(params, "instruments", None) or {}).items())),
                             primer=primer_from_base64(primer.midi) if primer else None)


def variation_summary(variation: Variation | None, original: str | None) -> dict[str, Any] | None:
    """What the library keeps of a variation: its original's id, the plan's seed and the layers."""
    if variation is None:
        return None
    return {"of": original, "plan_seed": int(variation.plan_seed),
            "layers": [[int(seed), vary] for seed, vary in variation.layers]}


def file_sha256(path: Path | str | None) -> str | None:
    """SHA-256 of a file (the model checkpoint), or None when there is none."""
    if not path:
        return None
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()
