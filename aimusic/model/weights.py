"""The melody model's torch-free weights file: an ``.npz`` of the tensors and a JSON sidecar.

The service reads these two files instead of the torch checkpoint, so serving needs NumPy
only: importing torch alone costs a process about a second and over 200 MB. They sit beside
the checkpoint (``melody.pt`` -> ``melody.npz`` + ``melody.json``) and are rewritten each
time the checkpoint is (see :mod:`aimusic.model.checkpoint`). The sidecar holds every
checkpoint entry but the tensors (name, network arguments, vocabulary, sampling
calibration, metrics, ...) plus the SHA-256 of the checkpoint and of the ``.npz`` it was
written with, so a pair that no longer matches its checkpoint is never served.

The ``.npz`` is written byte for byte the same for the same tensors (no zip timestamps), so
re-exporting an unchanged checkpoint changes no committed file.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .events import vocabulary

WEIGHTS_FORMAT = "aimusic-melody-weights"
WEIGHTS_FORMAT_VERSION = 1
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class WeightsUnavailable(ModelError):
    """There is no usable weights file for a checkpoint (missing, unreadable or stale)."""


def weights_paths(path: Path) -> tuple[Path, Path]:
    """The ``.npz`` and ``.json`` paths that belong to the checkpoint (or weights file) ``path``.

    Parameters
    ----------
    path : Path
        A checkpoint such as ``models/melody.pt``, or either file of the pair itself.

    Returns
    -------
    tuple of Path
        ``(models/melody.npz, models/melody.json)``.
    """
    path = Path(path)
    return path.with_suffix(".npz"), path.with_suffix(".json")


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of the file at ``path``."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """The ``.npz`` archive of ``arrays`` (sorted by name, uncompressed, fixed timestamps).

    ``numpy.savez`` stamps each member with the current time; this writes the same format
    with a fixed date, so equal arrays give equal bytes. ``numpy.load`` reads it as usual.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arrays[name]), allow_pickle=False)
    return buf.getvalue()


def write_weights(checkpoint: Path, arrays: Mapping[str, np.ndarray], metadata: Mapping) -> tuple[Path, Path]:
    """Write the weights file pair for the checkpoint at ``checkpoint``, each file atomically.

    Parameters
    ----------
    checkpoint : Path
        The checkpoint file, already written: its SHA-256 goes into the sidecar.
    arrays : mapping of str to ndarray
        The network's tensors by state-dict name.
    metadata : mapping
        Every other checkpoint entry, as plain JSON-able data.

    Returns
    -------
    tuple of Path
        The ``.npz`` and ``.json`` paths written.
    """
    checkpoint = Path(checkpoint)
    npz_path, json_path = weights_paths(checkpoint)
    data = npz_bytes(arrays)
    sidecar = {"weights_format": WEIGHTS_FORMAT, "weights_format_version": WEIGHTS_FORMAT_VERSION,
               "checkpoint": {"file": checkpoint.name, "sha256": file_sha256(checkpoint)},
               "weights": {"file": npz_path.name, "sha256": hashlib.sha256(data).hexdigest()},
               **dict(metadata)}
    _replace(npz_path, data)        # the weights first: a sidecar never names weights not yet there
    _replace(json_path, (json.dumps(sidecar, indent=1, sort_keys=True) + "\n").encode())
    return npz_path, json_path


def load_weights(path: Path) -> dict:
    """Read the weights file pair of ``path`` as a checkpoint-like dict (tensors as arrays).

    Parameters
    ----------
    path : Path
        The checkpoint the pair belongs to (it need not exist), or either file of the pair.

    Returns
    -------
    dict
        The sidecar's entries, with ``state_dict`` mapping names to float arrays.

    Raises
    ------
    WeightsUnavailable
        When the pair is missing or unreadable, or no longer matches the checkpoint beside it
        (a checkpoint rewritten without re-exporting): reading the checkpoint is then right.
    ModelError
        When the pair is readable but was trained with another event vocabulary than
        :func:`~aimusic.model.events.vocabulary`.
    """
    npz_path, json_path = weights_paths(path)
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
        data = npz_path.read_bytes()
    except FileNotFoundError as exc:
        raise WeightsUnavailable(f"no weights file {exc.filename}") from exc
    except (OSError, ValueError) as exc:
        raise WeightsUnavailable(f"cannot read weights {json_path}: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("weights_format") != WEIGHTS_FORMAT:
        raise WeightsUnavailable(f"{json_path} is not a melody weights file")
    if meta.get("weights", {}).get("sha256") != hashlib.sha256(data).hexdigest():
        raise WeightsUnavailable(f"{npz_path} does not match {json_path.name}")
    checkpoint = json_path.parent / str(meta.get("checkpoint", {}).get("file", ""))
    if checkpoint.is_file() and file_sha256(checkpoint) != meta["checkpoint"].get("sha256"):
        raise WeightsUnavailable(f"{json_path.name} was exported from another version of {checkpoint.name}")
    if meta.get("vocab") != vocabulary():
        raise ModelError(f"{json_path} was trained with another event vocabulary")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            meta["state_dict"] = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise WeightsUnavailable(f"cannot read weights {npz_path}: {exc}") from exc
    return meta


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
