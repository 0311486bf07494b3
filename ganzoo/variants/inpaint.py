"""Inpainting with a context encoder (Pathak et al. 2016): fill a hole from what surrounds it.

* Data: "paired" batches ``{"x": image with the hole blanked, "mask": 1 inside the hole,
  "y": the full image}`` (``inpaint_masks`` around any image source: centre, random boxes or
  free-form holes).
* G: :class:`ganzoo.nets.inpaint.ContextEncoder` on the blanked image and the mask; its output is
  kept inside the hole only, the known pixels are pasted back (the output is ``x`` outside the
  hole, so nothing the user gave is changed).
* D: a DCGAN-style image discriminator on the completed image vs the real one. Since the known
  pixels are the real ones, the adversarial loss reaches G through the filled region only.
* G's loss: ``lambda_rec`` times the reconstruction loss inside the hole (L2 as in the paper;
  the paper's 10x weight on a thin overlap band is left out, paste-back makes it moot) plus
  ``lambda_adv`` times the adversarial loss (0.999 and 0.001 in the paper; BCE).
* Adam, lr 2e-4 for G (the paper's 10x lower D lr: ``lr_d`` 2e-5), betas (0.5, 0.999).
"""

from __future__ import annotations

from typing import Any, Iterator, Literal

import torch
from pydantic import Field
from torch import nn

from ..errors import ConfigError
from ..hookspecs import hookimpl
from ..interfaces import Betas, StepContext, VariantOptions
from ..nets.inpaint import ContextDiscriminator, ContextEncoder, halvings
from ..nets.mlp import init_normal
from ..paired import PairedVariant, input_shape
from ..plugins import create_loss, get_registry


class InpaintOptions(VariantOptions):
    ngf: int = Field(64, gt=0, description="generator width (64 in the paper)")
    ndf: int = Field(64, gt=0, description="discriminator width (64 in the paper)")
    loss: str = Field("bce", description="adversarial loss: see 'ganzoo list losses'")
    lambda_rec: float = Field(0.999, ge=0, description="weight of the reconstruction loss in the hole")
    lambda_adv: float = Field(0.001, ge=0, description="weight of the adversarial loss")
    rec: Literal["l2", "l1"] = Field("l2", description="reconstruction distance (L2 in the paper)")
    lr_g: float = Field(2e-4, gt=0)
    lr_d: float = Field(2e-5, gt=0, description="D's learning rate (10x lower than G's in the paper)")
    betas: Betas = Field((0.5, 0.999), description="Adam betas")
    init_std: float = Field(0.02, gt=0, description="N(0, std) initialisation of conv weights")


class Inpaint(PairedVariant):
    """Context-encoder inpainting on ``{"x", "mask", "y"}`` batches (see the module docs)."""

    Options = InpaintOptions
    options: InpaintOptions

    def __init__(self, options: InpaintOptions, data) -> None:
        super().__init__(options, data)
        get_registry().entry("losses", options.loss)
        self.loss = create_loss(options.loss)
        c, h, w = tuple(data.shape)
        if input_shape(data) != (c, h, w) or (data.extras or {}).get("task") != "inpainting":
            raise ConfigError(f"{options.name} fills holes given by a mask; its data must be "
                              f"'inpaint_masks' (around any image source), not '{data.name}'", key="data.name")
        if h != w or halvings(h) < 1:
            raise ConfigError(f"{options.name} needs square images whose side is a multiple of 8, got "
                              f"{h}x{w}; set the source's image_size", key="data.source.image_size")
        self.G, self.D = self.build_networks()

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        o, (c, h, _) = self.options, self.data_info.shape
        G = ContextEncoder(c + 1, c, o.ngf, h)
        D = ContextDiscriminator(c, o.ndf, h)
        init_normal(G, o.init_std)
        init_normal(D, o.init_std)
        return G, D

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        o = self.options
        return {"G": torch.optim.Adam(self.G.parameters(), lr=o.lr_g, betas=o.betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=o.lr_d, betas=o.betas)}

    def raw_output(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """G's whole-image guess (before the known pixels are pasted back)."""
        return self.G(torch.cat([batch["x"], batch["mask"]], 1))

    def forward_output(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        m = batch["mask"]
        return batch["x"] * (1 - m) + self.raw_output(batch) * m

    def rec_loss(self, raw: torch.Tensor, y: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """Mean distance over the hole's pixels (and channels)."""
        diff = (raw - y) ** 2 if self.options.rec == "l2" else (raw - y).abs()
        return (diff * m).sum() / (m.sum() * y.shape[1]).clamp_min(1.0)

    def train_step(self, batches: Iterator[dict[str, torch.Tensor]], ctx: StepContext) -> dict[str, Any]:
        """D on real vs completed images, then G on reconstruction + adversarial."""
        o = self.options
        batch = next(batches)
        y, m = batch["y"], batch["mask"]
        with ctx.autocast():
            raw = self.raw_output(batch)
            filled = batch["x"] * (1 - m) + raw * m
        opt_d, opt_g = self.optimizers["D"], self.optimizers["G"]
        opt_d.zero_grad(set_to_none=True)
        n = y.shape[0]
        with ctx.autocast():
            scores = self.D(torch.cat([y, filled.detach()]))
            loss_d = self.loss.d_loss(scores[:n], scores[n:])
        ctx.backward(loss_d)
        ctx.step(opt_d, "D")
        self.D.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        with ctx.autocast():
            real_scores = None
            if self.loss.uses_real_scores_in_g:
                with torch.no_grad():
                    real_scores = self.D(y)
            loss_adv = self.loss.g_loss(self.D(filled), real_scores)
            loss_rec = self.rec_loss(raw, y, m)
            loss_g = o.lambda_rec * loss_rec + o.lambda_adv * loss_adv
        ctx.backward(loss_g)
        ctx.step(opt_g, "G")
        self.D.requires_grad_(True)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "loss_g_rec": loss_rec.detach(),
                "loss_g_adv": loss_adv.detach()}


@hookimpl
def register_variants(register) -> None:
    register("inpaint", Inpaint)
