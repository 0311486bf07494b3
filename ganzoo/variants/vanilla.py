"""The classic MLP GAN (Goodfellow et al. 2014), on images or on 2-D points.

Defaults follow the widely used reference MLP: G z -> 256 -> 512 -> 1024 -> data with LeakyReLU 0.2
and BatchNorm (from the second layer on), tanh output; D data -> 1024 -> 512 -> 256 -> 1 with
LeakyReLU 0.2. The original Keras code used BatchNorm momentum 0.8, which is 0.2 in PyTorch's
convention (PyTorch weighs the *new* batch by ``momentum``); ``bn_momentum`` uses PyTorch's.

On 2-D points the output is linear (no tanh) and the hidden sizes, activations, maxout and PacGAN
packing (``pack``) can reproduce the setups of the mode-collapse papers.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..adversarial import AdversarialOptions, AdversarialVariant
from ..hookspecs import hookimpl
from ..interfaces import Widths
from ..nets.mlp import MLPDiscriminator, MLPGenerator, init_normal


class VanillaOptions(AdversarialOptions):
    g_hidden: Widths = Field([256, 512, 1024], min_length=1)
    d_hidden: Widths = Field([1024, 512, 256], min_length=1)
    g_act: Literal["relu", "leaky_relu", "tanh", "elu"] = "leaky_relu"
    d_act: Literal["relu", "leaky_relu", "tanh", "elu", "maxout"] = "leaky_relu"
    g_batchnorm: bool = True
    bn_momentum: float = Field(0.2, gt=0, le=1, description="PyTorch convention (Keras 0.8)")
    first_layer_norm: bool = Field(False, description="BatchNorm on G's first layer too")
    maxout_pieces: int = Field(5, gt=1)
    pack: int = Field(1, gt=0, description="PacGAN: D sees this many samples at once")
    init_std: float | None = Field(None, gt=0, description="N(0, std) init; None keeps PyTorch's default")


class VanillaGAN(AdversarialVariant):
    """MLP generator and discriminator with a pluggable loss."""

    Options = VanillaOptions
    supports = ("images", "points")
    options: VanillaOptions

    def build_networks(self):
        o, info = self.options, self.data_info
        output = "linear" if info.kind == "points" else "tanh"
        G = MLPGenerator(o.z_dim, info.shape, o.g_hidden, o.g_act, o.g_batchnorm, o.bn_momentum,
                         output=output, first_layer_norm=o.first_layer_norm)
        D = MLPDiscriminator(info.shape, o.d_hidden, o.d_act, pack=o.pack, maxout_pieces=o.maxout_pieces)
        if o.init_std is not None:
            init_normal(G, o.init_std)
            init_normal(D, o.init_std)
        return G, D

    def batch_multiple(self) -> tuple[int, str]:
        return self.options.pack, f"variant.pack={self.options.pack} shows the discriminator that many samples at once"


@hookimpl
def register_variants(register) -> None:
    register("vanilla", VanillaGAN)
