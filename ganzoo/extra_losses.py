"""More adversarial losses, registered through their own entry point like a third party's.

* ``softmax`` (Softmax GAN, Lin 2017): the real and generated samples of a batch form one
  softmax over ``-energy = score``. D puts all the probability mass on the real samples; G wants
  it spread uniformly over the whole batch. Both losses read the real scores
  (``uses_real_scores_in_g``). Patch maps count every patch as one member of the softmax.
* ``bgan`` (boundary-seeking GAN, Hjelm et al. 2018, continuous form): D is trained as for
  ``bce``; G pushes its samples to D's decision boundary, where ``D = 1/2`` and the importance
  weight ``D / (1 - D)`` is 1: ``1/2 E[(log D(G(z)) - log(1 - D(G(z))))^2] = 1/2 E[logit^2]``.
* ``margin`` (EBGAN, Zhao et al. 2017) and ``began`` (Berthelot et al. 2017) read *energies*
  (an autoencoder discriminator's reconstruction error, lower = more real); variants with such
  a discriminator (``ebgan``, ``began``) declare ``d_scores = "energy"`` and refuse the others.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .hookspecs import hookimpl
from .interfaces import Loss


class SoftmaxLoss(Loss):
    """Softmax GAN: ``Z = sum_{x in real + fake} exp(score(x))``; D minimises
    ``-mean_real score + log Z`` (cross-entropy against mass 1/|real| on each real sample), G
    minimises ``-mean_all score + log Z`` (against the uniform 1/|batch| over all samples)."""

    name = "softmax"
    uses_real_scores_in_g = True

    @staticmethod
    def log_partition(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return torch.logsumexp(torch.cat([real_scores.flatten(), fake_scores.flatten()]), dim=0)

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return -real_scores.mean() + self.log_partition(real_scores, fake_scores)

    def g_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None = None) -> torch.Tensor:
        if real_scores is None:
            raise ValueError("loss 'softmax' needs the real scores in the generator step")
        both = torch.cat([real_scores.flatten(), fake_scores.flatten()])
        return -both.mean() + self.log_partition(real_scores, fake_scores)


class BoundarySeekingLoss(Loss):
    """BGAN for continuous data: D as in ``bce``; G minimises ``1/2 E[logit(D(G(z)))^2]``."""

    name = "bgan"

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return (F.binary_cross_entropy_with_logits(real_scores, torch.ones_like(real_scores))
                + F.binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores)))

    def g_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None = None) -> torch.Tensor:
        return 0.5 * fake_scores.pow(2).mean()


class MarginLoss(Loss):
    """EBGAN's margin loss on energies: D minimises ``E(x) + relu(m - E(G(z)))`` (real energies
    low, generated ones pushed up to the margin ``m``), G minimises ``E(G(z))``."""

    name = "margin"
    scores = ("energy",)

    def __init__(self, margin: float = 1.0) -> None:
        self.margin = margin

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return real_scores.mean() + F.relu(self.margin - fake_scores).mean()

    def g_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None = None) -> torch.Tensor:
        return fake_scores.mean()


class BEGANLoss(Loss):
    """BEGAN's losses on energies: D minimises ``L(x) - k L(G(z))``, G minimises ``L(G(z))``.

    ``k`` is the equilibrium control the ``began`` variant updates after every D step (it keeps
    the last D step's mean energies in ``last`` for that); elsewhere it stays at 0."""

    name = "began"
    scores = ("energy",)

    def __init__(self, k: float = 0.0) -> None:
        self.k = k
        self.last: tuple[float, float] | None = None

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        real, fake = real_scores.mean(), fake_scores.mean()
        self.last = (float(real.detach()), float(fake.detach()))
        return real - self.k * fake

    def g_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None = None) -> torch.Tensor:
        return fake_scores.mean()


EXTRA_LOSSES = (SoftmaxLoss, BoundarySeekingLoss, MarginLoss, BEGANLoss)


@hookimpl
def register_losses(register) -> None:
    for cls in EXTRA_LOSSES:
        register(cls.name, cls)
