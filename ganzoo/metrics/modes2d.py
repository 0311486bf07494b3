"""Mode-collapse metrics for 2-D Gaussian mixtures (VEEGAN, PacGAN).

A sample is high quality when it lies within 3 standard deviations of its nearest mode centre; a
mode is captured when at least one high-quality sample has it as nearest centre. Reverse KL is
KL(histogram of the high-quality samples over modes || uniform over modes) (PacGAN); it is NaN
when no sample is high quality.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import GanzooError
from .base import Metric, MetricInputs


def mode_metrics(samples: Any, centers: Any, std: float, threshold: float = 3.0) -> dict[str, float]:
    """{"modes": captured count, "high_quality": percent, "reverse_kl": nats, "num_modes": K}."""
    x = np.asarray(samples.detach().cpu() if hasattr(samples, "detach") else samples, dtype=np.float64)
    c = np.asarray(centers, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2 or c.ndim != 2 or c.shape[1] != 2:
        raise GanzooError(f"mode metrics need 2-D points (N, 2) and centres (K, 2); got {x.shape} and {c.shape}")
    if len(x) == 0:
        raise GanzooError("mode metrics need at least one sample")
    d = np.sqrt(((x[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    nearest = d.argmin(axis=1)
    good = d[np.arange(len(x)), nearest] <= threshold * float(std)
    counts = np.bincount(nearest[good], minlength=len(c)).astype(np.float64)
    k = len(c)
    if counts.sum() > 0:
        p = counts / counts.sum()
        nz = p > 0
        rkl = float((p[nz] * np.log(p[nz] * k)).sum())
    else:
        rkl = math.nan
    return {"modes": float((counts > 0).sum()), "high_quality": float(100.0 * good.mean()),
            "reverse_kl": rkl, "num_modes": float(k)}


class ModesMetric(Metric):
    """Modes captured / % high quality / reverse KL; centres and std from the data's extras."""

    name = "modes"
    higher_is_better = True
    needs = frozenset({"samples"})
    primary = "modes"
    kinds = ("points",)

    def __init__(self, threshold: float = 3.0) -> None:
        super().__init__(threshold=float(threshold))

    def compute(self, inputs: MetricInputs) -> dict[str, float]:
        info = inputs.data_info
        extras = getattr(info, "extras", None) or {}
        if "centers" not in extras or "std" not in extras:
            name = getattr(info, "name", "?")
            raise GanzooError(f"metric 'modes' needs a 2-D mixture data set with extras 'centers' and "
                              f"'std' (such as ring or grid); data set '{name}' has none")
        return mode_metrics(inputs.fake_samples, extras["centers"], extras["std"], self.options["threshold"])
