"""Kernel Inception Distance as torch-fidelity computes it.

Polynomial kernel ``k(x, y) = (x . y / d + 1)^3``; ``subsets`` random subsets of ``subset_size``
fakes and reals each (drawn without replacement, seeded); unbiased MMD^2 per subset; reported as
mean and standard deviation (ddof=0) over subsets. Dot products run in float32 (as torch-fidelity
does, through BLAS), the kernel and sums in float64.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from ..errors import GanzooError
from .base import Metric, MetricInputs


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor, degree: int = 3, coef0: float = 1.0) -> torch.Tensor:
    """(x y^T / d + coef0)^degree in float64 (dot products in the inputs' dtype)."""
    gram = (x @ y.T).double()
    return (gram / x.shape[1] + coef0) ** degree


def mmd2_unbiased(k_xx: torch.Tensor, k_yy: torch.Tensor, k_xy: torch.Tensor) -> float:
    """Unbiased MMD^2: off-diagonal means of K_XX and K_YY minus twice the mean of K_XY."""
    m = k_xx.shape[0]
    n = k_yy.shape[0]
    xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(xx + yy - 2 * k_xy.mean())


def kid(fake: Any, real: Any, subsets: int = 100, subset_size: int = 1000, seed: int = 0,
        progress: bool = False) -> tuple[float, float, int]:
    """(KID mean, KID std, subset size used). Subsets shrink to the smaller set, with a warning."""
    fake_t = torch.as_tensor(np.asarray(fake), dtype=torch.float32)
    real_t = torch.as_tensor(np.asarray(real), dtype=torch.float32)
    nf, nr = len(fake_t), len(real_t)
    size = min(subset_size, nf, nr)
    if size < 2:
        raise GanzooError(f"KID needs at least 2 fake and 2 real samples, got {nf} and {nr}")
    if size < subset_size:
        warnings.warn(f"KID subset size reduced from {subset_size} to {size} (only {nf} fake and {nr} "
                      f"real samples); the value is not comparable with subset size {subset_size}",
                      UserWarning, stacklevel=2)
    rng = np.random.RandomState(seed)
    scores = np.zeros(subsets)
    it = range(subsets)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc="KID subsets", leave=False)
    for i in it:
        f = fake_t[torch.from_numpy(rng.choice(nf, size, replace=False))]
        r = real_t[torch.from_numpy(rng.choice(nr, size, replace=False))]
        scores[i] = mmd2_unbiased(polynomial_kernel(f, f), polynomial_kernel(r, r), polynomial_kernel(f, r))
    return float(scores.mean()), float(scores.std()), size


class KIDMetric(Metric):
    """KID (options: ``subsets`` = 100, ``subset_size`` = 1000)."""

    name = "kid"
    higher_is_better = False
    needs = frozenset({"features"})
    primary = "kid"

    def __init__(self, subsets: int = 100, subset_size: int = 1000) -> None:
        super().__init__(subsets=int(subsets), subset_size=int(subset_size))

    def compute(self, inputs: MetricInputs) -> dict[str, float]:
        mean, std, size = kid(inputs.fake_features, inputs.real_features, self.options["subsets"],
                              self.options["subset_size"], seed=inputs.seed, progress=inputs.progress)
        return {"kid": mean, "kid_std": std, "kid_subset_size": float(size)}
