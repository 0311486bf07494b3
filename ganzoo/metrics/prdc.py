"""Precision/recall (Kynkaanniemi et al. 2019, k=3) and density/coverage (Naeem et al. 2020, k=5).

The manifold of a set is the union of balls around its points with radius = distance to the k-th
nearest other point. Precision: share of fakes inside the real manifold; recall: share of reals
inside the fake manifold (closed balls, ``<=``, as Kynkaanniemi's code). Density: mean number of
real balls (k=5) holding each fake, divided by k; coverage: share of reals whose ball holds at
least one fake (open balls, ``<``, as Naeem's code).

Distances are computed in float64 in row chunks, so memory stays O(chunk x N) and a progress bar
can be shown.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import GanzooError
from .base import Metric, MetricInputs

CHUNK = 1024


def _as64(x: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x)).double()


def _chunks(n: int, desc: str, progress: bool):
    starts = range(0, n, CHUNK)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc=desc, leave=False)
    return starts


def knn_radii(x: Any, ks: tuple[int, ...], progress: bool = False) -> dict[int, torch.Tensor]:
    """{k: distance of each point to its k-th nearest other point} (self excluded)."""
    x = _as64(x)
    kmax = max(ks)
    if len(x) <= kmax:
        raise GanzooError(f"k-nearest-neighbour radii with k={kmax} need more than {kmax} samples, "
                          f"got {len(x)}")
    out = {k: torch.empty(len(x), dtype=torch.float64) for k in ks}
    for s in _chunks(len(x), "kNN radii", progress):
        d = torch.cdist(x[s:s + CHUNK], x)
        # the k+1 smallest include the point itself at distance 0
        vals = torch.topk(d, kmax + 1, dim=1, largest=False).values
        for k in ks:
            out[k][s:s + CHUNK] = vals[:, k]
    return out


def prdc(real: Any, fake: Any, k_pr: int = 3, k_dc: int = 5, progress: bool = False) -> dict[str, float]:
    """precision, recall (k_pr) and density, coverage (k_dc) in one pass over the distances."""
    real, fake = _as64(real), _as64(fake)
    if real.shape[1] != fake.shape[1]:
        raise GanzooError(f"real and fake features have different sizes {real.shape[1]} and {fake.shape[1]}")
    r_real = knn_radii(real, tuple(sorted({k_pr, k_dc})), progress)
    r_fake = knn_radii(fake, (k_pr,), progress)[k_pr]
    in_real_pr = torch.zeros(len(fake), dtype=torch.bool)      # fake inside real manifold
    in_fake = torch.zeros(len(real), dtype=torch.bool)         # real inside fake manifold
    density_count = torch.zeros(len(fake), dtype=torch.float64)
    nearest_fake = torch.full((len(real),), float("inf"), dtype=torch.float64)
    rr_pr = r_real[k_pr][:, None]
    rr_dc = r_real[k_dc][:, None]
    for s in _chunks(len(fake), "precision/recall", progress):
        d = torch.cdist(real, fake[s:s + CHUNK])               # (n_real, chunk)
        in_real_pr[s:s + CHUNK] = (d <= rr_pr).any(dim=0)
        in_fake |= (d <= r_fake[None, s:s + CHUNK]).any(dim=1)
        density_count[s:s + CHUNK] = (d < rr_dc).sum(dim=0).double()
        nearest_fake = torch.minimum(nearest_fake, d.min(dim=1).values)
    return {
        "precision": float(in_real_pr.double().mean()),
        "recall": float(in_fake.double().mean()),
        "density": float(density_count.mean() / k_dc),
        "coverage": float((nearest_fake < r_real[k_dc]).double().mean()),
    }


def _shared(inputs: MetricInputs, k_pr: int, k_dc: int) -> dict[str, float]:
    key = f"prdc:{k_pr}:{k_dc}"
    if key not in inputs.memo:
        inputs.memo[key] = prdc(inputs.real_features, inputs.fake_features, k_pr, k_dc, inputs.progress)
    return inputs.memo[key]


class PrecisionRecallMetric(Metric):
    """Precision and recall (options: ``k`` = 3); the record's value is precision."""

    name = "pr"
    higher_is_better = True
    needs = frozenset({"features"})
    primary = "precision"

    def __init__(self, k: int = 3) -> None:
        super().__init__(k=int(k))

    def compute(self, inputs: MetricInputs) -> dict[str, float]:
        out = _shared(inputs, self.options["k"], 5)
        return {"precision": out["precision"], "recall": out["recall"]}


class DensityCoverageMetric(Metric):
    """Density and coverage (options: ``k`` = 5); the record's value is coverage."""

    name = "dc"
    higher_is_better = True
    needs = frozenset({"features"})
    primary = "coverage"

    def __init__(self, k: int = 5) -> None:
        super().__init__(k=int(k))

    def compute(self, inputs: MetricInputs) -> dict[str, float]:
        out = _shared(inputs, 3, self.options["k"])
        return {"density": out["density"], "coverage": out["coverage"]}
