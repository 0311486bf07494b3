"""Adaptive discriminator augmentation: the p controller, the augmentations, the wiring."""

from __future__ import annotations

import json

import pytest
import torch

from ganzoo.augment import (AdaptiveAugment, brightness, contrast, cutout, flip_x, rotate90, saturation,
                            translate, _mirror)
from ganzoo.config import config_from_dict
from ganzoo.data.base import DataInfo
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.interfaces import StepContext
from ganzoo.testing import tiny_config
from ganzoo.trainer import train
from ganzoo.variants.dcgan import DCGAN, DCGANOptions
from ganzoo.variants.vanilla import VanillaGAN, VanillaOptions

OPS = [flip_x, rotate90, translate, brightness, contrast, saturation, cutout]
IMAGES = DataInfo(name="shapes", kind="images", shape=(3, 16, 16))
TINY_DCGAN = {"name": "dcgan", "z_dim": 8, "ngf": 8, "ndf": 8}


# -- the controller -----------------------------------------------------------------------------
def test_a_discriminator_sure_of_every_real_image_drives_p_up_in_steps_of_the_images_seen():
    ada = AdaptiveAugment(target=0.6, interval=4, speed_images=1000)
    history = []
    for _ in range(8):
        ada.observe(torch.full((50,), 3.0))  # always "real"
        history.append(ada.p.item())
    # p moves only every 4th update, by 4 updates x 50 images / 1000
    assert history == pytest.approx([0, 0, 0, 0.2, 0.2, 0.2, 0.2, 0.4])
    assert ada.r_t.item() == 1.0


def test_a_discriminator_calling_everything_fake_drives_p_down_and_p_stays_in_0_1():
    ada = AdaptiveAugment(target=0.6, interval=2, speed_images=500, p_init=0.5)
    for _ in range(4):
        ada.observe(-torch.ones(25))
    assert ada.p.item() == pytest.approx(0.3) and ada.r_t.item() == -1.0
    for _ in range(100):
        ada.observe(-torch.ones(25))
    assert ada.p.item() == 0.0
    for _ in range(200):
        ada.observe(torch.ones(25, 2, 2))  # a patch map counts its images, not its cells
    assert ada.p.item() == 1.0


def test_p_settles_where_r_t_crosses_the_target():
    ada = AdaptiveAugment(target=0.6, interval=1, speed_images=100_000)  # steps of 0.01
    for _ in range(100):
        # a D that is sure of 100 % of reals at p = 0, and less sure the more it is augmented
        sure = 1.0 - ada.p.item()
        ada.observe(torch.where(torch.rand(1000) < (1 + sure) / 2, 1.0, -1.0))
    assert 0.3 < ada.p.item() < 0.5


# -- the augmentations --------------------------------------------------------------------------
def test_mirrored_indices_reflect_without_repeating_the_edge():
    assert _mirror(torch.arange(-3, 11), 8).tolist() == [3, 2, 1, 0, 1, 2, 3, 4, 5, 6, 7, 6, 5, 4]


def test_p_zero_is_the_identity_values_and_gradients():
    ada = AdaptiveAugment(p_init=0.0)
    x = torch.randn(8, 3, 16, 16, requires_grad=True)
    out = ada(x)
    assert torch.equal(out, x)
    out.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_every_operation_changes_the_images_it_is_applied_to_and_only_those():
    torch.manual_seed(0)
    x = torch.rand(16, 3, 16, 16) * 2 - 1
    chosen = torch.arange(16) % 2 == 0
    for op in OPS:
        out = op(x, chosen)
        assert out.shape == x.shape
        assert torch.equal(out[~chosen], x[~chosen]), op.__name__
        changed = (out[chosen] - x[chosen]).flatten(1).abs().amax(1) > 0
        # a flip changes half the chosen images (heads), a rotation 3/4, a translation most
        assert changed.sum() >= 2, op.__name__


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.__name__)
def test_operations_are_differentiable(op):
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    chosen = torch.ones(2, dtype=torch.bool)

    def seeded(inp):
        torch.manual_seed(7)  # the same random parameters on every call
        return op(inp, chosen)

    assert torch.autograd.gradcheck(seeded, (x,), fast_mode=True)


def test_the_whole_pipeline_passes_gradients_to_its_input():
    ada = AdaptiveAugment(p_init=1.0)
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    weights = torch.randn(4, 3, 16, 16)
    (ada(x) * weights).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert not torch.equal(ada(x.detach()), x.detach())


# -- wiring into adversarial variants -----------------------------------------------------------
def _batches(seed: int):
    g = torch.Generator().manual_seed(seed)
    while True:
        yield {"x": torch.rand(8, 3, 16, 16, generator=g) * 2 - 1}


def _reference_steps(variant: DCGAN, steps: int) -> None:
    """The alternating update as it was written before ADA: D(real), D(G(z)), then G."""
    batches = _batches(1)
    opt_g, opt_d = variant.optimizers["G"], variant.optimizers["D"]
    for _ in range(steps):
        real = next(batches)["x"]
        opt_d.zero_grad(set_to_none=True)
        with torch.no_grad():
            fake = variant.G(variant.G.sample_latent(8))
        variant.loss.d_loss(variant.D(real), variant.D(fake)).backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        variant.loss.g_loss(variant.D(variant.G(variant.G.sample_latent(8))), None).backward()
        opt_g.step()


def test_without_ada_training_is_unchanged_bit_for_bit():
    runs = []
    for wired in (True, False):
        torch.manual_seed(0)
        variant = DCGAN(DCGANOptions(**TINY_DCGAN), IMAGES)
        variant.optimizers = variant.configure_optimizers()
        assert variant.augment is None
        if wired:
            batches, ctx = _batches(1), StepContext(torch.device("cpu"))
            for step in range(3):
                ctx.step_index = step
                assert set(variant.train_step(batches, ctx)) == {"loss_d", "loss_g"}
        else:
            _reference_steps(variant, 3)
        runs.append((variant.state_dict(), torch.get_rng_state()))
    (wired, rng_wired), (reference, rng_reference) = runs
    assert wired.keys() == reference.keys()
    assert all(torch.equal(wired[k], reference[k]) for k in wired)
    assert torch.equal(rng_wired, rng_reference)  # not one extra random draw


def test_dcgan_with_ada_trains_logs_p_and_checkpoints_it(tmp_path):
    variant = {**TINY_DCGAN, "ada": {"target": 0.6, "interval": 1, "speed_images": 40, "p_init": 0.5},
               "regularizers": [{"name": "r1", "gamma": 1.0}]}
    cfg = config_from_dict(tiny_config(variant, {"name": "shapes", "image_size": 16, "size": 64},
                                       tmp_path, steps=3))
    result = train(cfg)
    assert result.status == "finished"
    records = [json.loads(line) for line in result.jsonl.read_text().splitlines()]
    ps = [r["ada/p"] for r in records if r.get("kind") == "train"]
    assert len(ps) == 3 and all(0 <= p <= 1 for p in ps) and len(set(ps)) > 1  # logged, and moving
    assert all("ada/r_t" in r and "reg/r1" in r for r in records if r.get("kind") == "train")
    state = torch.load(result.checkpoint, weights_only=True)["model"]
    assert state["augment.p"].item() == pytest.approx(ps[-1])


def test_ada_on_points_is_a_one_line_config_error():
    points = DataInfo(name="ring", kind="points", shape=(2,))
    with pytest.raises(ConfigError, match="variant.ada") as err:
        VanillaGAN(VanillaOptions(name="vanilla", ada={"target": 0.6}), points)
    assert "\n" not in str(err.value) and "points" in str(err.value)
    assert isinstance(err.value, GanzooError)


def test_bad_ada_options_are_rejected():
    with pytest.raises(ValueError):
        DCGANOptions(**TINY_DCGAN, ada={"target": 1.5})
    with pytest.raises(ValueError):
        DCGANOptions(**TINY_DCGAN, ada={"speed": 10})
