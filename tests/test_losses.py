"""Losses: the built-ins keep their values, and the relativistic ones see the real scores of the
generator step, computed after the discriminator's update."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganzoo.data.base import DataInfo
from ganzoo.interfaces import StepContext
from ganzoo.losses import (HingeLoss, LeastSquaresLoss, MinimaxLoss, NonSaturatingLoss,
                           RelativisticAverageHingeLoss, RelativisticAverageLoss,
                           RelativisticAverageLSLoss, WassersteinLoss)
from ganzoo.plugins import list_losses
from ganzoo.variants.vanilla import VanillaGAN, VanillaOptions

REAL = torch.tensor([1.5, -0.25, 0.75, 2.0])
FAKE = torch.tensor([-1.0, 0.5, -2.0, 0.1])


def log_sigmoid(x):
    return torch.log(torch.sigmoid(x))


def test_existing_losses_keep_their_values():
    d_bce = -log_sigmoid(REAL).mean() - torch.log(1 - torch.sigmoid(FAKE)).mean()
    assert torch.allclose(NonSaturatingLoss().d_loss(REAL, FAKE), d_bce)
    assert torch.allclose(NonSaturatingLoss().g_loss(FAKE), -log_sigmoid(FAKE).mean())
    assert torch.allclose(MinimaxLoss().g_loss(FAKE), torch.log(1 - torch.sigmoid(FAKE)).mean())
    assert torch.allclose(LeastSquaresLoss().d_loss(REAL, FAKE),
                          0.5 * (((REAL - 1) ** 2).mean() + (FAKE ** 2).mean()))
    assert torch.allclose(HingeLoss().d_loss(REAL, FAKE),
                          F.relu(1 - REAL).mean() + F.relu(1 + FAKE).mean())
    assert torch.allclose(WassersteinLoss().g_loss(FAKE, REAL), -FAKE.mean())  # real scores unused


def hand_ragan(favoured, disfavoured, other_f, other_d):
    """Jolicoeur-Martineau's RaSGAN for the player that wants ``favoured`` judged more real."""
    c_f, c_d = favoured - other_d.mean(), disfavoured - other_f.mean()
    return -log_sigmoid(c_f).mean() - torch.log(1 - torch.sigmoid(c_d)).mean()


def test_relativistic_losses_on_fixed_scores():
    ra = RelativisticAverageLoss()
    assert torch.allclose(ra.d_loss(REAL, FAKE), hand_ragan(REAL, FAKE, REAL, FAKE))
    assert torch.allclose(ra.g_loss(FAKE, REAL), hand_ragan(FAKE, REAL, FAKE, REAL))
    c_r, c_f = REAL - FAKE.mean(), FAKE - REAL.mean()
    ls = RelativisticAverageLSLoss()
    assert torch.allclose(ls.d_loss(REAL, FAKE), ((c_r - 1) ** 2).mean() + ((c_f + 1) ** 2).mean())
    assert torch.allclose(ls.g_loss(FAKE, REAL), ((c_f - 1) ** 2).mean() + ((c_r + 1) ** 2).mean())
    hinge = RelativisticAverageHingeLoss()
    assert torch.allclose(hinge.d_loss(REAL, FAKE), F.relu(1 - c_r).mean() + F.relu(1 + c_f).mean())
    assert torch.allclose(hinge.g_loss(FAKE, REAL), F.relu(1 - c_f).mean() + F.relu(1 + c_r).mean())
    assert {"ragan", "ralsgan", "rahinge"} <= set(list_losses())


class RecordingRaGAN(RelativisticAverageLoss):
    """RaGAN that keeps the scores it was given in each step."""

    def __init__(self):
        self.seen = {}

    def d_loss(self, real_scores, fake_scores):
        self.seen["d"] = (real_scores.detach().clone(), fake_scores.detach().clone())
        return super().d_loss(real_scores, fake_scores)

    def g_loss(self, fake_scores, real_scores=None):
        self.seen["g"] = (real_scores.detach().clone(), fake_scores.detach().clone())
        self.seen["g_loss"] = super().g_loss(fake_scores, real_scores).detach()
        return super().g_loss(fake_scores, real_scores)


def test_ragan_in_a_training_step_uses_real_scores_from_after_the_d_update():
    torch.manual_seed(0)
    info = DataInfo(name="pts", kind="points", shape=(2,))
    variant = VanillaGAN(VanillaOptions(name="vanilla", loss="ragan", z_dim=2, g_hidden=[8],
                                        d_hidden=[8], g_batchnorm=False, lr_d=0.1), info)
    variant.loss = RecordingRaGAN()
    variant.optimizers = variant.configure_optimizers()
    real = torch.randn(16, 2)
    logs = variant.train_step(iter([{"x": real}]), StepContext(torch.device("cpu")))

    d_real, d_fake = variant.loss.seen["d"]
    assert torch.allclose(logs["loss_d"], hand_ragan(d_real, d_fake, d_real, d_fake))
    g_real, g_fake = variant.loss.seen["g"]
    with torch.no_grad():  # D after its update (the G step does not change D)
        assert torch.allclose(g_real, variant.D(real))
    assert not torch.allclose(g_real, d_real)  # not the stale scores of before the update
    assert torch.allclose(variant.loss.seen["g_loss"], hand_ragan(g_fake, g_real, g_fake, g_real))
    assert torch.allclose(logs["loss_g"], variant.loss.seen["g_loss"])


def test_losses_that_ignore_real_scores_cost_no_extra_discriminator_pass():
    torch.manual_seed(0)
    info = DataInfo(name="pts", kind="points", shape=(2,))
    variant = VanillaGAN(VanillaOptions(name="vanilla", z_dim=2, g_hidden=[8], d_hidden=[8]), info)
    variant.optimizers = variant.configure_optimizers()
    calls = []
    variant.D.register_forward_hook(lambda *a: calls.append(1))
    variant.train_step(iter([{"x": torch.randn(8, 2)}]), StepContext(torch.device("cpu")))
    assert len(calls) == 3  # D step: real and fake; G step: fake only
