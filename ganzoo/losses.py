"""Built-in adversarial losses, registered as a plugin like any third party's.

Every loss takes raw discriminator scores (no sigmoid) and reduces patch maps with a mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .hookspecs import hookimpl
from .interfaces import Loss


class NonSaturatingLoss(Loss):
    """Goodfellow et al.'s practical loss: D does BCE on logits, G maximises log D(G(z))."""

    name = "bce"

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return (F.binary_cross_entropy_with_logits(real_scores, torch.ones_like(real_scores))
                + F.binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores)))

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(fake_scores, torch.ones_like(fake_scores))


class MinimaxLoss(NonSaturatingLoss):
    """The original minimax game: G minimises log(1 - D(G(z))) (saturates early in training)."""

    name = "minimax"

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        # log(1 - sigmoid(s)) = -softplus(s); minimising it is maximising the D's BCE on fakes.
        return -F.softplus(fake_scores).mean()


class LeastSquaresLoss(Loss):
    """LSGAN (Mao et al.): MSE against 1 for real and 0 for fake; D's loss halved as in CycleGAN."""

    name = "lsgan"

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return 0.5 * (F.mse_loss(real_scores, torch.ones_like(real_scores))
                      + F.mse_loss(fake_scores, torch.zeros_like(fake_scores)))

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(fake_scores, torch.ones_like(fake_scores))


class HingeLoss(Loss):
    """Hinge loss (Lim & Ye; Miyato et al.'s SNGAN)."""

    name = "hinge"

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return -fake_scores.mean()


class WassersteinLoss(Loss):
    """Wasserstein critic loss (Arjovsky et al.); needs a Lipschitz constraint from the variant."""

    name = "wasserstein"

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return fake_scores.mean() - real_scores.mean()

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return -fake_scores.mean()


BUILTIN_LOSSES = (NonSaturatingLoss, MinimaxLoss, LeastSquaresLoss, HingeLoss, WassersteinLoss)


@hookimpl
def register_losses(register) -> None:
    for cls in BUILTIN_LOSSES:
        register(cls.name, cls)
