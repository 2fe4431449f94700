"""Training the melody network: seeded, resumable, with validation and early stopping."""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..data.build import load_dataset
from ..data.records import MelodyRecord
from .batches import chunk_melodies, melody_batches, shuffled_batches
from .checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from .events import EncodedMelody, encode_record
from .network import MelodyConfig, MelodyLSTM

MODEL_NAME = "melody-lstm-v1"


@dataclass
class TrainConfig:
    """Everything that decides a training run (stored in the checkpoint)."""

    data: str = "data/melody"
    out: str = "models/melody.pt"
    name: str = MODEL_NAME               # what /health and every response report
    epochs: int = 40
    batch_size: int = 64
    seq_len: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-5
    clip: float = 1.0
    patience: int = 4
    seed: int = 1234
    threads: int = 2
    max_minutes: float = 50.0
    max_train_melodies: int = 0          # 0 = all (small values for smoke runs)
    repeat: dict = field(default_factory=lambda: {"classical": 4, "pop": 1, "folk": 1})


def encode_split(records: list[MelodyRecord], split: str, limit: int = 0) -> list[EncodedMelody]:
    """Encode the records of one split (optionally only the first ``limit``)."""
    chosen = [r for r in records if r.split == split]
    if limit:
        chosen = chosen[:limit]
    return [encode_record(r) for r in chosen if len(r.notes) >= 2]


@torch.no_grad()
def bits_per_note(model: MelodyLSTM, melodies: list[EncodedMelody], batch_size: int = 32) -> tuple[float, int]:
    """Mean -log2 p(event) over every event of ``melodies`` (each read from its first note)."""
    model.eval()
    total, n = 0.0, 0
    for batch in melody_batches(melodies, batch_size):
        lp = model.event_log_probs(batch["pitch"], batch["dur"], batch["cond"])
        total += float(-(lp[batch["mask"]]).sum()) / math.log(2)
        n += int(batch["mask"].sum())
    return (total / max(n, 1), n)


def train_epoch(model: MelodyLSTM, opt: torch.optim.Optimizer, chunks: list, *, batch_size: int,
                rng: np.random.Generator, clip: float = 1.0, desc: str = "epoch", progress: bool = True) -> float:
    """One pass over ``chunks`` in an order drawn from ``rng``; returns the smoothed loss in nats."""
    model.train()
    n_batches = math.ceil(len(chunks) / batch_size)
    bar = tqdm(shuffled_batches(chunks, batch_size, rng), total=n_batches, desc=desc,
               disable=not progress, leave=False)
    run_loss = None
    for batch in bar:
        lp = model.event_log_probs(batch["pitch"], batch["dur"], batch["cond"])
        loss = -(lp[batch["mask"]]).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        value = loss.item()
        run_loss = value if run_loss is None else 0.98 * run_loss + 0.02 * value
        bar.set_postfix(bits=f"{run_loss / math.log(2):.3f}")
    return float(run_loss)


def resume_path(cfg: TrainConfig) -> Path:
    """Where a run keeps its resume state: next to the dataset, never in the shipped models."""
    data = Path(cfg.data)
    folder = data if data.is_dir() else data.parent
    return folder / f"{Path(cfg.out).stem}.resume.pt"


def train(cfg: TrainConfig, model_cfg: MelodyConfig | None = None, *, resume: bool = False,
          progress: bool = True) -> dict:
    """Train a melody model on ``cfg.data`` and write the best checkpoint to ``cfg.out``.

    The validation bits per note decides the best epoch; training stops after
    ``patience`` epochs without improvement or after ``max_minutes``. A resume file next to
    the dataset (weights, optimiser, epoch, RNG state) lets ``resume=True`` continue a run.
    Returns the metrics of the best epoch.
    """
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    records = load_dataset(Path(cfg.data))
    train_set = encode_split(records, "train", cfg.max_train_melodies)
    valid_set = encode_split(records, "validation", cfg.max_train_melodies // 10 if cfg.max_train_melodies else 0)
    chunks = chunk_melodies(train_set, cfg.seq_len, cfg.repeat)
    out = Path(cfg.out)
    model = MelodyLSTM(model_cfg or MelodyConfig())
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    start_epoch, best, bad, history, elapsed0 = 0, float("inf"), 0, [], 0.0
    if resume and resume_path(cfg).exists():
        state = torch.load(resume_path(cfg), map_location="cpu", weights_only=True)
        model = MelodyLSTM(MelodyConfig(**state["model_args"]))
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
        model.load_state_dict(state["state_dict"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start_epoch, best, bad = state["epoch"] + 1, state["best"], state["bad"]
        history, elapsed0 = state["history"], state["elapsed"]
        rng = np.random.default_rng(state["rng_seed"])
        torch.manual_seed(state["rng_seed"])
    t0 = time.time() - elapsed0
    best_metrics: dict = {}
    for epoch in range(start_epoch, cfg.epochs):
        run_loss = train_epoch(model, opt, chunks, batch_size=cfg.batch_size, rng=rng, clip=cfg.clip,
                               desc=f"epoch {epoch + 1}", progress=progress)
        valid_bits, n_valid = bits_per_note(model, valid_set)
        sched.step(valid_bits)
        elapsed = time.time() - t0
        history.append({"epoch": epoch + 1, "train_bits": run_loss / math.log(2), "valid_bits": valid_bits,
                        "minutes": elapsed / 60})
        if progress:
            print(f"epoch {epoch + 1}: train {run_loss / math.log(2):.3f} valid {valid_bits:.3f} bits/note "
                  f"({elapsed / 60:.1f} min)", flush=True)
        if valid_bits < best - 1e-4:
            best, bad = valid_bits, 0
            best_metrics = {"valid_bits_per_note": valid_bits, "valid_notes": n_valid, "epoch": epoch + 1,
                            "train_minutes": elapsed / 60, "train_melodies": len(train_set),
                            "train_events": int(sum(len(m.pitch) for m in train_set)),
                            "train_styles": sorted({m.style for m in train_set})}
            save_checkpoint(out, model, name=cfg.name, train_config=asdict(cfg),
                            metrics=best_metrics, extra={"history": history})
        else:
            bad += 1
        torch.save({"model_args": model.config.to_dict(), "state_dict": model.state_dict(),
                    "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "epoch": epoch,
                    "best": best, "bad": bad, "history": history, "elapsed": elapsed,
                    "rng_seed": int(rng.integers(2**62))}, resume_path(cfg))
        if bad >= cfg.patience or elapsed / 60 > cfg.max_minutes:
            break
    if out.exists():
        blob = load_checkpoint(out)
        blob_metrics = blob["metrics"]
        blob_metrics["train_minutes_total"] = (time.time() - t0) / 60
        save_checkpoint(out, model_from_checkpoint(blob), name=blob["name"], train_config=blob["train_config"],
                        metrics=blob_metrics, extra={"history": history})
        return blob_metrics
    return best_metrics
