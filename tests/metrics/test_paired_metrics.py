"""PSNR/SSIM against ground truth and the trivial baselines (ganzoo.metrics.paired)."""

from __future__ import annotations

import math

import pytest
import torch

from ganzoo.data.base import DataInfo
from ganzoo.errors import GanzooError
from ganzoo.metrics.evaluate import evaluate
from ganzoo.metrics.paired import baseline_output, psnr, ssim


def test_psnr_of_a_known_error_and_inside_a_mask_only():
    y = torch.zeros(2, 3, 8, 8)
    out = y + 0.2  # 0.1 on [0, 1]: MSE 0.01 -> 20 dB
    assert torch.allclose(psnr(out, y), torch.full((2,), 20.0, dtype=torch.float64))
    assert psnr(y, y).eq(100.0).all()  # identical images: capped, not infinite
    mask = torch.zeros(2, 1, 8, 8)
    mask[:, :, :4] = 1
    half_wrong = y.clone()
    half_wrong[:, :, 4:] = 1.0  # wrong only outside the mask
    assert psnr(half_wrong, y, mask).eq(100.0).all() and psnr(half_wrong, y).lt(10).all()


def test_ssim_is_one_for_identical_images_and_drops_with_noise():
    g = torch.Generator().manual_seed(0)
    y = torch.rand(3, 3, 16, 16, generator=g) * 2 - 1
    noisy = (y + 0.3 * torch.randn(y.shape, generator=g)).clamp(-1, 1)
    assert torch.allclose(ssim(y, y), torch.ones(3, dtype=torch.float64))
    assert ssim(noisy, y).lt(0.9).all()
    with pytest.raises(GanzooError, match="same shape"):
        ssim(y[:, :, :8], y)


def test_baselines_identity_bicubic_and_mean_fill():
    y = torch.rand(2, 3, 8, 8) * 2 - 1
    assert torch.equal(baseline_output("identity", {"x": y, "y": y}), y)
    with pytest.raises(GanzooError, match="identity"):
        baseline_output("identity", {"x": y[:, :, :4, :4], "y": y})
    up = baseline_output("bicubic", {"x": torch.full((2, 3, 4, 4), 0.5), "y": y})
    assert up.shape == y.shape and torch.allclose(up, torch.full_like(y, 0.5))
    mask = torch.zeros(2, 1, 8, 8)
    mask[:, :, 2:6, 2:6] = 1
    x = y * (1 - mask)
    filled = baseline_output("mean_fill", {"x": x, "y": y, "mask": mask})
    known_mean = (y * (1 - mask)).sum((2, 3)) / (1 - mask).sum((2, 3))
    assert torch.allclose(filled[:, :, 3, 3], known_mean, atol=1e-6)
    assert torch.equal(filled * (1 - mask), x)


def test_registered_metrics_report_the_baseline_and_refuse_unpaired_runs():
    y = torch.rand(4, 3, 8, 8) * 2 - 1
    out = (y + 0.05).clamp(-1, 1)
    info = DataInfo("t", "paired", (3, 8, 8), extras={"baseline": "identity"})
    records = evaluate(out, y, info, ["psnr", "ssim"], baseline=torch.zeros_like(y), quantize=False)
    p = records[0]["values"]
    assert p["psnr"] == pytest.approx(float(psnr(out, y).mean())) and p["baseline"] < p["psnr"]
    assert p["psnr_se"] == pytest.approx(float(psnr(out, y).std()) / math.sqrt(4))
    with pytest.raises(GanzooError, match="applies to paired and multi_domain"):
        evaluate(out, y, DataInfo("t", "images", (3, 8, 8)), ["psnr"])
    with pytest.raises(GanzooError, match="has no masks"):
        evaluate(out, y, info, ["psnr_hole"])
