"""Scores of image-to-image outputs against their ground truth: PSNR and SSIM, each next to the
task's trivial baseline, so a reader sees what the model added.

* :func:`psnr` and :func:`ssim` score each image of ``output`` against ``target`` (both
  (N, C, H, W) in [-1, 1], mapped to [0, 1]); ``mask`` (N, 1, H, W), 1 inside a region, restricts
  the score to that region (inpainting's hole).
* :func:`baseline_output` is the output of a trivial baseline: ``identity`` (the input itself),
  ``bicubic`` (the input up-sampled to the target's size), ``mean_fill`` (the hole filled with
  the mean colour of the image's known pixels).
* :class:`PSNRMetric` / :class:`SSIMMetric` (``psnr``, ``ssim``; ``psnr_hole``, ``ssim_hole``
  inside the mask only) are registered metrics for "paired" and "multi_domain" runs: ``ganzoo
  eval RUN --metrics psnr,ssim``. Their values hold the model's mean and standard error and the
  baseline's (``baseline``, ``baseline_se``).
* ``lpips`` (:mod:`ganzoo.metrics.lpips`, a learned perceptual distance whose VGG-16 weights come
  from a file) is scored the same way, with the same baseline.

SSIM is torchmetrics' (Wang et al. 2004: Gaussian window, sigma 1.5, K1 0.01, K2 0.03, averaged
over channels), a maintained implementation that needs no torchvision; it is the ``paired``
extra (``pip install ganzoo[paired]``). PSNR is one line and written here.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import GanzooError
from .base import Metric, MetricInputs

BASELINES = ("identity", "bicubic", "mean_fill")
#: the PSNR of identical images (MSE 0), instead of infinity
MAX_PSNR = 100.0


def to_unit(x: torch.Tensor, quantize: bool = False) -> torch.Tensor:
    """[-1, 1] -> [0, 1] float64, rounded to 8 bits when ``quantize`` (as a saved PNG would be)."""
    u = ((x.detach().double().cpu() + 1.0) / 2.0).clamp(0.0, 1.0)
    return torch.round(u * 255.0) / 255.0 if quantize else u


def _check_pair(output: torch.Tensor, target: torch.Tensor) -> None:
    if output.shape != target.shape or output.ndim != 4:
        raise GanzooError(f"outputs {tuple(output.shape)} and targets {tuple(target.shape)} must be "
                          f"images (N, C, H, W) of the same shape to be compared")


def psnr(output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
         quantize: bool = False) -> torch.Tensor:
    """Per-image PSNR in dB (peak 1 on [0, 1]), ``(N,)`` float64; inside ``mask`` only when given."""
    _check_pair(output, target)
    err = (to_unit(output, quantize) - to_unit(target, quantize)) ** 2
    if mask is None:
        mse = err.mean(dim=(1, 2, 3))
    else:
        m = mask.detach().double().cpu().expand_as(err)
        mse = (err * m).sum(dim=(1, 2, 3)) / m.sum(dim=(1, 2, 3)).clamp_min(1.0)
    return (10.0 * torch.log10(1.0 / mse.clamp_min(1e-30))).clamp(max=MAX_PSNR)


def ssim(output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
         quantize: bool = False) -> torch.Tensor:
    """Per-image SSIM, ``(N,)`` float64 (torchmetrics; its local map averaged inside ``mask``
    when given)."""
    _check_pair(output, target)
    try:
        from torchmetrics.functional.image import structural_similarity_index_measure
    except ImportError:
        raise GanzooError("SSIM needs torchmetrics: pip install 'ganzoo[paired]' (or torchmetrics)") from None
    a, b = to_unit(output, quantize), to_unit(target, quantize)
    values, ssim_map = structural_similarity_index_measure(a, b, data_range=1.0, reduction="none",
                                                           return_full_image=True)
    if mask is None:
        return values.double()
    m = mask.detach().double().cpu().expand_as(ssim_map)
    return (ssim_map.double() * m).sum(dim=(1, 2, 3)) / m.sum(dim=(1, 2, 3)).clamp_min(1.0)


def baseline_output(name: str, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The trivial baseline's output for a paired ``batch`` ({"x", "y", optional "mask"}), shaped
    like ``batch["y"]``."""
    x, y = batch["x"], batch["y"]
    if name == "identity":
        if x.shape != y.shape:
            raise GanzooError(f"baseline 'identity' needs inputs shaped like the targets; got "
                              f"{tuple(x.shape[1:])} and {tuple(y.shape[1:])}")
        return x
    if name == "bicubic":
        return F.interpolate(x.float(), size=tuple(y.shape[-2:]), mode="bicubic",
                             align_corners=False).clamp(-1, 1).to(y.dtype)
    if name == "mean_fill":
        if "mask" not in batch:
            raise GanzooError("baseline 'mean_fill' needs the batch's 'mask' (1 inside the hole)")
        m = batch["mask"].to(y.dtype)
        known = x[:, :y.shape[1]] * (1 - m)
        mean = known.sum(dim=(2, 3), keepdim=True) / (1 - m).sum(dim=(2, 3), keepdim=True).clamp_min(1.0)
        return known + mean * m
    raise GanzooError(f"unknown baseline '{name}'; known: {', '.join(BASELINES)}")


def _mean_se(values: torch.Tensor) -> tuple[float, float]:
    n = values.numel()
    mean = float(values.mean())
    se = float(values.std(unbiased=True)) / math.sqrt(n) if n > 1 else 0.0
    return mean, se


class _PairedScore(Metric):
    """PSNR or SSIM of generated outputs (``fake_samples``) against the aligned ground truth
    (``real_samples``), with the trivial baseline's (``baseline_samples``) next to it."""

    kinds = ("paired", "multi_domain")
    needs = frozenset({"samples"})
    higher_is_better = True
    #: "all" (whole image) or "hole" (inside ``masks`` only)
    region = "all"

    def score(self, output: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None,
              quantize: bool) -> torch.Tensor:
        raise NotImplementedError

    def compute(self, inputs: MetricInputs) -> dict[str, float]:
        fake, real = inputs.fake_samples, inputs.real_samples
        if real is None or len(real) != len(fake):
            raise GanzooError(f"metric '{self.name}' needs one ground-truth image per output")
        mask = None
        if self.region == "hole":
            if inputs.masks is None:
                raise GanzooError(f"metric '{self.name}' scores inside the hole, but this run's data "
                                  f"has no masks; use '{self.primary.replace('_hole', '')}'")
            mask = inputs.masks
        mean, se = _mean_se(self.score(fake, real, mask, inputs.quantize))
        out = {self.primary: mean, f"{self.primary}_se": se}
        if inputs.baseline_samples is not None:
            b_mean, b_se = _mean_se(self.score(inputs.baseline_samples, real, mask, inputs.quantize))
            out.update(baseline=b_mean, baseline_se=b_se)
        return out

    def protocol_options(self) -> dict[str, Any]:
        return {**self.options, "region": self.region}


class PSNRMetric(_PairedScore):
    """Peak signal-to-noise ratio in dB against the ground truth (higher is better)."""

    name = "psnr"
    primary = "psnr"

    def score(self, output, target, mask, quantize):
        return psnr(output, target, mask, quantize)


class SSIMMetric(_PairedScore):
    """Structural similarity against the ground truth, 1 at best (torchmetrics)."""

    name = "ssim"
    primary = "ssim"

    def score(self, output, target, mask, quantize):
        return ssim(output, target, mask, quantize)


class PSNRHoleMetric(PSNRMetric):
    """PSNR inside the mask (inpainting's hole) only."""

    name = "psnr_hole"
    primary = "psnr_hole"
    region = "hole"


class SSIMHoleMetric(SSIMMetric):
    """SSIM averaged inside the mask (inpainting's hole) only."""

    name = "ssim_hole"
    primary = "ssim_hole"
    region = "hole"
