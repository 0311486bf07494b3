"""SRGAN (Ledig et al. 2017): super-resolution with a residual generator and a GAN.

* G: SRResNet (:class:`ganzoo.nets.srgan.SRResNet`): residual blocks with batch norm and
  pixel-shuffle up-sampling by the data's factor (x2, x4, ...; read from the data, so the scale is
  not stated twice). D: the paper's VGG-style discriminator, one logit per image.
* One iteration: ``fake = G(x)``; D on the real image ``y`` vs ``fake`` with the ``loss``'s
  ``d_loss`` (BCE as in the paper); then G, with D frozen, on the content loss plus
  ``adv_weight`` (1e-3 in the paper) times the adversarial loss.
* Content loss. The paper's best model (SRGAN-VGG54) compares VGG-19 features of ``fake`` and
  ``y`` (weight 0.006, its 1/12.75 rescaling squared); its SRGAN-MSE compares pixels. VGG's
  ImageNet weights cannot be downloaded by ganzoo, so the DEFAULT is the pixel loss
  (``pixel_weight`` 1, ``content: l2``) plus the adversarial loss, which needs no file. Give
  weights to train with the perceptual loss: ``perceptual_weight: 0.006``, ``pixel_weight: 0``,
  ``perceptual_weights: vgg19.pt`` (or ``$GANZOO_VGG_WEIGHTS``; see :mod:`ganzoo.nets.vgg`).
* ``pretrain_steps``: the first generator steps use the content loss only and leave D alone, as
  the paper starts SRGAN from a trained SRResNet (10^6 steps there).
* Adam, lr 1e-4, betas (0.9, 0.999), as in the paper (which drops lr to 1e-5 half way: use a
  scheduler plugin or ``variant.lr_g`` on a resume).

A base class: :class:`ganzoo.variants.esrgan.ESRGAN` changes the networks and defaults; override
``build_networks`` or ``generator_terms`` for other variations.
"""

from __future__ import annotations

from typing import Any, Iterator, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from ..errors import ConfigError
from ..hookspecs import hookimpl
from ..interfaces import Betas, StepContext, VariantOptions
from ..nets.srgan import SRDiscriminator, SRResNet, scale_factors
from ..paired import PairedVariant, input_shape
from ..plugins import create_loss, get_registry


class SRBaseOptions(VariantOptions):
    """What SRGAN and ESRGAN share (each adds its generator's own options)."""

    ngf: int = Field(64, gt=0, description="generator width (64 in the paper)")
    ndf: int = Field(64, gt=0, description="discriminator width (64 in the paper)")
    n_blocks: int = Field(16, ge=0, description="residual blocks in G (16 in the paper)")
    batch_norm: bool = Field(True, description="batch norm in G's and D's blocks (as in the paper)")
    n_down_d: int = Field(4, ge=1, le=6, description="D's stride-2 convs (4 in the paper)")
    loss: str = Field("bce", description="adversarial loss: see 'ganzoo list losses'")
    adv_weight: float = Field(1e-3, ge=0, description="weight of the adversarial loss in G's (1e-3)")
    content: Literal["l2", "l1"] = Field("l2", description="distance of the pixel and perceptual losses")
    pixel_weight: float = Field(1.0, ge=0, description="weight of the pixel loss (the default content "
                                                       "loss; no download needed)")
    perceptual_weight: float = Field(0.0, ge=0, description="weight of the VGG feature loss (0.006 in "
                                                            "the paper); > 0 needs perceptual_weights")
    perceptual_weights: str | None = Field(None, description="VGG-19 state dict file (torchvision key "
                                                             "names); default $GANZOO_VGG_WEIGHTS")
    perceptual_layer: int = Field(35, ge=0, le=36, description="vgg19.features index compared: 35 = "
                                                               "relu5_4 (VGG54), 8 = relu2_2 (VGG22)")
    pretrain_steps: int = Field(0, ge=0, description="first generator steps on the content loss only "
                                                     "(D untouched)")
    lr_g: float = Field(1e-4, gt=0)
    lr_d: float = Field(1e-4, gt=0)
    betas: Betas = Field((0.9, 0.999), description="Adam betas")


class SRGANOptions(SRBaseOptions):
    outer_kernel: Literal[3, 5, 7, 9] = Field(9, description="G's first and last conv size (9 in the paper)")


def check_scale(x_shape: tuple[int, ...], y_shape: tuple[int, ...], name: str) -> int:
    """The up-sampling factor from input to target shapes; anything else is refused."""
    (cx, hx, wx), (cy, hy, wy) = x_shape, y_shape
    scale = hy // hx if hx else 0
    if scale < 2 or cx != cy or hy != scale * hx or wy != scale * wx:
        raise ConfigError(f"{name} up-samples its input by a whole factor, but the data's inputs are "
                          f"{cx}x{hx}x{wx} and its targets {cy}x{hy}x{wy}; use data 'sr_pairs'", key="data.name")
    try:
        scale_factors(scale)
    except ValueError:
        raise ConfigError(f"{name} up-samples by 2, 3, 4, 8 or 16, but the data's factor is {scale}; "
                          f"set data.lr_scale", key="data.lr_scale") from None
    return scale


class SRGAN(PairedVariant):
    """Super-resolution GAN on ``{"x": low-resolution, "y": image}`` batches."""

    Options = SRGANOptions
    options: SRGANOptions

    def __init__(self, options: SRGANOptions, data) -> None:
        super().__init__(options, data)
        get_registry().entry("losses", options.loss)  # unknown loss -> error with suggestion
        self.loss = create_loss(options.loss)
        self.scale = check_scale(input_shape(data), tuple(data.shape), options.name)
        if min(data.shape[1:]) < 2 ** options.n_down_d:
            raise ConfigError(f"variant.n_down_d={options.n_down_d} needs images of at least "
                              f"{2 ** options.n_down_d} px; lower it", key="variant.n_down_d")
        if options.pixel_weight == 0 and options.perceptual_weight == 0:
            raise ConfigError(f"{options.name} needs a content loss: set variant.pixel_weight or "
                              f"variant.perceptual_weight above 0", key="variant.pixel_weight")
        if options.perceptual_weight > 0:
            from ..nets.vgg import find_weights

            find_weights(options.perceptual_weights)  # a missing file is one line now, not at step 1
        self.G, self.D = self.build_networks()
        # frozen, loaded on first use from its own file: kept out of the state dict (and checkpoints)
        object.__setattr__(self, "_features", None)

    def build_networks(self) -> tuple[nn.Module, nn.Module]:
        o, c = self.options, self.data_info.channels
        return (SRResNet(c, c, o.ngf, o.n_blocks, self.scale, o.batch_norm, outer_kernel=o.outer_kernel),
                SRDiscriminator(c, o.ndf, o.n_down_d, o.batch_norm))

    def build_features(self) -> nn.Module:
        """The frozen feature network of the perceptual loss (VGG-19 from a file)."""
        from ..nets.vgg import VGGFeatures

        return VGGFeatures(self.options.perceptual_weights, self.options.perceptual_layer)

    def feature_net(self, device: torch.device) -> nn.Module:
        if self._features is None:
            object.__setattr__(self, "_features", self.build_features())
        return self._features.to(device)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        o = self.options
        return {"G": torch.optim.Adam(self.G.parameters(), lr=o.lr_g, betas=o.betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=o.lr_d, betas=o.betas)}

    def distance(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(a, b) if self.options.content == "l2" else F.l1_loss(a, b)

    def content_terms(self, fake: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Pixel and perceptual losses, weighted (a term of weight 0 is left out)."""
        o, terms = self.options, {}
        if o.pixel_weight > 0:
            terms["loss_g_pixel"] = self.distance(fake, y) * o.pixel_weight
        if o.perceptual_weight > 0:
            net = self.feature_net(fake.device)
            with torch.no_grad():
                target = net(y)
            terms["loss_g_perceptual"] = self.distance(net(fake), target) * o.perceptual_weight
        return terms

    def generator_terms(self, y: torch.Tensor, fake: torch.Tensor, adversarial: bool) -> dict[str, torch.Tensor]:
        """G's loss terms, weighted: content, and (after pre-training) adversarial."""
        terms = self.content_terms(fake, y)
        if adversarial:
            real_scores = None
            if self.loss.uses_real_scores_in_g:
                with torch.no_grad():
                    real_scores = self.D(y)
            terms["loss_g_adv"] = self.loss.g_loss(self.D(fake), real_scores) * self.options.adv_weight
        return terms

    def train_step(self, batches: Iterator[dict[str, torch.Tensor]], ctx: StepContext) -> dict[str, Any]:
        """D (unless pre-training) then G, on the same fakes."""
        o = self.options
        batch = next(batches)
        x, y = batch["x"], batch["y"]
        adversarial = ctx.step_index >= o.pretrain_steps and o.adv_weight > 0
        with ctx.autocast():
            fake = self.G(x)
        logs: dict[str, Any] = {}
        if adversarial:
            opt_d = self.optimizers["D"]
            opt_d.zero_grad(set_to_none=True)
            n = y.shape[0]
            with ctx.autocast():
                scores = self.D(torch.cat([y, fake.detach()]))
                loss_d = self.loss.d_loss(scores[:n], scores[n:])
            ctx.backward(loss_d)
            ctx.step(opt_d, "D")
            logs["loss_d"] = loss_d.detach()
        opt_g = self.optimizers["G"]
        self.D.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        with ctx.autocast():
            terms = self.generator_terms(y, fake, adversarial)
            loss_g = sum(terms.values())
        ctx.backward(loss_g)
        ctx.step(opt_g, "G")
        self.D.requires_grad_(True)
        return {**logs, "loss_g": loss_g.detach(), **{k: v.detach() for k, v in terms.items()}}


@hookimpl
def register_variants(register) -> None:
    register("srgan", SRGAN)
