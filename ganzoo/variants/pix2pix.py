"""pix2pix (Isola et al. 2017): paired image-to-image translation with a conditional GAN.

* G: a U-Net (:mod:`ganzoo.nets.pix2pix`) from input to output; dropout in its inner decoder
  blocks is the only noise (no z), as in the paper.
* D: the 70x70 PatchGAN (``n_layers_d: 3``; :class:`ganzoo.nets.cyclegan.PatchDiscriminator`,
  InstanceNorm) on the input and an output stacked as channels: it judges whether the output
  fits this input, patch by patch.
* One iteration, in the reference's order: ``fake = G(x)``; D on (x, y) vs (x, fake) with the
  ``loss``'s ``d_loss`` (BCE by default; the reference's factor 0.5 is left out: Adam does not
  see a constant factor); then G, with D frozen, on ``loss.g_loss + lambda_l1 * |fake - y|_1``
  (lambda 100 in the paper).
* Adam 2e-4, betas (0.5, 0.999); lr constant for ``n_steps_constant`` generator steps, then
  linear decay to 0 over ``n_steps_decay`` steps (the reference's 100 + 100 epochs; unset: half
  of ``train.steps`` each).

``predict``/``ganzoo translate``/``ganzoo eval`` come from :class:`ganzoo.paired.PairedVariant`
(eval mode: BatchNorm on running statistics, dropout off).
"""

from __future__ import annotations

from typing import Any, Iterator, Literal

import torch
import torch.nn.functional as F
from pydantic import Field

from ..errors import ConfigError
from ..hookspecs import hookimpl
from ..interfaces import Betas, StepContext, VariantOptions
from ..nets.cyclegan import PatchDiscriminator
from ..nets.mlp import init_normal
from ..nets.pix2pix import UNetGenerator, default_depth
from ..paired import PairedVariant, input_shape
from ..plugins import create_loss, get_registry
from ..schedules import linear_decay


class Pix2PixOptions(VariantOptions):
    ngf: int = Field(64, gt=0, description="generator width (64 in the paper)")
    ndf: int = Field(64, gt=0, description="discriminator width (64 in the paper)")
    num_downs: int | None = Field(None, ge=2, le=8, description="U-Net levels (default: down to 1x1, "
                                                                 "at most 8 as unet_256)")
    norm: Literal["batch", "instance"] = Field("batch", description="generator normalisation")
    dropout: float = Field(0.5, ge=0, lt=1, description="dropout in the inner decoder blocks (the noise)")
    n_dropout: int = Field(3, ge=0, description="decoder blocks with dropout, counted outward from the "
                                                "innermost (3 in the paper)")
    n_layers_d: int = Field(3, gt=0, description="PatchGAN depth: 3 is the 70x70 PatchGAN")
    loss: str = Field("bce", description="adversarial loss: see 'ganzoo list losses'")
    lambda_l1: float = Field(100.0, ge=0, description="weight of the L1 loss to the target")
    lr_g: float = Field(2e-4, gt=0)
    lr_d: float = Field(2e-4, gt=0)
    betas: Betas = Field((0.5, 0.999), description="Adam betas")
    n_steps_constant: int | None = Field(None, ge=0, description="generator steps at the initial lr "
                                                                 "(default: half of train.steps)")
    n_steps_decay: int | None = Field(None, ge=0, description="generator steps of linear decay to 0 "
                                                              "(default: the rest of train.steps)")
    init_std: float = Field(0.02, gt=0, description="N(0, std) initialisation of conv weights")


def check_shapes(options: Pix2PixOptions, x_shape: tuple[int, ...], y_shape: tuple[int, ...]) -> int:
    """The U-Net depth for these shapes; sizes it cannot map are refused naming the option."""
    if tuple(x_shape[1:]) != tuple(y_shape[1:]):
        raise ConfigError(f"pix2pix maps an input to an output of the same size, but the data's inputs "
                          f"are {x_shape[1]}x{x_shape[2]} and targets {y_shape[1]}x{y_shape[2]}; set "
                          f"data.image_size", key="data.image_size")
    h, w = y_shape[1:]
    depth = options.num_downs or default_depth(h, w)
    if depth < 2 or h % 2 ** depth or w % 2 ** depth:
        raise ConfigError(f"pix2pix's U-Net with {depth} levels needs sides that are multiples of "
                          f"{2 ** max(depth, 2)}, got {h}x{w}; set data.image_size (e.g. 32 or 256) or "
                          f"variant.num_downs", key="variant.num_downs")
    need = 3 * 2 ** options.n_layers_d
    if min(h, w) < need:
        raise ConfigError(f"variant.n_layers_d={options.n_layers_d} needs images of at least {need} px, "
                          f"got {h}x{w}; lower variant.n_layers_d", key="variant.n_layers_d")
    return depth


class Pix2Pix(PairedVariant):
    """Conditional GAN with L1 on paired data; batches are ``{"x": input, "y": target}``.
    A base class: override ``build_networks`` or ``generator_terms`` to change either."""

    Options = Pix2PixOptions
    supports_accumulation = True
    options: Pix2PixOptions

    def __init__(self, options: Pix2PixOptions, data) -> None:
        super().__init__(options, data)
        get_registry().entry("losses", options.loss)  # unknown loss -> error with suggestion
        self.loss = create_loss(options.loss)
        self.G, self.D = self.build_networks()

    def build_networks(self) -> tuple[torch.nn.Module, torch.nn.Module]:
        o = self.options
        x_shape, y_shape = input_shape(self.data_info), tuple(self.data_info.shape)
        depth = check_shapes(o, x_shape, y_shape)
        G = UNetGenerator(x_shape[0], y_shape[0], depth, o.ngf, o.norm, o.dropout, o.n_dropout)
        D = PatchDiscriminator(x_shape[0] + y_shape[0], o.ndf, o.n_layers_d)
        init_normal(G, o.init_std)
        init_normal(D, o.init_std)
        return G, D

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        o = self.options
        return {"G": torch.optim.Adam(self.G.parameters(), lr=o.lr_g, betas=o.betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=o.lr_d, betas=o.betas)}

    def configure_schedulers(self, optimizers: dict[str, torch.optim.Optimizer],
                             total_steps: int) -> dict[str, Any]:
        o = self.options
        n_constant = o.n_steps_constant if o.n_steps_constant is not None else (
            total_steps // 2 if o.n_steps_decay is None else max(0, total_steps - o.n_steps_decay))
        n_decay = o.n_steps_decay if o.n_steps_decay is not None else max(0, total_steps - n_constant)
        factor = linear_decay(n_constant - 1, n_constant + n_decay)  # as CycleGAN's per-step rule
        return {name: torch.optim.lr_scheduler.LambdaLR(opt, factor) for name, opt in optimizers.items()}

    def generator_terms(self, x: torch.Tensor, y: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """G's loss terms, already weighted: adversarial on (x, fake) and L1 to the target."""
        real_scores = None
        if self.loss.uses_real_scores_in_g:
            with torch.no_grad():
                real_scores = self.D(torch.cat([x, y], 1))
        return {"loss_g_gan": self.loss.g_loss(self.D(torch.cat([x, fake], 1)), real_scores),
                "loss_g_l1": F.l1_loss(fake, y) * self.options.lambda_l1}

    def train_step(self, batches: Iterator[dict[str, torch.Tensor]], ctx: StepContext) -> dict[str, Any]:
        """D then G on the same fakes, each summed over ``ctx.accumulate`` micro-batches."""
        opt_g, opt_d = self.optimizers["G"], self.optimizers["D"]
        micro = []
        for _ in range(ctx.accumulate):
            batch = next(batches)
            x, y = batch["x"], batch["y"]
            with ctx.autocast():
                micro.append((x, y, self.G(x)))
        sums: dict[str, torch.Tensor] = {}
        opt_d.zero_grad(set_to_none=True)
        for x, y, fake in micro:
            n = x.shape[0]
            with ctx.autocast():  # real and fake pairs in one call (InstanceNorm: per image)
                scores = self.D(torch.cat([torch.cat([x, y], 1), torch.cat([x, fake.detach()], 1)]))
                loss_d = self.loss.d_loss(scores[:n], scores[n:])
            ctx.backward(loss_d)
            sums["loss_d"] = sums.get("loss_d", 0.0) + loss_d.detach()
        ctx.step(opt_d, "D")
        self.D.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        for x, y, fake in micro:
            with ctx.autocast():
                terms = self.generator_terms(x, y, fake)
                loss_g = sum(terms.values())
            ctx.backward(loss_g)
            for k, v in {**terms, "loss_g": loss_g}.items():
                sums[k] = sums.get(k, 0.0) + v.detach()
        ctx.step(opt_g, "G")
        self.D.requires_grad_(True)
        return {k: v / ctx.accumulate for k, v in sums.items()}


@hookimpl
def register_variants(register) -> None:
    register("pix2pix", Pix2Pix)
