"""Built-in adversarial losses, registered as a plugin like any third party's.

Every loss takes raw discriminator scores (no sigmoid) and reduces patch maps with a mean. The
relativistic average losses (Jolicoeur-Martineau 2019: ``ragan``, ``ralsgan``, ``rahinge``) compare
each score with the mean score of the other side, so their generator loss reads the real scores
too (``uses_real_scores_in_g``).
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

    def g_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None = None) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(fake_scores, torch.ones_like(fake_scores))


class MinimaxLoss(NonSaturatingLoss):
    """The original minimax game: G minimises log(1 - D(G(z))) (saturates early in training)."""

    name = "minimax"

    def g_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None = None) -> torch.Tensor:
        # log(1 - sigmoid(s)) = -softplus(s); minimising it is maximising the D's BCE on fakes.
        return -F.softplus(fake_scores).mean()


class LeastSquaresLoss(Loss):
    """LSGAN (Mao et al.): MSE against 1 for real and 0 for fake; D's loss halved as in CycleGAN."""

    name = "lsgan"

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return 0.5 * (F.mse_loss(real_scores, torch.ones_like(real_scores))
                      + F.mse_loss(fake_scores, torch.zeros_like(fake_scores)))

    def g_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None = None) -> torch.Tensor:
        return F.mse_loss(fake_scores, torch.ones_like(fake_scores))


class HingeLoss(Loss):
    """Hinge loss (Lim & Ye; Miyato et al.'s SNGAN)."""

    name = "hinge"

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()

    def g_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None = None) -> torch.Tensor:
        return -fake_scores.mean()


class WassersteinLoss(Loss):
    """Wasserstein critic loss (Arjovsky et al.); needs a Lipschitz constraint from the variant."""

    name = "wasserstein"

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return fake_scores.mean() - real_scores.mean()

    def g_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None = None) -> torch.Tensor:
        return -fake_scores.mean()


class _RelativisticAverage(Loss):
    """``C_r = D(x_r) - mean D(x_f)`` and ``C_f = D(x_f) - mean D(x_r)``; D wants C_r high and C_f
    low, G the reverse (the real side's scores enter G's loss as constants of G's graph)."""

    uses_real_scores_in_g = True

    @staticmethod
    def relative(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return real_scores - fake_scores.mean(), fake_scores - real_scores.mean()

    def side_loss(self, favoured: torch.Tensor, disfavoured: torch.Tensor) -> torch.Tensor:
        """The loss of the player that wants ``favoured`` high and ``disfavoured`` low."""
        raise NotImplementedError

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        c_real, c_fake = self.relative(real_scores, fake_scores)
        return self.side_loss(c_real, c_fake)

    def g_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None = None) -> torch.Tensor:
        if real_scores is None:
            raise ValueError(f"loss '{self.name}' needs the real scores in the generator step")
        c_real, c_fake = self.relative(real_scores, fake_scores)
        return self.side_loss(c_fake, c_real)


class RelativisticAverageLoss(_RelativisticAverage):
    """RaSGAN: BCE on the relative logits (``-log sigmoid(C_r) - log(1 - sigmoid(C_f))`` for D)."""

    name = "ragan"

    def side_loss(self, favoured: torch.Tensor, disfavoured: torch.Tensor) -> torch.Tensor:
        return (F.binary_cross_entropy_with_logits(favoured, torch.ones_like(favoured))
                + F.binary_cross_entropy_with_logits(disfavoured, torch.zeros_like(disfavoured)))


class RelativisticAverageLSLoss(_RelativisticAverage):
    """RaLSGAN: ``E[(C_r - 1)^2] + E[(C_f + 1)^2]`` for D, sides swapped for G."""

    name = "ralsgan"

    def side_loss(self, favoured: torch.Tensor, disfavoured: torch.Tensor) -> torch.Tensor:
        return ((favoured - 1.0) ** 2).mean() + ((disfavoured + 1.0) ** 2).mean()


class RelativisticAverageHingeLoss(_RelativisticAverage):
    """RaHinge: ``E[relu(1 - C_r)] + E[relu(1 + C_f)]`` for D, sides swapped for G."""

    name = "rahinge"

    def side_loss(self, favoured: torch.Tensor, disfavoured: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - favoured).mean() + F.relu(1.0 + disfavoured).mean()


BUILTIN_LOSSES = (NonSaturatingLoss, MinimaxLoss, LeastSquaresLoss, HingeLoss, WassersteinLoss,
                  RelativisticAverageLoss, RelativisticAverageLSLoss, RelativisticAverageHingeLoss)


@hookimpl
def register_losses(register) -> None:
    for cls in BUILTIN_LOSSES:
        register(cls.name, cls)
