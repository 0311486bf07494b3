"""Scoring a translation on ``two_domain`` against its known ground truth.

All images are float ``(N, 3, H, W)`` in [-1, 1]. Each score is one float, the mean over images:

* :func:`l1_error`: mean absolute difference to the true translation (0 is perfect; [-1, 1] units).
* :func:`mask_iou`: IoU of the foreground masks of prediction and truth (1 is perfect). A pixel is
  foreground when some channel differs from the target domain's background colour by more than
  :data:`FG_THRESHOLD` = 0.75 in [-1, 1] units (0.375 of the full range). The foreground colours
  differ from either background by about 1.6 in the channel farthest from it, so this is a
  little under half the contrast: on a true image it keeps exactly the pixels covered at least
  8/16 (the ground-truth masks), and drops those covered 7/16 (0.69-0.71 away) in both domains.
* :func:`shape_accuracy`: the fraction of images whose foreground mask is closest (IoU) to the
  true class's template among all classes' templates drawn at the true centre and size.
* :func:`colour_accuracy`: the fraction of images whose dominant foreground hue (chroma-weighted
  circular mean over the foreground mask) is within :data:`HUE_TOLERANCE` = 15 degrees of the
  true hue; an image without coloured foreground counts as wrong.

:func:`identity_floor` scores the identity mapping (the input returned unchanged): a model must
beat it on every score to have translated anything.
"""

from __future__ import annotations

import numpy as np
import torch

from .shape_render import render_coverage
from .two_domain import BACKGROUND, Task, TwoDomainTruth

FG_THRESHOLD = 0.75
HUE_TOLERANCE = 15.0


def _check(pred: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    pred = torch.as_tensor(pred).detach().to("cpu", torch.float32)
    if pred.shape != like.shape:
        raise ValueError(f"predictions have shape {tuple(pred.shape)}, expected {tuple(like.shape)}")
    return pred


def background(domain: str) -> torch.Tensor:
    """The background colour of ``domain`` in [-1, 1] units, shaped ``(1, 3, 1, 1)``."""
    return (torch.tensor(BACKGROUND[domain], dtype=torch.float32) / 127.5 - 1.0).view(1, 3, 1, 1)


def foreground_mask(images: torch.Tensor, domain: str, threshold: float = FG_THRESHOLD) -> torch.Tensor:
    """bool ``(N, H, W)``: pixels farther than ``threshold`` (max over channels) from the background."""
    images = torch.as_tensor(images).detach().to("cpu", torch.float32)
    return (images - background(domain)).abs().amax(dim=1) > threshold


def _iou(m1: torch.Tensor, m2: torch.Tensor) -> torch.Tensor:
    """Per-image IoU of bool masks ``(..., H, W)``; two empty masks agree perfectly."""
    inter = (m1 & m2).flatten(-2).sum(-1).double()
    union = (m1 | m2).flatten(-2).sum(-1).double()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


def l1_error(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean absolute difference to the true translation."""
    return float((_check(pred, target) - target).abs().mean())


def mask_iou(pred: torch.Tensor, target: torch.Tensor, domain: str) -> float:
    """Mean IoU between the foreground masks of ``pred`` and ``target`` (both in ``domain``)."""
    pred = _check(pred, target)
    return float(_iou(foreground_mask(pred, domain), foreground_mask(target, domain)).mean())


def shape_accuracy(pred: torch.Tensor, task: Task) -> float:
    """Fraction of predictions whose mask best matches the template of the true class."""
    pred = _check(pred, task.targets)
    masks = foreground_mask(pred, task.target_domain)
    n, size = len(task.scenes), pred.shape[-1]
    ious = torch.stack([
        _iou(masks, torch.from_numpy(render_coverage(task.scenes, size, np.full(n, k)) >= 128))
        for k in range(task.num_classes)], dim=1)
    return float((ious.argmax(dim=1) == task.cls).double().mean())


def hue_degrees(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel hue in degrees and chroma (max - min channel, in [0, 1]), each ``(N, H, W)``."""
    x = (torch.as_tensor(images).to(torch.float64) + 1.0) / 2.0
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    mx, argmx = x.max(dim=1)
    chroma = mx - x.min(dim=1).values
    c = chroma.clamp(min=1e-12)
    h = torch.where(argmx == 0, torch.remainder((g - b) / c, 6.0),
                    torch.where(argmx == 1, (b - r) / c + 2.0, (r - g) / c + 4.0))
    return 60.0 * h, chroma


def dominant_hue(images: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Chroma-weighted circular mean hue (degrees) over ``masks``, and whether there was colour."""
    hue, chroma = hue_degrees(images)
    w = chroma * masks.to(chroma.dtype)
    rad = torch.deg2rad(hue)
    s, c = (w * torch.sin(rad)).flatten(1).sum(1), (w * torch.cos(rad)).flatten(1).sum(1)
    valid = w.flatten(1).sum(1) > 1e-6
    return torch.remainder(torch.rad2deg(torch.atan2(s, c)), 360.0), valid


def hue_distance(h1: torch.Tensor, h2: torch.Tensor) -> torch.Tensor:
    """Circular distance between hues in degrees, in [0, 180]."""
    d = torch.remainder(h1.to(torch.float64) - h2.to(torch.float64), 360.0)
    return torch.minimum(d, 360.0 - d)


def colour_accuracy(pred: torch.Tensor, target_hue: torch.Tensor, domain: str,
                    tolerance: float = HUE_TOLERANCE) -> float:
    """Fraction of predictions whose dominant foreground hue is within ``tolerance`` degrees."""
    pred = torch.as_tensor(pred).detach().to("cpu", torch.float32)
    hue, valid = dominant_hue(pred, foreground_mask(pred, domain))
    ok = valid & (hue_distance(hue, torch.as_tensor(target_hue)) <= tolerance)
    return float(ok.double().mean())


def score_translation(pred: torch.Tensor, truth: TwoDomainTruth, direction: str) -> dict[str, float]:
    """All four scores of translations ``pred`` of ``truth``'s ``direction`` inputs ("a2b"/"b2a")."""
    task = truth.task(direction)
    pred = _check(pred, task.targets)
    return {"l1": l1_error(pred, task.targets),
            "mask_iou": mask_iou(pred, task.targets, task.target_domain),
            "shape_accuracy": shape_accuracy(pred, task),
            "colour_accuracy": colour_accuracy(pred, task.hue, task.target_domain)}


def identity_floor(truth: TwoDomainTruth) -> dict[str, dict[str, float]]:
    """Scores of the identity mapping in both directions (the floor a model must beat)."""
    return {d: score_translation(truth.task(d).inputs, truth, d) for d in ("a2b", "b2a")}
