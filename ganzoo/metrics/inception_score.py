"""Inception Score as torch-fidelity computes it: softmax of the 1008 unbiased logits in float64,
samples shuffled with a seeded permutation, split in ``splits`` parts; exp(mean KL(p(y|x) || p(y)))
per part; mean and std (ddof=0) over parts."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import GanzooError
from .base import Metric, MetricInputs


def inception_score(logits: Any, splits: int = 10, shuffle: bool = True, seed: int = 0) -> tuple[float, float]:
    """(IS mean, IS std) from class logits (N, K)."""
    x = torch.as_tensor(np.asarray(logits)).double()
    n = x.shape[0]
    if n < splits:
        raise GanzooError(f"Inception Score with {splits} splits needs at least {splits} samples, got {n}")
    if shuffle:
        x = x[torch.from_numpy(np.random.RandomState(seed).permutation(n))]
    p = x.softmax(dim=1)
    log_p = x.log_softmax(dim=1)
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        pc, lpc = p[lo:hi], log_p[lo:hi]
        log_q = pc.mean(dim=0, keepdim=True).log()
        scores.append(float((pc * (lpc - log_q)).sum(dim=1).mean().exp()))
    return float(np.mean(scores)), float(np.std(scores))


class InceptionScoreMetric(Metric):
    """IS (options: ``splits`` = 10)."""

    name = "is"
    higher_is_better = True
    needs = frozenset({"logits"})
    primary = "is"
    kinds = ("images",)

    def __init__(self, splits: int = 10) -> None:
        super().__init__(splits=int(splits))

    def compute(self, inputs: MetricInputs) -> dict[str, float]:
        mean, std = inception_score(inputs.fake_logits, self.options["splits"], seed=inputs.seed)
        return {"is": mean, "is_std": std}
