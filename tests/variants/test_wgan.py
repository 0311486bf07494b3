"""WGAN (weight clipping) and WGAN-GP (gradient penalty): smoke runs, clipping, the penalty's value."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganzoo.data.base import DataInfo
from ganzoo.errors import ConfigError
from ganzoo.interfaces import Discriminator, StepContext
from ganzoo.testing import check_variant
from ganzoo.variants.wgan import WGAN, WGANGP, WGANGPOptions, WGANOptions, gradient_penalty

IMAGES = {"name": "shapes", "image_size": 16, "size": 64}
POINTS = {"name": "grid", "size": 256}
TINY_IMAGE_NETS = {"z_dim": 8, "ngf": 8, "ndf": 8, "d_steps": 2}
TINY_POINT_NETS = {"g_hidden": [16, 16], "d_hidden": [16, 16], "d_steps": 2}


@pytest.mark.parametrize("name", ["wgan", "wgan_gp"])
@pytest.mark.parametrize("data,nets", [(IMAGES, TINY_IMAGE_NETS), (POINTS, TINY_POINT_NETS)],
                         ids=["images", "points"])
def test_check_variant(name, data, nets, tmp_path):
    seen = check_variant({"name": name, **nets}, data, tmp_path, steps=2)
    assert {"loss_d", "loss_g"} <= set(seen["losses"])
    if name == "wgan_gp":
        assert "reg/gp" in seen["losses"]  # WGAN-GP is WGAN plus the gp regularizer


def _points_variant(cls, options_cls, **opts):
    info = DataInfo(name="pts", kind="points", shape=(2,))
    variant = cls(options_cls(name="x", g_hidden=[16], d_hidden=[16, 16], **opts), info)
    variant.optimizers = variant.configure_optimizers()
    return variant


def _batches(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    while True:
        yield {"x": torch.randn(n, 2, generator=g) * 3}


def test_wgan_clips_every_critic_parameter_after_a_step():
    torch.manual_seed(0)
    variant = _points_variant(WGAN, WGANOptions, init_std=0.5)
    before = torch.cat([p.detach().abs().flatten() for p in variant.D.parameters()])
    assert before.max() > 0.01  # otherwise clipping would be invisible
    logs = variant.train_step(_batches(), StepContext(torch.device("cpu")))
    after = torch.cat([p.detach().flatten() for p in variant.D.parameters()])
    assert after.abs().max() <= 0.01
    assert (after.abs() == 0.01).sum() > 0  # some weights sit on the bound
    assert isinstance(variant.optimizers["D"], torch.optim.RMSprop)
    assert variant.optimizers["D"].param_groups[0]["lr"] == 5e-5
    assert float(logs["wasserstein"]) == -float(logs["loss_d"])


def test_wgan_defaults_follow_the_paper():
    o = WGANOptions(name="wgan")
    assert (o.lr_g, o.lr_d, o.clip, o.d_steps, o.loss) == (5e-5, 5e-5, 0.01, 5, "wasserstein")
    g = WGANGPOptions(name="wgan_gp")
    assert (g.lr_g, g.lr_d, g.betas, g.gp_lambda, g.d_steps) == (1e-4, 1e-4, (0.5, 0.9), 10.0, 5)
    assert WGANGPOptions(name="wgan_gp", betas=(0.0, 0.9)).betas == (0.0, 0.9)


class LinearCritic(Discriminator):
    """D(x) = w . flatten(x) + b: the input gradient is w for every sample."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.lin = nn.Linear(dim, 1)

    def forward(self, x, labels=None):
        return self.lin(x.flatten(1)).squeeze(-1)


class HalfSquareCritic(Discriminator):
    """D(x) = a * ||x||^2 / 2: the input gradient is a * x, so it depends on where x_hat is."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(0.7))

    def forward(self, x, labels=None):
        return 0.5 * self.a * (x.flatten(1) ** 2).sum(1)


def test_penalty_of_a_linear_critic_is_closed_form():
    torch.manual_seed(1)
    critic = LinearCritic(3 * 4 * 4)
    real, fake = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    gp = gradient_penalty(critic, real, fake)
    w = critic.lin.weight.detach().flatten()
    expected = (w.norm() - 1) ** 2
    assert torch.allclose(gp, expected, atol=1e-6)
    gp.backward()  # the graph is kept: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    assert torch.allclose(critic.lin.weight.grad.flatten(), 2 * (w.norm() - 1) * w / w.norm(), atol=1e-6)


def test_penalty_uses_per_sample_interpolates():
    critic = HalfSquareCritic()
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    gp = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(3))
    eps = torch.rand(6, 1, generator=torch.Generator().manual_seed(3))
    x_hat = eps * real + (1 - eps) * fake
    expected = ((0.7 * x_hat.norm(dim=1) - 1) ** 2).mean()
    assert torch.allclose(gp, expected, atol=1e-6)
    same_eps = ((0.7 * (0.5 * real + 0.5 * fake).norm(dim=1) - 1) ** 2).mean()
    assert not torch.allclose(gp, same_eps, atol=1e-3)


def test_penalty_is_fp32_under_autocast():
    torch.manual_seed(2)
    critic = LinearCritic(2)
    with torch.no_grad():
        critic.lin.weight.copy_(torch.tensor([[0.3001, 1.7003]]))
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    ctx = StepContext(torch.device("cpu"), precision="bf16")
    with ctx.autocast():
        assert critic(real).dtype == torch.bfloat16  # autocast is really on here
        gp = gradient_penalty(critic, real.bfloat16(), fake.bfloat16())
    w = critic.lin.weight.detach().flatten()
    assert gp.dtype == torch.float32
    assert math.isclose(float(gp.detach()), float((w.norm() - 1) ** 2), rel_tol=1e-6)


def test_wgan_gp_step_logs_penalty_and_wasserstein():
    logs = {}
    for weight in (10.0, 20.0):  # the same seed: the same critic, batch and interpolates
        torch.manual_seed(0)
        variant = _points_variant(WGANGP, WGANGPOptions, gp_lambda=weight, d_steps=1)
        logs[weight] = variant.train_step(_batches(), StepContext(torch.device("cpu")))
    assert float(logs[10.0]["reg/gp"]) > 0
    assert float(logs[20.0]["reg/gp"]) == pytest.approx(2 * float(logs[10.0]["reg/gp"]), rel=1e-6)
    assert float(logs[10.0]["wasserstein"]) == -float(logs[10.0]["loss_d"])


def test_wgan_gp_is_wgan_plus_the_gp_regularizer():
    variant = _points_variant(WGANGP, WGANGPOptions, gp_lambda=5.0)
    assert [(r.name, r.options.weight) for r in variant.regularizers.items] == [("gp", 5.0)]
    listed = _points_variant(WGANGP, WGANGPOptions, regularizers=[{"name": "gp", "weight": 1.0}])
    assert [(r.name, r.options.weight) for r in listed.regularizers.items] == [("gp", 1.0)]


def test_wgan_gp_critic_has_no_batchnorm(tmp_path):
    info = DataInfo(name="img", kind="images", shape=(3, 16, 16))
    for norm in ("layer", "none"):
        variant = WGANGP(WGANGPOptions(name="wgan_gp", ngf=8, ndf=8, d_norm=norm), info)
        assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in variant.D.modules())
        assert variant.D(torch.randn(2, 3, 16, 16)).shape == (2,)
    from ganzoo.config import config_from_dict

    with pytest.raises(ConfigError, match="d_norm"):
        config_from_dict({"variant": {"name": "wgan_gp", "d_norm": "batch"}, "data": IMAGES})


def test_lr_decay_start_decays_both_learning_rates_to_zero():
    variant = _points_variant(WGANGP, WGANGPOptions, lr_decay_start=0.5)
    scheds = variant.configure_schedulers(variant.optimizers, total_steps=10)
    lrs = []
    for _ in range(10):
        for opt in variant.optimizers.values():
            opt.step()  # no gradients: a no-op, in the order the trainer uses
        for s in scheds.values():
            s.step()
        lrs.append([o.param_groups[0]["lr"] for o in variant.optimizers.values()])
    assert lrs[3] == [1e-4, 1e-4]  # constant until half-way
    assert lrs[6][0] == pytest.approx(1e-4 * 3 / 5)
    assert lrs[-1] == [0.0, 0.0]
    assert _points_variant(WGANGP, WGANGPOptions).configure_schedulers(variant.optimizers, 10) == {}
