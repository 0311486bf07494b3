"""The VAE baseline: smoke tests, the loss terms against closed forms, learning, validation."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from ganzoo.data.base import DataInfo
from ganzoo.data.shapes import ShapesDataset
from ganzoo.errors import GanzooError
from ganzoo.interfaces import StepContext
from ganzoo.testing import check_variant
from ganzoo.variants.vae import VAE, VAEOptions, bernoulli_nll, gaussian_kl, gaussian_nll

SHAPES = {"name": "shapes", "image_size": 16, "size": 64}
TINY = {"name": "vae", "z_dim": 8, "width": 8}
INFO = DataInfo(name="shapes", kind="images", shape=(3, 16, 16), num_classes=5)


def test_image_runs_pass_smoke_test_and_log_heldout_elbo(tmp_path):
    import json

    for recon in ("bce", "gaussian"):
        out = check_variant({**TINY, "recon": recon}, SHAPES, tmp_path / recon)
        assert {"loss", "loss_recon", "loss_kl"} <= set(out["losses"])
        records = [json.loads(line) for line in (out["run_dir"] / "log.jsonl").read_text().splitlines()]
        val = [r for r in records if r.get("kind") == "val"]
        assert val and math.isfinite(val[-1]["val/elbo"])
        assert val[-1]["val/elbo"] == pytest.approx(-(val[-1]["val/recon_nll"] + val[-1]["val/kl"]))
        assert out["samples"].min() >= -1 and out["samples"].max() <= 1


def test_points_run_passes_smoke_test(tmp_path):
    out = check_variant({"name": "vae", "z_dim": 2, "hidden": [16]}, {"name": "ring", "size": 64}, tmp_path)
    assert out["trained"].variant.recon == "gaussian"  # auto picks gaussian for points
    assert out["trained"].variant.log_sigma is not None  # sigma: null learns the std


def test_kl_matches_closed_form_and_torch_distributions():
    mu = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(4.0)], [0.0, 0.0]])
    # 0.5 * sum(mu^2 + var - 1 - log var): row 0 = 0.5 * (1 + 0) + 0.5 * (4 + 4 - 1 - log 4)
    expected = torch.tensor([0.5 + 0.5 * (7.0 - math.log(4.0)), 0.0])
    assert torch.allclose(gaussian_kl(mu, logvar), expected)
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    reference = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(1)
    assert torch.allclose(gaussian_kl(mu, logvar), reference, atol=1e-5)


def test_reconstruction_nlls_match_torch_distributions():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(4, 3, 5, 5, generator=g) * 2 - 1
    logits = torch.randn(4, 3, 5, 5, generator=g)
    binary = (x > 0).float() * 2 - 1  # on {-1, 1} the Bernoulli NLL is an exact log-probability
    ref = -Bernoulli(logits=logits).log_prob((binary + 1) / 2).flatten(1).sum(1)
    assert torch.allclose(bernoulli_nll(logits, binary), ref, atol=1e-4)
    mean, log_sigma = torch.tanh(logits), torch.tensor(-1.3)
    ref = -Normal(mean, log_sigma.exp()).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(gaussian_nll(mean, x, log_sigma), ref, atol=1e-4)


@pytest.mark.parametrize("recon", ["bce", "gaussian"])
def test_loss_decreases_on_a_fixed_batch(recon):
    torch.manual_seed(0)
    vae = VAE(VAEOptions(**TINY, recon=recon, lr=3e-3), INFO)
    vae.optimizers = vae.configure_optimizers()
    shapes = ShapesDataset(8, image_size=16, seed=0)
    x = torch.stack([shapes[i]["x"] for i in range(8)])  # a fixed batch of real images
    ctx = StepContext(torch.device("cpu"))
    batches = itertools.repeat({"x": x})
    losses = [float(vae.train_step(batches, ctx)["loss"]) for _ in range(40)]
    assert all(math.isfinite(v) for v in losses)
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.6 * first, (first, last)


def test_validate_is_finite_repeatable_and_leaves_the_rng_alone():
    torch.manual_seed(0)
    vae = VAE(VAEOptions(**TINY), INFO).eval()
    x = torch.rand(30, 3, 16, 16) * 2 - 1
    state = torch.get_rng_state()
    a = vae.validate({"x": x}, chunk=7)
    assert torch.equal(torch.get_rng_state(), state)
    b = vae.validate({"x": x})
    assert set(a) == {"elbo", "recon_nll", "kl", "elbo_per_dim"}
    assert all(math.isfinite(v) for v in a.values())
    assert a["elbo"] == pytest.approx(-(a["recon_nll"] + a["kl"]))
    assert a["elbo_per_dim"] == pytest.approx(a["elbo"] / (3 * 16 * 16))
    assert a["kl"] >= 0
    # the same posterior draws whatever the chunking: the score is a function of the data
    assert a["elbo"] == pytest.approx(b["elbo"], rel=1e-5)


def test_samples_and_preview_are_in_range():
    vae = VAE(VAEOptions(**TINY, recon="gaussian"), INFO)
    s = vae.sample(5, generator=torch.Generator().manual_seed(0))
    assert s.shape == (5, 3, 16, 16) and s.min() >= -1 and s.max() <= 1
    assert vae.generator_net() is vae.decoder
    x = torch.rand(16, 3, 16, 16) * 2 - 1
    fixed = vae.fixed_inputs(16, torch.Generator().manual_seed(0), {"x": x})
    grid = vae.preview(fixed)  # 4 x 4 grid: 2 rows of samples, 4 reals, 4 reconstructions
    assert grid.shape == (16, 3, 16, 16) and torch.equal(grid[8:12], x[:4])
    assert grid.min() >= -1 and grid.max() <= 1


def test_bce_on_points_is_a_clear_error():
    info = DataInfo(name="ring", kind="points", shape=(2,))
    with pytest.raises(GanzooError, match="ring"):
        VAE(VAEOptions(name="vae", recon="bce"), info)
