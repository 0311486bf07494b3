"""ESRGAN (Wang et al. 2018): SRGAN with RRDB blocks, no batch norm and a relativistic D.

What changes from :class:`ganzoo.variants.srgan.SRGAN` (the training step is the same):

* G: :class:`ganzoo.nets.esrgan.RRDBNet`, residual-in-residual dense blocks without batch norm,
  residual scaling 0.2, the blocks' initial weights scaled by 0.1 (the paper's two tricks for
  deep networks), up-sampling by nearest resize + conv as in the authors' code
  (``upsample: pixel_shuffle`` for SRGAN's). Its output is unbounded; predictions are clamped
  to [-1, 1].
* D: SRGAN's VGG-style discriminator, trained with the relativistic average loss (``ragan``:
  D estimates whether a real image is more realistic than the average fake, and G the reverse,
  so G gets gradients from real images too).
* Content: L1. The paper's loss is ``L_percep + 5e-3 L_adv + 1e-2 L1`` with VGG-19 features
  before activation (``perceptual_layer: 34``); those ImageNet weights need a file (see SRGAN's
  docs), so by DEFAULT the perceptual term is off and the loss is ``1e-2 L1 + 5e-3 L_adv``.
* ``pretrain_steps``: the paper's PSNR-oriented pre-training (L1 only) before the GAN.
* Adam, lr 1e-4, betas (0.9, 0.99).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from ..hookspecs import hookimpl
from ..interfaces import Betas
from ..nets.esrgan import RRDBNet
from ..nets.srgan import SRDiscriminator
from .srgan import SRGAN, SRBaseOptions


class ESRGANOptions(SRBaseOptions):
    n_blocks: int = Field(23, ge=0, description="RRDB blocks in G (23 in the paper)")
    growth: int = Field(32, gt=0, description="channels added by each conv of a dense block (32)")
    batch_norm: bool = Field(True, description="batch norm in D's blocks (G never has any)")
    upsample: Literal["nearest", "pixel_shuffle"] = Field("nearest", description="G's up-sampling")
    loss: str = Field("ragan", description="adversarial loss: relativistic average (ragan) in the paper")
    adv_weight: float = Field(5e-3, ge=0, description="weight of the adversarial loss (5e-3)")
    content: Literal["l2", "l1"] = Field("l1", description="distance of the pixel and perceptual losses")
    pixel_weight: float = Field(1e-2, ge=0, description="weight of the L1 pixel loss (1e-2)")
    perceptual_weight: float = Field(0.0, ge=0, description="weight of the VGG feature loss (1 in the "
                                                            "paper); > 0 needs perceptual_weights")
    perceptual_layer: int = Field(34, ge=0, le=36, description="vgg19.features index compared: 34 = "
                                                               "conv5_4 before activation")
    betas: Betas = Field((0.9, 0.99), description="Adam betas")


class ESRGAN(SRGAN):
    """Enhanced SRGAN: RRDB generator, relativistic average D (see the module docs)."""

    Options = ESRGANOptions
    options: ESRGANOptions

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        o, c = self.options, self.data_info.channels
        G = RRDBNet(c, c, o.ngf, o.n_blocks, o.growth, self.scale, o.upsample)
        with torch.no_grad():  # small initial residuals keep the deep stack near the identity
            for m in G.blocks.modules():
                if isinstance(m, nn.Conv2d):
                    m.weight.mul_(0.1)
        return G, SRDiscriminator(c, o.ndf, o.n_down_d, o.batch_norm)

    @torch.no_grad()
    def predict(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return super().predict(batch).clamp_(-1.0, 1.0)


@hookimpl
def register_variants(register) -> None:
    register("esrgan", ESRGAN)
