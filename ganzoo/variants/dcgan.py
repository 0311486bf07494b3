"""DCGAN (Radford et al. 2016): convolutional G and D, Adam 2e-4 with beta1 0.5, N(0, 0.02) init.

Image size and channels come from the data; ``ngf``/``ndf`` set the widths (64 in the paper).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..adversarial import AdversarialOptions, AdversarialVariant
from ..hookspecs import hookimpl
from ..nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ..nets.mlp import init_normal


class DCGANOptions(AdversarialOptions):
    ngf: int = Field(64, gt=0, description="generator width")
    ndf: int = Field(64, gt=0, description="discriminator width")
    d_norm: Literal["batch", "layer", "none"] = "batch"


class DCGAN(AdversarialVariant):
    """Convolutional G and D from the data's image size and channels; a base class for variants
    that keep DCGAN's networks and change the training (subclass and override)."""

    Options = DCGANOptions
    supports = ("images",)
    options: DCGANOptions

    def build_networks(self):
        o, info = self.options, self.data_info
        G = DCGANGenerator(o.z_dim, info.image_size, info.channels, o.ngf)
        D = DCGANDiscriminator(info.image_size, info.channels, o.ndf, norm=o.d_norm)
        init_normal(G)
        init_normal(D)
        return G, D


@hookimpl
def register_variants(register) -> None:
    register("dcgan", DCGAN)
