"""Differentiable augmentations (DiffAugment, Zhao et al. 2020).

Every operation is built from additions, multiplications and index gathers, so gradients reach
the input: G is trained through the augmented discriminator. Each image in a batch gets its own
random parameters, drawn from torch's global generator (seeded and checkpointed by the trainer)
or from ``generator``. Images are (N, C, H, W) in [-1, 1]; values are not clamped.

Policies (the paper's ranges):

* ``color``: brightness + U(-0.5, 0.5); saturation x U(0, 2) around the per-pixel channel mean;
  contrast x U(0.5, 1.5) around the per-image mean.
* ``translation``: an integer shift of up to 1/8 of each side (``translation_ratio``), zero fill.
* ``cutout``: a zeroed square of half the image side (``cutout_ratio``) centred anywhere in the
  image (clipped at the border).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from ganzoo import GanzooError

POLICIES = ("color", "translation", "cutout")


def _uniform(x: torch.Tensor, low: float, high: float, generator: torch.Generator | None) -> torch.Tensor:
    """One U(low, high) value per image, shaped (N, 1, 1, 1) to broadcast."""
    u = torch.rand(x.shape[0], 1, 1, 1, generator=generator, device="cpu" if generator is not None else x.device)
    return (low + (high - low) * u).to(device=x.device, dtype=x.dtype)


def _randint(low: int, high: int, n: int, device: torch.device, generator: torch.Generator | None) -> torch.Tensor:
    """``n`` integers in [low, high] inclusive."""
    dev = "cpu" if generator is not None else device
    return torch.randint(low, high + 1, (n,), generator=generator, device=dev).to(device)


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    x = x + _uniform(x, -0.5, 0.5, generator)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * _uniform(x, 0.0, 2.0, generator) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _uniform(x, 0.5, 1.5, generator) + mean


def translation(x: torch.Tensor, ratio: float = 0.125, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by (dy, dx) with |dy| <= round(H * ratio), |dx| <= round(W * ratio)."""
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    if sy == 0 and sx == 0:
        return x
    dy = _randint(-sy, sy, n, x.device, generator)
    dx = _randint(-sx, sx, n, x.device, generator)
    padded = F.pad(x, [sx, sx, sy, sy])
    rows = torch.arange(h, device=x.device)[None, :, None] + sy - dy[:, None, None]   # (N, H, 1)
    cols = torch.arange(w, device=x.device)[None, None, :] + sx - dx[:, None, None]   # (N, 1, W)
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded[batch, :, rows, cols].permute(0, 3, 1, 2)   # (N, H, W, C) -> (N, C, H, W)


def cutout_mask(x: torch.Tensor, ratio: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """(N, 1, H, W) mask: 0 on a square of side round(H * ratio) x round(W * ratio), 1 elsewhere."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = _randint(0, h - 1, n, x.device, generator)
    cx = _randint(0, w - 1, n, x.device, generator)
    top, left = cy - ch // 2, cx - cw // 2
    ys = torch.arange(h, device=x.device)[None, :]
    xs = torch.arange(w, device=x.device)[None, :]
    in_rows = (ys >= top[:, None]) & (ys < top[:, None] + ch)   # (N, H)
    in_cols = (xs >= left[:, None]) & (xs < left[:, None] + cw)  # (N, W)
    hole = in_rows[:, :, None] & in_cols[:, None, :]
    return (~hole).to(x.dtype)[:, None]


def cutout(x: torch.Tensor, ratio: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    return x * cutout_mask(x, ratio, generator)


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"color,translation,cutout"`` -> its parts, checked; ``""`` -> no augmentation."""
    parts = tuple(p.strip() for p in policy.split(",") if p.strip())
    for p in parts:
        if p not in POLICIES:
            raise GanzooError(f"unknown DiffAugment policy '{p}' in '{policy}'; "
                              f"use a comma-separated subset of {', '.join(POLICIES)}")
    return parts


def diff_augment(x: torch.Tensor, policy: str | tuple[str, ...] = POLICIES, *,
                 translation_ratio: float = 0.125, cutout_ratio: float = 0.5,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply the policy's operations in the order it names them (the paper: colour, translation,
    cutout)."""
    parts = parse_policy(policy) if isinstance(policy, str) else policy
    ops: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "color": lambda t: color(t, generator),
        "translation": lambda t: translation(t, translation_ratio, generator),
        "cutout": lambda t: cutout(t, cutout_ratio, generator),
    }
    for p in parts:
        x = ops[p](x)
    return x
