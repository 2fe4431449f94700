"""From encoded melodies to padded tensors: training chunks and whole-melody batches."""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch

from .events import FEATURES, EncodedMelody


def chunk_melodies(melodies: Sequence[EncodedMelody], length: int,
                   repeat: dict[str, int] | None = None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Cut every melody into consecutive chunks of at most ``length`` events.

    ``repeat`` maps a style tag to how many times its chunks are used per epoch, so the
    small classical and pop sets are not drowned by thousands of folk tunes.
    """
    out = []
    for m in melodies:
        times = (repeat or {}).get(m.style, 1)
        for s in range(0, len(m.pitch), length):
            chunk = (m.pitch[s:s + length], m.dur[s:s + length], m.cond[s:s + length])
            if len(chunk[0]) >= 2:
                out += [chunk] * times
    return out


def collate(items: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> dict[str, torch.Tensor]:
    """Pad a list of (pitch, dur, cond) arrays into tensors plus a validity mask."""
    n = max(len(p) for p, _, _ in items)
    b = len(items)
    pitch = np.zeros((b, n), np.int64)
    dur = np.zeros((b, n), np.int64)
    cond = np.zeros((b, n, len(FEATURES)), np.int64)
    mask = np.zeros((b, n), bool)
    for i, (p, d, c) in enumerate(items):
        k = len(p)
        pitch[i, :k], dur[i, :k], cond[i, :k], mask[i, :k] = p, d, c, True
    return {"pitch": torch.from_numpy(pitch), "dur": torch.from_numpy(dur),
            "cond": torch.from_numpy(cond), "mask": torch.from_numpy(mask)}


def shuffled_batches(chunks: list, batch_size: int, rng: np.random.Generator,
                     pool: int = 32) -> Iterator[dict[str, torch.Tensor]]:
    """Batches of chunks in a random order drawn from ``rng``, similar lengths together.

    Chunks are shuffled, sorted by length within pools of ``pool`` batches (so a batch of
    short folk tunes is not padded to the length of a pop song), and the batches shuffled.
    """
    order = rng.permutation(len(chunks))
    step = batch_size * pool
    batches = []
    for s in range(0, len(order), step):
        group = sorted(order[s:s + step], key=lambda i: len(chunks[i][0]))
        batches += [group[k:k + batch_size] for k in range(0, len(group), batch_size)]
    for b in rng.permutation(len(batches)):
        yield collate([chunks[i] for i in batches[b]])


def melody_batches(melodies: Sequence[EncodedMelody], batch_size: int = 32) -> Iterator[dict[str, torch.Tensor]]:
    """Whole melodies in length-sorted batches (for exact evaluation from the first note)."""
    order = sorted(range(len(melodies)), key=lambda i: len(melodies[i].pitch))
    for s in range(0, len(order), batch_size):
        yield collate([(melodies[i].pitch, melodies[i].dur, melodies[i].cond) for i in order[s:s + batch_size]])
