"""ganzoo-diffaugment: the augmentations are differentiable and stay in their documented ranges,
the wrapped discriminator augments in training mode only, and ``dcgan_diffaug`` passes ganzoo's
smoke test after being found through its entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

from ganzoo import GanzooError, get_registry, load_config
from ganzoo.data.base import DataInfo
from ganzoo.interfaces import Discriminator
from ganzoo.testing import check_variant
from ganzoo_diffaugment.augment import color, cutout, cutout_mask, diff_augment, translation
from ganzoo_diffaugment.plugin import DCGAN, DCGANDiffAugment
from ganzoo_diffaugment.wrap import AugmentedDiscriminator, with_diffaugment

SHAPES = {"name": "shapes", "image_size": 16, "size": 64}
TINY = {"name": "dcgan_diffaug", "z_dim": 8, "ngf": 8, "ndf": 8}
INFO = DataInfo(name="shapes", kind="images", shape=(3, 16, 16))
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "dcgan_diffaug_shapes.yaml"


def seeded(op):
    """``op`` with the same random parameters on every call (what gradcheck needs)."""
    return lambda x: op(x, generator=torch.Generator().manual_seed(3))


def test_entry_point_registers_the_variant_from_the_distribution():
    reg = get_registry()
    info = reg.plugins["diffaugment"]
    assert (info.distribution, info.version, info.status) == ("ganzoo-diffaugment", "0.1.0", "loaded")
    assert reg.get("variants", "dcgan_diffaug") is DCGANDiffAugment


@pytest.mark.parametrize("op", [color, translation, cutout, diff_augment])
def test_augmentations_are_differentiable(op):
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(seeded(op), (x,))
    y = op(x)
    (y * torch.randn_like(y)).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """x shifted down by dy and right by dx, zero fill."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        x[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def test_translation_is_an_integer_shift_within_an_eighth_of_the_side():
    torch.manual_seed(0)
    x = torch.rand(200, 3, 16, 16) + 0.1      # positive, so the zero fill is visible
    y = translation(x, 0.125)
    assert y.shape == x.shape
    limit = 2                                  # round(16 / 8)
    seen = set()
    for i in range(len(x)):
        matches = [(dy, dx) for dy in range(-limit, limit + 1) for dx in range(-limit, limit + 1)
                   if torch.equal(y[i], shift(x[i], dy, dx))]
        assert len(matches) == 1, f"image {i} is not a shift of at most {limit} pixels"
        seen.add(matches[0])
    assert len(seen) == (2 * limit + 1) ** 2   # every allowed shift occurs, nothing beyond


def test_cutout_zeroes_one_clipped_square_of_half_the_side():
    torch.manual_seed(0)
    x = torch.rand(300, 3, 16, 16) + 0.1
    y = cutout(x, 0.5)
    mask = cutout_mask(x[:1], 0.5)
    assert y.shape == x.shape and mask.shape == (1, 1, 16, 16)
    sizes = set()
    for i in range(len(x)):
        hole = (y[i] == 0).all(0)
        assert torch.equal(y[i][:, ~hole], x[i][:, ~hole])      # untouched elsewhere
        rows, cols = hole.any(1).nonzero().flatten(), hole.any(0).nonzero().flatten()
        h, w = len(rows), len(cols)
        assert 1 <= h <= 8 and 1 <= w <= 8                      # side 8 = half of 16, clipped
        assert hole.sum() == h * w                              # one axis-aligned rectangle
        assert rows[-1] - rows[0] + 1 == h and cols[-1] - cols[0] + 1 == w
        sizes.add((h, w))
    assert (8, 8) in sizes and any(h < 8 or w < 8 for h, w in sizes)


def test_brightness_moves_a_grey_image_by_at_most_half():
    """Saturation and contrast leave a uniform grey image alone; brightness shifts it by U(-.5, .5)."""
    torch.manual_seed(0)
    x = torch.full((500, 3, 4, 4), 0.2)
    delta = color(x) - x
    per_image = delta.flatten(1)
    assert torch.allclose(per_image, per_image[:, :1].expand_as(per_image), atol=1e-6)
    assert per_image.min() >= -0.5 and per_image.max() <= 0.5
    assert per_image.min() < -0.45 and per_image.max() > 0.45


def test_unknown_policy_is_an_error():
    with pytest.raises(GanzooError, match="unknown DiffAugment policy 'colour'.*color, translation, cutout"):
        diff_augment(torch.zeros(1, 3, 8, 8), "colour,cutout")
    with pytest.raises(ValidationError, match="unknown DiffAugment policy 'flip'"):
        DCGANDiffAugment.Options(name="dcgan_diffaug", policy="flip")


class Identity(Discriminator):
    def forward(self, x, labels=None):
        return x


def test_wrapped_discriminator_augments_in_training_mode_only():
    torch.manual_seed(0)
    D = AugmentedDiscriminator(Identity())
    x = torch.rand(4, 3, 16, 16)
    assert not torch.equal(D(x), x) and not torch.equal(D(x), D(x))
    assert torch.equal(D.eval()(x), x)
    assert torch.equal(AugmentedDiscriminator(Identity(), policy="")(x), x)


def test_generator_is_trained_through_the_augmentation():
    torch.manual_seed(0)
    variant = DCGANDiffAugment(DCGANDiffAugment.Options(**TINY), INFO)
    assert isinstance(variant.D, AugmentedDiscriminator)
    assert variant.options.policy == "color,translation,cutout"
    z = variant.G.sample_latent(4)
    variant.loss.g_loss(variant.D(variant.G(z))).backward()
    grads = [p.grad for p in variant.G.parameters()]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0


def test_with_diffaugment_keeps_the_base_options_and_refuses_other_classes():
    assert issubclass(DCGANDiffAugment, DCGAN)
    assert {"ngf", "ndf", "d_norm", "policy", "translation_ratio", "cutout_ratio"} <= \
        set(DCGANDiffAugment.Options.model_fields)
    with pytest.raises(TypeError, match="AdversarialVariant"):
        with_diffaugment(Identity)


def test_check_variant(tmp_path):
    out = check_variant(TINY, SHAPES, tmp_path, steps=3)
    assert set(out["losses"]) == {"loss_d", "loss_g"}
    assert isinstance(out["trained"].variant.D, AugmentedDiscriminator)


def test_shipped_config_validates():
    cfg = load_config(CONFIG)
    assert cfg.variant.name == "dcgan_diffaug" and cfg.variant.policy == "color,translation,cutout"
