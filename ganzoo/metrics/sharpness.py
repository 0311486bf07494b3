"""Sharpness of image-to-image outputs: how much fine detail they have next to the ground truth.

PSNR rewards the blurry mean of all plausible answers, which is why a GAN's sharper output can
score lower than a pixel-loss model's. The ``sharpness`` metric shows the other side: the
gradient energy ratio ``sum |grad output|^2 / sum |grad target|^2`` per image (finite
differences along x and y, all channels, on [0, 1] images). 1 is as much edge energy as the
truth; bicubic up-sampling is well below 1 (blur), noise or ringing can push a model above 1.
The record reports the model's mean ratio and the task's trivial baseline's next to it.
(``higher_is_better`` is True as a ranking hint for outputs that are too smooth; a value
above 1 is not better.) Registered through the ``sr_metrics`` entry point.
"""

from __future__ import annotations

import torch

from ..hookspecs import hookimpl
from .paired import _PairedScore, _check_pair, to_unit


def gradient_energy(images: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image sum of squared horizontal and vertical differences, ``(N,)`` float64 (inside
    ``mask`` when given: a difference counts when both of its pixels are in the mask)."""
    dx = (images[..., :, 1:] - images[..., :, :-1]) ** 2
    dy = (images[..., 1:, :] - images[..., :-1, :]) ** 2
    if mask is not None:
        m = mask.detach().double().cpu()
        dx = dx * (m[..., :, 1:] * m[..., :, :-1])
        dy = dy * (m[..., 1:, :] * m[..., :-1, :])
    return dx.sum(dim=(1, 2, 3)) + dy.sum(dim=(1, 2, 3))


def sharpness(output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
              quantize: bool = False) -> torch.Tensor:
    """Gradient energy ratio output / target per image, ``(N,)`` float64 (flat targets: 1 if the
    output is flat too, else the output's energy over a tiny floor)."""
    _check_pair(output, target)
    out = gradient_energy(to_unit(output, quantize), mask)
    ref = gradient_energy(to_unit(target, quantize), mask)
    flat = ref < 1e-12
    ratio = out / ref.clamp_min(1e-12)
    return torch.where(flat & (out < 1e-12), torch.ones_like(ratio), ratio)


class SharpnessMetric(_PairedScore):
    """Gradient energy ratio output / ground truth (1: as sharp as the truth)."""

    name = "sharpness"
    primary = "sharpness"

    def score(self, output, target, mask, quantize):
        return sharpness(output, target, mask, quantize)


@hookimpl
def register_metrics(register) -> None:
    register("sharpness", SharpnessMetric)
