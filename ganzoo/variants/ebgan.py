"""EBGAN (Zhao et al. 2017): the discriminator is an autoencoder and its score an energy.

D (:class:`~ganzoo.nets.heads.AutoencoderDiscriminator`) reconstructs its input; the energy
``E(x)`` is the per-sample mean squared reconstruction error, low for real data. The run's loss
reads energies (``d_scores = "energy"``); the default ``margin`` loss trains D on
``E(x) + relu(m - E(G(z)))`` (real energies down, generated ones up to the margin ``m``) and G on
``E(G(z))``. Losses and regularizers that read logits are refused at start-up.

G also minimises the pull-away term ``PT = 1/(N(N-1)) sum_{i != j} cos^2(s_i, s_j)`` over the
encoder codes ``s`` of a generated batch (weight ``pt_weight``, logged as ``loss_pt``): codes
pointing the same way mean near-identical samples, so it pushes against mode collapse.
G is the DCGAN generator.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field

from ..adversarial import AdversarialOptions, AdversarialVariant
from ..extra_losses import MarginLoss
from ..hookspecs import hookimpl
from ..nets.dcgan import DCGANGenerator
from ..nets.heads import AutoencoderDiscriminator
from ..nets.mlp import init_normal


class EBGANOptions(AdversarialOptions):
    loss: str = Field("margin", description="a loss that reads energies: see 'ganzoo list losses'")
    ngf: int = Field(64, gt=0, description="generator width")
    ndf: int = Field(64, gt=0, description="autoencoder width")
    d_norm: Literal["batch", "layer", "none"] = Field("batch", description="encoder normalisation")
    code_dim: int = Field(64, gt=0, description="size of the autoencoder's code")
    margin: float = Field(1.0, gt=0, description="m of the margin loss, in energy units")
    pt_weight: float = Field(0.1, ge=0, description="weight of the pull-away term in G's loss")


def pull_away(codes: torch.Tensor) -> torch.Tensor:
    """Mean squared cosine similarity over all ordered pairs of distinct rows."""
    s = F.normalize(codes.float().flatten(1), dim=1)
    n = s.shape[0]
    if n < 2:
        return s.new_zeros(())
    cos2 = (s @ s.t()).pow(2)
    return (cos2.sum() - cos2.diagonal().sum()) / (n * (n - 1))


class EBGAN(AdversarialVariant):
    """DCGAN generator, autoencoder discriminator, margin loss and the pull-away term."""

    Options = EBGANOptions
    supports = ("images",)
    d_scores = "energy"
    #: the reconstruction error that is D's energy: "l2" (EBGAN) or "l1" (BEGAN)
    energy: ClassVar[str] = "l2"
    options: EBGANOptions

    def __init__(self, options: EBGANOptions, data) -> None:
        super().__init__(options, data)
        if isinstance(self.loss, MarginLoss):
            self.loss = MarginLoss(options.margin)

    def build_networks(self):
        o, info = self.options, self.data_info
        G = DCGANGenerator(o.z_dim, info.image_size, info.channels, o.ngf)
        init_normal(G)
        D = AutoencoderDiscriminator(info.image_size, info.channels, o.ndf, o.code_dim,
                                     energy=self.energy, norm=o.d_norm)
        return G, D

    def discriminate(self, critic: torch.nn.Module, x: torch.Tensor,
                     labels: torch.Tensor | None) -> tuple[torch.Tensor, Any]:
        """Energies and the encoder's codes (of the augmented image when ADA is on)."""
        return self.D.heads(x if self.augment is None else self.augment(x))

    def generator_extra(self, z, labels, fake_aux) -> dict[str, torch.Tensor]:
        if not self.options.pt_weight:
            return {}
        return {"loss_pt": self.options.pt_weight * pull_away(fake_aux)}


@hookimpl
def register_variants(register) -> None:
    register("ebgan", EBGAN)
