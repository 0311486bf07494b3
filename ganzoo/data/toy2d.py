"""2-D toy distributions of the mode-collapse literature, generated exactly as published.

* ``ring`` (PacGAN): 8 Gaussians at ``(cos 2 pi k/8, sin 2 pi k/8)``, std 0.01. Angles are
  ``2 pi k / 8`` for k = 0..7 (``linspace(0, 2 pi, 8)`` would repeat a centre: only 7 modes).
* ``grid`` (PacGAN, VEEGAN): 25 Gaussians at ``{-4, -2, 0, 2, 4}^2``, std 0.05.
* preset ``wgangp`` (WGAN-GP's toy code): ring of radius 2, std 0.02, everything divided by 1.414;
  the grid above divided by 2.828. Centres and std below are given after that scaling.
* ``swiss_roll`` (WGAN-GP): sklearn's ``make_swiss_roll(noise=0.25)`` columns 0 and 2, / 7.5.

Mixture components have equal weights; each point picks its component uniformly at random.
All sampling uses numpy's PCG64 seeded with ``(seed, stream, split)``, so a set depends only on
its seed, kind and split, never on the process or on other sets.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import DataError
from .batched import CollatedBatch, as_index
from .splits import split_code

PRESETS = ("pacgan", "wgangp")
#: seed-stream ids, so that different sets with the same seed are independent
STREAMS = {"ring": 101, "grid": 102, "swiss_roll": 103}

WGANGP_RING_DIVISOR = 1.414
WGANGP_GRID_DIVISOR = 2.828
SWISS_ROLL_NOISE = 0.25
SWISS_ROLL_DIVISOR = 7.5


def mixture_spec(kind: str, preset: str = "pacgan") -> tuple[list[list[float]], float]:
    """``(centres, std)`` of the ``ring`` or ``grid`` mixture in data units (after scaling)."""
    if preset not in PRESETS:
        raise DataError(f"unknown preset '{preset}' for data set '{kind}'; use one of: "
                        + ", ".join(PRESETS))
    if kind == "ring":
        radius, std, div = (1.0, 0.01, 1.0) if preset == "pacgan" else (2.0, 0.02, WGANGP_RING_DIVISOR)
        # rounded so that e.g. cos(pi/2) is 0, not 6e-17
        centres = [[round(radius * math.cos(2 * math.pi * k / 8) / div, 12),
                    round(radius * math.sin(2 * math.pi * k / 8) / div, 12)] for k in range(8)]
        return centres, std / div
    if kind == "grid":
        div = 1.0 if preset == "pacgan" else WGANGP_GRID_DIVISOR
        centres = [[float(x) / div, float(y) / div] for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)]
        return centres, 0.05 / div
    raise DataError(f"'{kind}' is not a Gaussian-mixture data set; use 'ring' or 'grid'")


def sample_mixture(centres: np.ndarray, std: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points from an equal-weight isotropic Gaussian mixture, float64 ``(n, 2)``."""
    component = rng.integers(0, len(centres), size=n)
    return centres[component] + std * rng.standard_normal((n, 2))


def sample_swiss_roll(n: int, rng: np.random.Generator, noise: float = SWISS_ROLL_NOISE) -> np.ndarray:
    """WGAN-GP's swiss roll: sklearn ``make_swiss_roll`` semantics, columns (x, z), / 7.5."""
    t = 1.5 * np.pi * (1.0 + 2.0 * rng.random(n))
    y = 21.0 * rng.random(n)
    xyz = np.stack([t * np.cos(t), y, t * np.sin(t)], axis=1)
    xyz += noise * rng.standard_normal((n, 3))
    return xyz[:, [0, 2]] / SWISS_ROLL_DIVISOR


def make_points(kind: str, n: int, seed: int, split: str = "train", preset: str = "pacgan") -> torch.Tensor:
    """The fixed point set ``(n, 2)`` float32 of ``kind`` for ``seed`` and ``split``."""
    if kind not in STREAMS:
        raise DataError(f"unknown 2-D data set '{kind}'; use one of: " + ", ".join(STREAMS))
    rng = np.random.default_rng([seed, STREAMS[kind], split_code(split, kind)])
    if kind == "swiss_roll":
        pts = sample_swiss_roll(n, rng)
    else:
        centres, std = mixture_spec(kind, preset)
        pts = sample_mixture(np.asarray(centres, dtype=np.float64), std, n, rng)
    return torch.from_numpy(pts.astype(np.float32))


class PointsDataset(Dataset):
    """A fixed in-memory set of 2-D points; items are ``{"x": float32 (2,)}``.

    ``__getitems__`` returns the whole batch at once (see :mod:`ganzoo.data.batched`).
    """

    def __init__(self, points: torch.Tensor) -> None:
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"points must be (N, 2), got {tuple(points.shape)}")
        self.points = points.contiguous()

    def __len__(self) -> int:
        return self.points.shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"x": self.points[index].clone()}

    def __getitems__(self, indices: Any) -> CollatedBatch:
        return CollatedBatch({"x": self.points.index_select(0, as_index(indices))})
