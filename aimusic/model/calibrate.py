"""Sampling calibration: one rest offset per style tag, so generated melodies rest as real ones do.

On melodies it has not seen, the network rests less often than real melodies of the rarely
resting styles do (chorales and fiddle tunes rest on one event in fifty to a hundred; it gives
them up to a quarter fewer), and may rest more than real pop songs. One logit offset per
style tag restores the rate: fitted on contexts of
the validation split, which the weights never saw, against the rest rate of the training
split. It lives in the checkpoint's ``sampling`` entry and the melodist adds it to the rest
logit when it samples; the weights, and so the bits per note, are untouched.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..data.records import MelodyRecord
from .checkpoint import update_checkpoint
from .melodist import load_model_melodist
from .melody_stats import compare_generated, real_means, samples_for

MAX_STEP = 1.5           # largest change of the offset per iteration, in nats


@dataclass(frozen=True)
class RestFit:
    """The fitted offset of one style tag and how close it brought the generated rate."""

    style: str
    offset: float
    target: float
    generated: float
    generated_before: float
    melodies: int

    def to_dict(self) -> dict:
        """Plain data for the checkpoint and the model card."""
        return {"offset": round(self.offset, 4), "target_rest_ratio": round(self.target, 5),
                "generated_rest_ratio": round(self.generated, 5),
                "generated_rest_ratio_before": round(self.generated_before, 5), "melodies": self.melodies}


def generated_rest_ratio(melodist, contexts: list[MelodyRecord], *, seed: int, samples: int) -> float:
    """Mean rest share of melodies the melodist writes for the contexts of ``contexts``."""
    table = compare_generated(melodist, contexts, seed=seed, samples=samples)
    return table[contexts[0].style]["metrics"]["rest_ratio"]["generated"]


def fit_rest_offset(melodist, contexts: list[MelodyRecord], target: float, *, seed: int = 11,
                    min_generated: int = 600, iterations: int = 6, tolerance: float = 0.02,
                    report: Callable[[str], None] | None = None) -> RestFit:
    """The rest offset for one style tag that brings its generated rest share to ``target``.

    For a rare event, adding ``b`` to its logit multiplies its probability by about ``e**b``,
    so steps of ``b += log(target / generated)`` converge in a few iterations. Every step
    reuses ``seed``, which keeps the generated rate a smooth function of ``b``.
    """
    style = contexts[0].style
    if any(r.style != style for r in contexts):
        raise ValueError("fit_rest_offset takes the melodies of one style tag")
    samples = samples_for(len(contexts), min_generated)
    previous = dict(melodist.rest_offset)
    offset, before, generated = 0.0, float("nan"), float("nan")
    try:
        for i in range(iterations + 1):
            melodist.rest_offset = {**previous, style: offset}
            generated = generated_rest_ratio(melodist, contexts, seed=seed, samples=samples)
            before = generated if i == 0 else before
            if report:
                report(f"{style}: offset {offset:+.3f} -> rest share {generated:.4f} (target {target:.4f})")
            if target <= 0 or (generated > 0 and abs(generated / target - 1) <= tolerance) or i == iterations:
                break
            step = MAX_STEP if generated == 0 else math.log(target / generated)
            offset += max(-MAX_STEP, min(MAX_STEP, step))
    finally:
        melodist.rest_offset = previous
    return RestFit(style, offset, target, generated, before, len(contexts) * samples)


def calibrate_checkpoint(path: Path, records: list[MelodyRecord], *, min_generated: int = 600, seed: int = 11,
                         report: Callable[[str], None] | None = None) -> dict[str, RestFit]:
    """Fit every trained style tag's rest offset and store them in the checkpoint at ``path``.

    Targets come from the training split, contexts from the validation split.
    """
    melodist = load_model_melodist(path)
    fits = {}
    for style in sorted({r.style for r in records if r.split == "train"}):
        train = [r for r in records if r.style == style and r.split == "train"]
        contexts = [r for r in records if r.style == style and r.split == "validation"]
        if contexts:
            fits[style] = fit_rest_offset(melodist, contexts, real_means(train)["rest_ratio"], seed=seed,
                                          min_generated=min_generated, report=report)
    update_checkpoint(path, sampling={
        "top_p": melodist.top_p,
        "rest_offset": {style: fit.to_dict() for style, fit in fits.items()},
        "fitted_on": f"contexts of the validation split (at least {min_generated} melodies per style tag), "
                     f"targets from the training split, seed {seed}"})
    return fits
