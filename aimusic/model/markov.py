"""Interpolated Markov (n-gram) baseline over joint note events, for evaluation only.

Orders 1 to 3 (one to three previous events) are combined with Witten-Bell interpolation
down to an add-one unigram over the whole joint event space, so every event, seen or not,
gets a non-zero probability and bits per note compare exactly with the network's.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable, Sequence

import numpy as np

from .events import N_DUR, N_PITCH

N_EVENTS = N_PITCH * N_DUR
_BOS = -1


class InterpolatedMarkov:
    """Witten-Bell interpolated n-gram model of ``order`` over integer events."""

    def __init__(self, order: int = 3, vocab: int = N_EVENTS) -> None:
        self.order = order
        self.vocab = vocab
        self.unigram = Counter()
        self.total = 0
        self.counts: list[dict[tuple, Counter]] = [defaultdict(Counter) for _ in range(order + 1)]

    def fit(self, sequences: Iterable[Sequence[int]]) -> "InterpolatedMarkov":
        """Count events and their contexts of length 1..order in ``sequences``."""
        for seq in sequences:
            padded = [_BOS] * self.order + [int(x) for x in seq]
            for i in range(self.order, len(padded)):
                ev = padded[i]
                self.unigram[ev] += 1
                self.total += 1
                for k in range(1, self.order + 1):
                    self.counts[k][tuple(padded[i - k:i])][ev] += 1
        # Context totals and distinct followers, computed once for Witten-Bell weights.
        self.lambdas = [{ctx: (sum(c.values()), len(c)) for ctx, c in level.items()} for level in self.counts]
        return self

    def unigram_prob(self, event: int) -> float:
        """Add-one smoothed unigram probability."""
        return (self.unigram[event] + 1) / (self.total + self.vocab)

    def prob(self, context: Sequence[int], event: int) -> float:
        """Interpolated probability of ``event`` after ``context`` (most recent last)."""
        p = self.unigram_prob(event)
        for k in range(1, self.order + 1):
            ctx = tuple(context[-k:]) if len(context) >= k else None
            if ctx is None:
                break
            c = self.counts[k].get(ctx)
            if not c:
                break
            n, types = self.lambdas[k][ctx]
            lam = n / (n + types)
            p = lam * c[event] / n + (1 - lam) * p
        return p

    def sequence_bits(self, seq: Sequence[int]) -> np.ndarray:
        """-log2 probability of each event of ``seq`` (started from BOS context)."""
        padded = [_BOS] * self.order + [int(x) for x in seq]
        return np.array([-np.log2(self.prob(padded[i - self.order:i], padded[i]))
                         for i in range(self.order, len(padded))])

    def unigram_bits(self, seq: Sequence[int]) -> np.ndarray:
        """-log2 unigram probability of each event."""
        return np.array([-np.log2(self.unigram_prob(int(x))) for x in seq])
