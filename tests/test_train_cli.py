"""train_models.py before the corpus is built: a message naming the command to run, exit 2."""
from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import PROJECT_ROOT


@pytest.mark.parametrize("argv", [
    ["evaluate", "--data", "{missing}", "--train-data", "{missing}"],
    ["evaluate", "--data", "{empty}", "--train-data", "{empty}"],
    ["evaluate", "--generated", "--train-data", "{missing}"],
    ["train", "--data", "{missing}"],
    ["calibrate", "--data", "{missing}"],
])
def test_a_missing_corpus_says_what_to_run(tmp_path, argv):
    (tmp_path / "empty").mkdir()
    args = [a.format(missing=tmp_path / "absent", empty=tmp_path / "empty") for a in argv]
    done = subprocess.run([sys.executable, str(PROJECT_ROOT / "train_models.py"), *args], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "python download_training_data.py --out" in done.stderr
    assert str(tmp_path) in done.stderr
