"""ganzoo-sngan: installed through its entry point, passes ganzoo's smoke test, and its
discriminator's layers really are spectrally normalised (largest singular value ~ 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganzoo import GanzooError, get_registry, load_config
from ganzoo.testing import check_variant
from ganzoo_sngan.nets import sn_discriminator, spectral_normalise
from ganzoo_sngan.plugin import SNGAN, SNGANOptions

SHAPES = {"name": "shapes", "image_size": 16, "size": 64}
TINY = {"name": "sngan", "z_dim": 8, "ngf": 8, "ndf": 8}
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "sngan_shapes.yaml"


def largest_singular_value(weight: torch.Tensor) -> float:
    """sigma_max of the weight as spectral_norm sees it: (out, in * kh * kw)."""
    return float(torch.linalg.matrix_norm(weight.detach().flatten(1), ord=2))


def normalised_layers(D: nn.Module) -> list[nn.Module]:
    return [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def test_entry_point_registers_sngan_from_the_distribution():
    reg = get_registry()
    info = reg.plugins["sngan"]
    assert (info.distribution, info.version, info.status) == ("ganzoo-sngan", "0.1.0", "loaded")
    assert info.registered == {"variants": ["sngan"]}
    assert reg.get("variants", "sngan") is SNGAN


@pytest.mark.parametrize("arch", ["dcgan", "cnn"])
def test_check_variant_and_discriminator_is_spectrally_normalised(arch, tmp_path):
    out = check_variant({**TINY, "d_arch": arch, "n_dis": 2}, SHAPES, tmp_path, steps=4)
    assert set(out["losses"]) == {"loss_d", "loss_g"}
    D = out["trained"].variant.D.eval()   # reloaded from the checkpoint: u and v travel with it
    layers = normalised_layers(D)
    assert layers and not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    for m in layers:
        assert parametrize.is_parametrized(m, "weight"), f"{m} is not spectrally normalised"
        # W / (u^T W v) with u, v from one power iteration per forward pass: the estimate of
        # sigma(W) is never above it, and trails the moving weights by up to ~20% on these small
        # near-random matrices (top singular values close together converge slowly)
        sigma = largest_singular_value(m.weight)
        assert 0.999 < sigma < 1.2, f"{m}: largest singular value {sigma:.3f}, expected ~1"
    D.train()
    with torch.no_grad():
        for _ in range(50):   # weights fixed: the power iteration converges to sigma(W)
            D(torch.randn(2, 3, 16, 16))
    D.eval()
    for m in layers:
        sigma = largest_singular_value(m.weight)
        assert abs(sigma - 1.0) < 0.03, f"{m}: largest singular value {sigma:.4f}, expected 1"


def test_normalisation_holds_after_the_weights_grow():
    """Scaling the raw weights by 10 leaves the effective weights at sigma ~ 1 (the constraint is
    enforced, not an accident of the initialisation)."""
    torch.manual_seed(0)
    D = sn_discriminator("dcgan", 16, 3, 8)
    with torch.no_grad():
        for m in normalised_layers(D):
            m.parametrizations.weight.original.mul_(10.0)
    x = torch.randn(4, 3, 16, 16)
    for _ in range(50):   # training-mode forwards run the power iteration
        D(x)
    D.eval()
    for m in normalised_layers(D):
        assert 0.999 < largest_singular_value(m.weight) < 1.05   # estimate never above sigma(W)
        assert largest_singular_value(m.parametrizations.weight.original) > 2.0


def test_options_defaults_and_n_dis_alias():
    o = SNGANOptions(name="sngan")
    assert (o.loss, o.lr_g, o.lr_d, o.betas, o.d_steps) == ("hinge", 2e-4, 2e-4, (0.0, 0.9), 5)
    assert SNGANOptions(name="sngan", n_dis=3).d_steps == 3
    assert SNGANOptions(name="sngan", d_steps=2).d_steps == 2


def test_discriminator_with_batchnorm_is_refused():
    with pytest.raises(GanzooError, match="BatchNorm"):
        spectral_normalise(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)))


def test_cnn_discriminator_needs_a_size_divisible_by_8():
    with pytest.raises(GanzooError, match="divisible by 8"):
        sn_discriminator("cnn", 12, 3, 8)


def test_shipped_config_validates():
    cfg = load_config(CONFIG)
    assert cfg.variant.name == "sngan" and cfg.variant.d_steps == 1 and cfg.variant.loss == "hinge"
    assert cfg.data.name == "shapes"
