"""Saving and loading the melody checkpoint: plain tensors, dicts, lists, strings and numbers.

The file loads with ``torch.load(..., weights_only=True)`` and without the training code:
it holds the weights, the network's arguments, the vocabulary it was trained with, the
training configuration and the measured metrics. Every write also writes the torch-free
weights file pair beside it (:mod:`aimusic.model.weights`), which is what the service reads.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import ModelError
from .events import vocabulary
from .network import MelodyConfig, MelodyLSTM, count_parameters
from .weights import write_weights

FORMAT = "aimusic-melody"
FORMAT_VERSION = 1


def save_checkpoint(path: Path, model: MelodyLSTM, *, name: str, train_config: dict, metrics: dict,
                    extra: dict | None = None) -> None:
    """Write the model and its metadata atomically (temporary file, then rename), and its weights file pair."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": name,
            "model_args": model.config.to_dict(), "vocab": vocabulary(),
            "parameters": count_parameters(model),
            "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "train_config": train_config, "metrics": metrics}
    if extra:
        blob.update(extra)
    _write_atomically(path, blob)


def update_checkpoint(path: Path, **entries) -> None:
    """Set top-level ``entries`` (plain data) of the checkpoint at ``path``, atomically."""
    blob = load_checkpoint(path)
    blob.update(entries)
    _write_atomically(Path(path), blob)


def export_weights(path: Path) -> tuple[Path, Path]:
    """Write the torch-free weights file pair for the existing checkpoint at ``path``.

    Checkpoints written by this module get theirs automatically; this is for older ones
    (``python train_models.py export``). Returns the ``.npz`` and ``.json`` paths.
    """
    return _export(Path(path), load_checkpoint(path))


def _export(path: Path, blob: dict) -> tuple[Path, Path]:
    arrays = {k: v.detach().cpu().numpy() for k, v in blob["state_dict"].items()}
    return write_weights(path, arrays, {k: v for k, v in blob.items() if k != "state_dict"})


def _write_atomically(path: Path, blob: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)
    _export(path, blob)


def load_checkpoint(path: Path) -> dict:
    """Read a checkpoint safely (``weights_only=True``) and check its format and vocabulary."""
    try:
        blob = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ModelError(f"no melody model at {path}") from exc
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a model error
        raise ModelError(f"cannot read melody model {path}: {exc}") from exc
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ModelError(f"{path} is not a melody checkpoint")
    if blob.get("vocab") != vocabulary():
        raise ModelError(f"{path} was trained with another event vocabulary")
    return blob


def model_from_checkpoint(blob: dict) -> MelodyLSTM:
    """Rebuild the network from a loaded checkpoint, in eval mode."""
    model = MelodyLSTM(MelodyConfig(**blob["model_args"]))
    try:
        model.load_state_dict(blob["state_dict"])
    except RuntimeError as exc:
        raise ModelError(f"checkpoint weights do not fit the network: {exc}") from exc
    return model.eval()
