"""Evaluating the melody model: bits per note against Markov and unigram baselines."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data.build import load_dataset
from ..data.records import MelodyRecord
from ..data.sources import folder_tasks, parse_task
from .checkpoint import load_checkpoint, model_from_checkpoint, update_checkpoint
from .events import encode_record, joint_index
from .markov import InterpolatedMarkov
from .train import bits_per_note


def load_eval_records(path: Path, split: str = "test", style: str = "folk") -> list[MelodyRecord]:
    """Melodies to evaluate: one split of a dataset file, or every score under a folder."""
    path = Path(path)
    if path.is_dir() and not (path / "melodies.jsonl.gz").exists():
        records = []
        for task in folder_tasks(path, style):
            records += [MelodyRecord.from_json(r) for r in parse_task(task)["records"]]
        return records
    records = load_dataset(path)
    return [r for r in records if r.split == split] if split != "all" else records


def fit_markov(train_records: list[MelodyRecord], order: int = 3) -> InterpolatedMarkov:
    """The interpolated Markov baseline (orders 1..order) fitted on training melodies."""
    seqs = []
    for r in train_records:
        e = encode_record(r)
        seqs.append(joint_index(e.pitch, e.dur))
    return InterpolatedMarkov(order).fit(seqs)


def compare_bits(model_path: Path, eval_records: list[MelodyRecord], markov: InterpolatedMarkov,
                 threads: int = 1) -> dict[str, float]:
    """Bits per note of the model, the Markov baseline and the unigram on the same events."""
    torch.set_num_threads(threads)
    model = model_from_checkpoint(load_checkpoint(model_path))
    encoded = [encode_record(r) for r in eval_records if len(r.notes) >= 1]
    model_bits, n = bits_per_note(model, encoded)
    mk, uni = [], []
    for e in encoded:
        seq = joint_index(e.pitch, e.dur)
        mk.append(markov.sequence_bits(seq))
        uni.append(markov.unigram_bits(seq))
    mk_all, uni_all = np.concatenate(mk), np.concatenate(uni)
    return {"model": model_bits, "markov": float(mk_all.mean()), "unigram": float(uni_all.mean()),
            "notes": int(n), "melodies": len(encoded)}


def format_bits_line(result: dict[str, float]) -> str:
    """The summary line: ``bits_per_note model=X markov=Y unigram=Z notes=N``."""
    return (f"bits_per_note model={result['model']:.4f} markov={result['markov']:.4f} "
            f"unigram={result['unigram']:.4f} notes={result['notes']}")


def record_bits(path: Path, name: str, result: dict) -> None:
    """Store a :func:`compare_bits` result in the checkpoint's metrics as ``name_…`` figures."""
    metrics = load_checkpoint(path)["metrics"]
    metrics.update({f"{name}_bits_per_note": round(result["model"], 4),
                    f"{name}_markov_bits_per_note": round(result["markov"], 4),
                    f"{name}_unigram_bits_per_note": round(result["unigram"], 4),
                    f"{name}_notes": result["notes"]})
    update_checkpoint(path, metrics=metrics)
