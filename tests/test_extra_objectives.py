"""The softmax, bgan, margin and began losses and the wgan_div and dragan regularizers: each
against its closed form on fixed scores or a critic with a known input gradient; compatibility
with the variant's scores refused at start-up with one line; listed by the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.extra_losses import BEGANLoss, BoundarySeekingLoss, MarginLoss, SoftmaxLoss
from ganzoo.extra_regularizers import dragan_penalty, wgan_div_penalty
from ganzoo.regularizers import DiscriminatorTerms, RegularizerSet

ROOT = Path(__file__).resolve().parents[1]
REAL = torch.tensor([1.5, -0.25, 0.75, 2.0])
FAKE = torch.tensor([-1.0, 0.5, -2.0, 0.1])


def cross_entropy(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    return -(target * torch.log_softmax(logits, 0)).sum()


def test_softmax_gan_is_cross_entropy_against_real_only_for_d_and_uniform_for_g():
    both = torch.cat([REAL, FAKE])
    t_d = torch.tensor([0.25] * 4 + [0.0] * 4)   # mass 1/|B+| on each real sample
    t_g = torch.full((8,), 1 / 8)                  # uniform over the whole batch
    loss = SoftmaxLoss()
    assert torch.allclose(loss.d_loss(REAL, FAKE), cross_entropy(t_d, both))
    assert torch.allclose(loss.g_loss(FAKE, REAL), cross_entropy(t_g, both))
    # Lin's form with energies mu = -score and Z = sum exp(-mu)
    z = torch.exp(both).sum()
    assert torch.allclose(loss.g_loss(FAKE, REAL), (-both).mean() + torch.log(z))
    # patch maps: every patch is one member of the softmax
    patches = loss.d_loss(REAL.view(1, 1, 2, 2), FAKE.view(1, 1, 2, 2))
    assert torch.allclose(patches, loss.d_loss(REAL, FAKE))
    assert loss.uses_real_scores_in_g
    with pytest.raises(ValueError, match="real scores"):
        loss.g_loss(FAKE)


def test_boundary_seeking_g_loss_is_half_the_squared_log_ratio():
    d = torch.sigmoid(FAKE)
    hand = 0.5 * ((torch.log(d) - torch.log(1 - d)) ** 2).mean()
    loss = BoundarySeekingLoss()
    assert torch.allclose(loss.g_loss(FAKE), hand)
    bce = -torch.log(torch.sigmoid(REAL)).mean() - torch.log(1 - torch.sigmoid(FAKE)).mean()
    assert torch.allclose(loss.d_loss(REAL, FAKE), bce)
    # minimal exactly at the decision boundary D = 1/2
    assert float(loss.g_loss(torch.zeros(4))) == 0.0


def test_energy_losses():
    e_real, e_fake = REAL.abs(), FAKE.abs()
    margin = MarginLoss(1.5)
    assert torch.allclose(margin.d_loss(e_real, e_fake), e_real.mean() + F.relu(1.5 - e_fake).mean())
    assert torch.allclose(margin.g_loss(e_fake), e_fake.mean())
    began = BEGANLoss(k=0.3)
    assert torch.allclose(began.d_loss(e_real, e_fake), e_real.mean() - 0.3 * e_fake.mean())
    assert began.last == pytest.approx((float(e_real.mean()), float(e_fake.mean())))
    assert MarginLoss.scores == BEGANLoss.scores == ("energy",)


class Quadratic(nn.Module):
    """D(x) = 1/2 ||x||^2 per sample: its input gradient is x itself."""

    def forward(self, x, labels=None):
        return 0.5 * x.flatten(1).pow(2).sum(1)


class Linear(nn.Module):
    """D(x) = <w, x>: the same gradient w everywhere."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.linspace(-0.2, 0.3, 12))

    def forward(self, x, labels=None):
        return x.flatten(1) @ self.w


def batches():
    gen = torch.Generator().manual_seed(3)
    return torch.randn(5, 3, 2, 2, generator=gen), torch.randn(5, 3, 2, 2, generator=gen)


def test_wgan_div_against_its_closed_form():
    real, fake = batches()
    norms = lambda x: x.flatten(1).norm(dim=1)  # noqa: E731 (the gradient of Quadratic is x)
    both = wgan_div_penalty(Quadratic(), real, fake, None, k=2.0, p=6.0, points="real_and_fake")
    assert torch.allclose(both, 1.0 * (norms(real).pow(6).mean() + norms(fake).pow(6).mean()))
    eps = torch.rand((5, 1, 1, 1), generator=torch.Generator().manual_seed(7))
    x_hat = eps * real + (1 - eps) * fake
    inter = wgan_div_penalty(Quadratic(), real, fake, None, k=2.0, p=6.0,
                             generator=torch.Generator().manual_seed(7))
    assert torch.allclose(inter, 2.0 * norms(x_hat).pow(6).mean())


def test_dragan_against_its_closed_form():
    real, _ = batches()
    gen = torch.Generator().manual_seed(11)
    u = torch.rand(real.shape, generator=gen)
    a = torch.rand((5, 1, 1, 1), generator=gen)
    x_hat = real + a * 0.5 * real.std() * u
    got = dragan_penalty(Quadratic(), real, None, 0.5, generator=torch.Generator().manual_seed(11))
    assert torch.allclose(got, (x_hat.flatten(1).norm(dim=1) - 1).pow(2).mean())
    lin = Linear()
    assert torch.allclose(dragan_penalty(lin, real, None, 0.5), (lin.w.norm() - 1).pow(2))


def test_registered_regularizers_apply_their_weights_and_train_d():
    real, fake = batches()
    lin = Linear()
    regs = RegularizerSet([{"name": "dragan", "weight": 3.0}, {"name": "wgan_div", "k": 4.0, "p": 2.0}],
                          "images")
    terms = regs.terms("D", 0, DiscriminatorTerms(lin, real, fake, None, lin(real), lin(fake)))
    w2 = lin.w.pow(2).sum()
    assert torch.allclose(terms["reg/dragan"], 3.0 * (w2.sqrt() - 1).pow(2))
    assert torch.allclose(terms["reg/wgan_div"], 4.0 * w2)
    (grad,) = torch.autograd.grad(terms["reg/wgan_div"], lin.w)
    assert torch.allclose(grad, 8.0 * lin.w)  # d/dw of 4 ||w||^2: the penalty reaches D


def ganzoo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


@pytest.mark.parametrize("overrides, named", [
    (["variant.loss=margin"], "loss 'margin' reads energies"),
    (["variant.name=ebgan", "variant.regularizers=[dragan]"], "regularizer 'dragan' reads logits"),
])
def test_incompatible_loss_or_regularizer_is_refused_with_one_line(overrides, named, tmp_path):
    out = ganzoo("run", "zoo_configs/dcgan.yaml", *overrides, f"run.out_dir={tmp_path}")
    assert out.returncode == 2
    assert named in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr and not any(tmp_path.iterdir())


def test_compatibility_is_checked_again_when_the_variant_is_built():
    """A variant built without the config loader (a script, a plugin's test) refuses too."""
    from ganzoo.data.base import DataInfo
    from ganzoo.errors import ConfigError
    from ganzoo.variants.ebgan import EBGAN, EBGANOptions

    opts = EBGANOptions.model_construct(**{**EBGANOptions(name="ebgan").model_dump(), "loss": "hinge"})
    with pytest.raises(ConfigError, match="loss 'hinge' reads logits.*use one of: began, margin"):
        EBGAN(opts, DataInfo(name="img", kind="images", shape=(3, 16, 16)))


def test_cli_lists_the_new_losses_and_regularizers():
    losses, regs = ganzoo("list", "losses"), ganzoo("list", "regularizers")
    assert losses.returncode == regs.returncode == 0
    assert {"softmax", "bgan"} <= {line.split()[0] for line in losses.stdout.splitlines() if line.strip()}
    assert {"wgan_div", "dragan"} <= {line.split()[0] for line in regs.stdout.splitlines() if line.strip()}
