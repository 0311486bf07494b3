"""The ``dcgan_diffaug`` variant: DCGAN whose discriminator sees DiffAugment'ed inputs.

DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training")
applies one random differentiable augmentation to real and generated images alike, in both the D
and the G update, so a discriminator trained on little data cannot memorise it and G is not
taught to produce augmented-looking images. The networks, initialisation and optimiser are
DCGAN's (Radford et al. 2016: N(0, 0.02) init, Adam 2e-4, betas 0.5/0.999).

Built from ganzoo's public API only (``ganzoo.adversarial``, ``ganzoo.nets``); other plugins can
augment their own variants with :func:`ganzoo_diffaugment.wrap.with_diffaugment`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ganzoo import hookimpl
from ganzoo.adversarial import AdversarialOptions, AdversarialVariant
from ganzoo.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ganzoo.nets.mlp import init_normal

from .wrap import with_diffaugment

#: ganzoo plugin-API versions this plugin was written for (checked when ganzoo loads it).
GANZOO_API = ">=1.0,<2"


class DCGANOptions(AdversarialOptions):
    ngf: int = Field(64, gt=0, description="generator width")
    ndf: int = Field(64, gt=0, description="discriminator width")
    d_norm: Literal["batch", "layer", "none"] = "batch"


class DCGAN(AdversarialVariant):
    """DCGAN from ganzoo's public networks (the built-in ``dcgan`` variant's module is internal)."""

    Options = DCGANOptions
    supports = ("images",)

    def build_networks(self):
        o, info = self.options, self.data_info
        G = DCGANGenerator(o.z_dim, info.image_size, info.channels, o.ngf)
        D = DCGANDiscriminator(info.image_size, info.channels, o.ndf, norm=o.d_norm)
        init_normal(G)
        init_normal(D)
        return G, D


DCGANDiffAugment = with_diffaugment(
    DCGAN, doc="DCGAN with DiffAugment (Zhao et al. 2020): colour/translation/cutout on D's inputs.")


@hookimpl
def register_variants(register) -> None:
    register("dcgan_diffaug", DCGANDiffAugment)
