"""The ``sngan`` variant: a spectrally normalised discriminator with the hinge loss.

Miyato et al. 2018 ("Spectral Normalization for Generative Adversarial Networks"). Defaults are
the authors' hinge-loss setup: Adam lr 2e-4 for both networks, betas (0.0, 0.9), n_dis = 5
discriminator updates per generator update. The paper's "setting C" (the DCGAN optimiser: betas
(0.5, 0.999), n_dis 1) is what configs/sngan_shapes.yaml uses, because it costs a fifth of the
discriminator work on a CPU. G is ganzoo's DCGAN generator (BatchNorm, N(0, 0.02) init).

Uses ganzoo's public plugin API only: :mod:`ganzoo.adversarial`, :mod:`ganzoo.nets`,
:func:`ganzoo.hookimpl`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from ganzoo import hookimpl
from ganzoo.interfaces import Betas
from ganzoo.adversarial import AdversarialOptions, AdversarialVariant
from ganzoo.nets.dcgan import DCGANGenerator
from ganzoo.nets.mlp import init_normal

from .nets import sn_discriminator

#: ganzoo plugin-API versions this plugin was written for (checked when ganzoo loads it).
GANZOO_API = ">=2.0,<3"


class SNGANOptions(AdversarialOptions):
    z_dim: int = Field(128, gt=0, description="latent size (128 in the paper)")
    loss: str = Field("hinge", description="adversarial loss; the paper also reports 'bce'")
    lr_g: float = Field(2e-4, gt=0)
    lr_d: float = Field(2e-4, gt=0)
    betas: Betas = Field((0.0, 0.9), description="Adam betas")
    d_steps: int = Field(5, gt=0, validation_alias=AliasChoices("n_dis", "d_steps"),
                         description="n_dis: discriminator updates per generator update "
                                     "(config key n_dis or d_steps)")
    ngf: int = Field(64, gt=0, description="generator width")
    ndf: int = Field(64, gt=0, description="discriminator width")
    d_arch: Literal["dcgan", "cnn"] = Field(
        "dcgan", description="dcgan: ganzoo's DCGAN D without BatchNorm; cnn: the paper's standard CNN")
    power_iterations: int = Field(1, gt=0, description="power iterations per training forward pass")


class SNGAN(AdversarialVariant):
    """DCGAN generator, spectrally normalised discriminator, hinge loss (Miyato et al. 2018)."""

    Options = SNGANOptions
    supports = ("images",)
    options: SNGANOptions

    def build_networks(self):
        o, info = self.options, self.data_info
        G = DCGANGenerator(o.z_dim, info.image_size, info.channels, o.ngf)
        init_normal(G)
        D = sn_discriminator(o.d_arch, info.image_size, info.channels, o.ndf, o.power_iterations)
        return G, D


@hookimpl
def register_variants(register) -> None:
    register("sngan", SNGAN)
