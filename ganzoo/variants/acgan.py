"""AC-GAN (Odena et al. 2017): a class-conditional G and a D that *predicts* the class.

G is the conditional DCGAN generator (:mod:`ganzoo.nets.conditional`: the label embedded and
concatenated with z, or conditional BatchNorm). D does not see the label: it has a real/fake head
and a class head on the same features (:class:`~ganzoo.nets.heads.AuxiliaryDCGANDiscriminator`).
Besides the adversarial loss (pluggable, default ``bce``):

* D minimises the class cross-entropy on real *and* generated samples (the paper's ``L_C``;
  ``fake_class_weight`` scales the generated part, 0 for real images only),
* G minimises it on its own samples: it must draw images D recognises as the asked-for class.

``class_weight`` scales both terms, logged as ``loss_class_d`` and ``loss_class_g``. Sampling,
the per-class preview grid and ``ganzoo sample --class`` are the conditional GAN's.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field

from ..adversarial import AdversarialOptions
from ..hookspecs import hookimpl
from ..nets.conditional import ConditionalDCGANGenerator
from ..nets.heads import AuxiliaryDCGANDiscriminator
from .conditional import ConditionalGAN


class ACGANOptions(AdversarialOptions):
    ngf: int = Field(64, gt=0, description="generator width")
    ndf: int = Field(64, gt=0, description="discriminator width")
    d_norm: Literal["batch", "layer", "none"] = "batch"
    g_conditioning: Literal["concat", "multiply", "cbn"] = Field(
        "concat", description="G input [z, embed(y)] or z * embed(y); cbn: class-conditional BatchNorm")
    embed_dim: int = Field(32, gt=0, description="G's label embedding size (concat only)")
    class_weight: float = Field(1.0, ge=0, description="weight of the class cross-entropy terms")
    fake_class_weight: float = Field(
        1.0, ge=0, description="weight of D's class loss on generated images, relative to real "
        "(1: the paper; 0: D's class head learns from real images only, so G cannot teach it "
        "class cues of its own and must draw the class as the data shows it)")


class ACGAN(ConditionalGAN):
    """Conditional G, D with a real/fake and a class head; class loss on real and generated."""

    Options = ACGANOptions
    options: ACGANOptions

    def build_networks(self):
        o, info, k = self.options, self.data_info, self.num_classes
        G = ConditionalDCGANGenerator(o.z_dim, info.image_size, info.channels, k, o.ngf,
                                      conditioning=o.g_conditioning, embed_dim=o.embed_dim)
        D = AuxiliaryDCGANDiscriminator(info.image_size, info.channels, o.ndf, k, norm=o.d_norm)
        return G, D

    def discriminate(self, critic: torch.nn.Module, x: torch.Tensor,
                     labels: torch.Tensor | None) -> tuple[torch.Tensor, Any]:
        """Real/fake scores and class logits (of the augmented image when ADA is on)."""
        return self.D.heads(x if self.augment is None else self.augment(x))

    def discriminator_extra(self, z, labels, real_aux, fake_aux) -> dict[str, torch.Tensor]:
        y = labels.long()
        o = self.options
        real = F.cross_entropy(real_aux.float(), y)
        fake = F.cross_entropy(fake_aux.float(), y)
        return {"loss_class_d": o.class_weight * (real + o.fake_class_weight * fake)}

    def generator_extra(self, z, labels, fake_aux) -> dict[str, torch.Tensor]:
        return {"loss_class_g": self.options.class_weight * F.cross_entropy(fake_aux.float(), labels.long())}


@hookimpl
def register_variants(register) -> None:
    register("acgan", ACGAN)
