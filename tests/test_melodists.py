"""Serving loads the shipped model and generates without importing torch, the same bytes in every process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_REPORT = r"""
print(json.dumps({**result, "torch": sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))}))
"""

_GENERATE = r"""
import json, sys
import numpy as np
from aimusic.compose.melody_context import MelodyContext
from aimusic.config import DEFAULT_MODEL_PATH
from aimusic.melodists import load_melodist
from aimusic.pipeline import GenerationRequest, generate
from aimusic.theory import Key
info = load_melodist("model", DEFAULT_MODEL_PATH)
track = generate(GenerationRequest(style="jazz", duration=5.0, seed=21), info.melodist)
context = MelodyContext(key=Key(0, "major"), beats_per_bar=4, beat_unit=4, start=0.0, length=32.0, chords=(),
                        register=(60, 81), style_tag="folk", step=0.5, density=0.7, rest_prob=0.05,
                        long_note_prob=0.1, final=True)
melody = info.melodist.melody(context, rng=np.random.default_rng(1), temperature=1.0)
import hashlib
result = {"loaded": info.loaded, "engine": track.melody_engine, "seconds": len(track.audio) / track.sample_rate,
          "melody_notes": len(melody), "sha256": hashlib.sha256(track.audio.tobytes()).hexdigest()}
""" + _REPORT

_SERVE = r"""
import json, sys
from ai_music_system import app                      # what gunicorn serves, warm-up included
result = {"health": app.test_client().get("/health").status_code}
""" + _REPORT


def _run(code: str, tmp_path: Path) -> dict:
    env = {**os.environ, "OUTPUT_DIR": str(tmp_path), "MELODY_ENGINE": "model"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_loading_the_model_and_generating_never_import_torch(tmp_path: Path) -> None:
    result = _run(_GENERATE, tmp_path)
    assert result["loaded"] and result["engine"] == "melody-lstm-v1"
    assert result["seconds"] == 5.0 and result["melody_notes"] > 8
    assert result["torch"] == [], "loading or generating imported torch"
    again = _run(_GENERATE, tmp_path)
    assert again["sha256"] == result["sha256"], "the same request and seed gave other samples in a new process"


def test_the_served_app_never_imports_torch(tmp_path: Path) -> None:
    result = _run(_SERVE, tmp_path)
    assert result["health"] == 200
    assert result["torch"] == [], "building the app imported torch"
