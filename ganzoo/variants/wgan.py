"""Wasserstein GANs: weight clipping (``wgan``, Arjovsky et al. 2017) and gradient penalty
(``wgan_gp``, Gulrajani et al. 2017).

Both train a critic (raw scores, no sigmoid) with the ``wasserstein`` loss, ``d_steps`` critic
updates per generator update, and keep it roughly 1-Lipschitz in their own way:

* ``wgan`` clips every critic parameter to ``[-clip, clip]`` after each critic step; RMSprop
  lr 5e-5 for both nets (the paper's Algorithm 1: momentum-based optimizers were unstable).
* ``wgan_gp`` is the same critic with Adam 1e-4, betas (0.5, 0.9), and the ``gp`` regularizer
  (:mod:`ganzoo.regularizers`): ``gp_lambda * E[(||grad D(x_hat)||_2 - 1)^2]`` at random
  interpolates ``x_hat = eps * real + (1 - eps) * fake`` (one ``eps`` per sample). The penalty is
  per sample, so the critic has no BatchNorm (``d_norm: layer`` or ``none``).

Networks follow the data: DCGAN-style conv nets for images (:mod:`ganzoo.nets.dcgan`), MLPs for
2-D points (:mod:`ganzoo.nets.mlp`; by default WGAN-GP's toy setup: 2-d noise, 3 x 512 ReLU in
both nets, no normalisation). Logged scalars: ``loss_d``, ``loss_g``, ``wasserstein``
(``-loss_d``, the critic's estimate of W(real, fake)) and, for ``wgan_gp``, ``reg/gp`` (the
weighted penalty added to the critic's loss).
"""

from __future__ import annotations

from typing import Any, Iterator, Literal

import torch
from pydantic import Field, field_validator

from ..adversarial import AdversarialVariant, RegularizedOptions
from ..hookspecs import hookimpl
from ..interfaces import Betas, Discriminator, StepContext, Widths
from ..regularizers import gradient_penalty
from ..nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ..nets.mlp import MLPDiscriminator, MLPGenerator, init_normal


class CriticOptions(RegularizedOptions):
    """Options shared by both Wasserstein variants (no ``betas``/``loss`` choice where fixed)."""

    z_dim: int | None = Field(None, gt=0, description="latent size; None: 100 for images, 2 for points")
    loss: Literal["wasserstein"] = Field("wasserstein", description="fixed: the Wasserstein critic loss")
    d_steps: int = Field(5, gt=0, description="critic updates per generator update")
    lr_decay_start: float | None = Field(
        None, ge=0, lt=1, description="decay both learning rates linearly to 0 from this fraction "
                                      "of train.steps on (None: constant)")
    # images (DCGAN-style nets)
    ngf: int = Field(64, gt=0, description="generator width (images)")
    ndf: int = Field(64, gt=0, description="critic width (images)")
    init_std: float | None = Field(0.02, gt=0, description="N(0, std) init; None keeps PyTorch's default")
    # 2-D points (MLP nets)
    g_hidden: Widths = Field([512, 512, 512], min_length=1, description="generator hidden sizes (points)")
    d_hidden: Widths = Field([512, 512, 512], min_length=1, description="critic hidden sizes (points)")
    g_act: Literal["relu", "leaky_relu", "tanh", "elu"] = "relu"
    d_act: Literal["relu", "leaky_relu", "tanh", "elu"] = "relu"
    g_batchnorm: bool = Field(False, description="BatchNorm in the MLP generator (points)")


class WGANOptions(CriticOptions):
    lr_g: float = Field(5e-5, gt=0, description="RMSprop learning rate of G")
    lr_d: float = Field(5e-5, gt=0, description="RMSprop learning rate of the critic")
    clip: float = Field(0.01, gt=0, description="critic parameters are clipped to [-clip, clip]")
    d_norm: Literal["batch", "layer", "none"] = Field(
        "batch", description="critic normalisation (images); the reference WGAN critic used BatchNorm")


class WGANGPOptions(CriticOptions):
    lr_g: float = Field(1e-4, gt=0)
    lr_d: float = Field(1e-4, gt=0)
    betas: Betas = Field((0.5, 0.9), description="Adam betas; (0.0, 0.9) is also common")
    gp_lambda: float = Field(10.0, ge=0, description="weight of the gradient penalty")
    d_norm: Literal["layer", "none"] = Field(
        "layer", description="critic normalisation (images); BatchNorm would break the per-sample penalty")

    @field_validator("d_norm", mode="before")
    @classmethod
    def _no_batchnorm(cls, v: Any) -> Any:
        if v == "batch":
            raise ValueError("the gradient penalty needs per-sample critic gradients, so the critic "
                             "cannot use BatchNorm; use d_norm: layer or none")
        return v


class CriticVariant(AdversarialVariant):
    """A Wasserstein critic and its generator: the network choice by data kind and the
    Wasserstein logging that both ``wgan`` and ``wgan_gp`` share; a base for critic variants."""

    supports = ("images", "points")
    critic_norm: str

    def z_size(self) -> int:
        z = self.options.z_dim
        if z is not None:
            return z
        return 2 if self.data_info.kind == "points" else 100

    def build_networks(self):
        o, info = self.options, self.data_info
        z_dim = self.z_size()
        if info.kind == "points":
            G = MLPGenerator(z_dim, info.shape, o.g_hidden, o.g_act, o.g_batchnorm, output="linear")
            D: Discriminator = MLPDiscriminator(info.shape, o.d_hidden, o.d_act)
        else:
            G = DCGANGenerator(z_dim, info.image_size, info.channels, o.ngf)
            D = DCGANDiscriminator(info.image_size, info.channels, o.ndf, norm=o.d_norm)
        if o.init_std is not None:
            init_normal(G, o.init_std)
            init_normal(D, o.init_std)
        return G, D

    def train_step(self, batches: Iterator[dict[str, torch.Tensor]], ctx: StepContext) -> dict[str, Any]:
        logs = super().train_step(batches, ctx)
        logs["wasserstein"] = -logs["loss_d"]
        return logs


class WGAN(CriticVariant):
    """WGAN with weight clipping: RMSprop, clip after every critic step."""

    Options = WGANOptions
    options: WGANOptions

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        o = self.options
        return {"G": torch.optim.RMSprop(self.G.parameters(), lr=o.lr_g),
                "D": torch.optim.RMSprop(self.D.parameters(), lr=o.lr_d)}

    @torch.no_grad()
    def after_d_step(self) -> None:
        c = self.options.clip
        for p in self.D.parameters():
            p.clamp_(-c, c)


class WGANGP(CriticVariant):
    """WGAN-GP: Adam and a gradient penalty at random interpolates."""

    Options = WGANGPOptions
    options: WGANGPOptions

    def regularizer_specs(self) -> list[dict[str, Any]]:
        """``variant.regularizers`` plus ``gp`` weighted by ``gp_lambda`` (unless listed there)."""
        specs = super().regularizer_specs()
        if not any(spec["name"] == "gp" for spec in specs):
            specs.append({"name": "gp", "weight": self.options.gp_lambda})
        return specs


@hookimpl
def register_variants(register) -> None:
    register("wgan", WGAN)
    register("wgan_gp", WGANGP)
