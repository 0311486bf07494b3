"""BiGAN (Donahue et al. 2017) / ALI (Dumoulin et al. 2017): a GAN that also learns the inverse map.

Besides G: z -> x there is an encoder E: x -> z, and D sees *pairs*: ``(x, E(x))`` for a real image
and ``(G(z), z)`` for a generated one. At the optimum the two joint distributions match, so E
inverts G: ``E(G(z)) = z`` and ``G(E(x)) ~ x``. E's codes are features learnt without labels
(measured by a linear probe in BENCHMARKS.md); ``ganzoo encode`` writes them for any images.

* D minimises the loss (pluggable, default ``bce``) with real pairs as "real";
* G and E share one optimizer and minimise the same loss with the labels swapped (real pairs
  scored as "fake", generated pairs as "real"), the inverted-label objective the paper trains with.

``stochastic: true`` gives ALI's Gaussian encoder (a reparameterised draw in training; its mean
when encoding). D reads a pair packed into one flat vector (image pixels, then the code; see
:class:`~ganzoo.nets.bigan.JointDiscriminator`), so regularizers that work on flat samples (r1,
r2, gp, lecam ...) penalise the joint space; image-only ones (bcr) and ADA are refused.

The preview grid shows samples, then two rows of real images and their reconstructions G(E(x)).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Literal

import torch
from pydantic import Field, model_validator

from ..adversarial import AdversarialOptions, AdversarialVariant
from ..hookspecs import hookimpl
from ..interfaces import StepContext, eval_mode
from ..nets.bigan import CodeEncoder, JointDiscriminator
from ..nets.dcgan import DCGANGenerator
from ..nets.mlp import init_normal
from ..regularizers import DiscriminatorTerms, GeneratorTerms, RegularizerSet


class BiGANOptions(AdversarialOptions):
    z_dim: int = Field(64, gt=0, description="latent size (also the encoder's code size)")
    ngf: int = Field(64, gt=0, description="generator width")
    ndf: int = Field(64, gt=0, description="discriminator width (its image branch)")
    nef: int = Field(64, gt=0, description="encoder width")
    d_norm: Literal["batch", "layer", "none"] = Field(
        "none", description="normalisation in D's image branch (batch: D learnt faster than G and E "
                            "could follow in short runs)")
    e_norm: Literal["batch", "layer", "none"] = Field("batch", description="encoder normalisation")
    d_hidden: int = Field(256, gt=0, description="features of D's image and code branches")
    d_dropout: float = Field(0.2, ge=0, lt=1, description="dropout in D's dense layers")
    stochastic: bool = Field(False, description="ALI's Gaussian encoder instead of BiGAN's deterministic one")

    @model_validator(mode="after")
    def _no_ada(self):
        if self.ada is not None:
            raise ValueError("ada: adaptive augmentation would change an image without its "
                             "code, breaking the (image, code) pairs D scores; set ada: null")
        return self


def fixed_with_examples(n: int, examples: dict[str, torch.Tensor],
                        draw: Callable[[int], torch.Tensor]) -> dict[str, Any]:
    """Preview inputs: codes from ``draw`` for a square grid whose last two rows are ``side`` real
    images and their reconstructions (codes only when the grid is too small)."""
    side = math.ceil(math.sqrt(n))
    x = examples.get("x")
    if side >= 3 and x is not None and x.shape[0] >= side:
        return {"z": draw(side * (side - 2)), "x": x[:side]}
    return {"z": draw(n), "x": None}


class BiGAN(AdversarialVariant):
    """DCGAN's G, an encoder E and a D on (image, code) pairs; E inverts G.

    A base class for variants with an inference network: override ``build_networks`` and
    ``build_encoder`` (an encoder with ``forward`` for training and ``mean`` for encoding)."""

    Options = BiGANOptions
    supports = ("images",)
    encodes = True
    options: BiGANOptions

    def __init__(self, options: BiGANOptions, data) -> None:
        super().__init__(options, data)
        self.E = self.build_encoder()
        # D's samples are packed (image, code) vectors: only flat-sample regularizers apply
        self.regularizers = RegularizerSet(self.regularizer_specs(), "points", self.d_scores, options.name)

    def build_networks(self):
        o, info = self.options, self.data_info
        G = DCGANGenerator(o.z_dim, info.image_size, info.channels, o.ngf)
        init_normal(G)
        D = JointDiscriminator(info.image_size, info.channels, o.z_dim, o.ndf, o.d_norm,
                               o.d_hidden, o.d_dropout)
        return G, D

    def build_encoder(self) -> CodeEncoder:
        o, info = self.options, self.data_info
        return CodeEncoder(info.image_size, info.channels, o.z_dim, o.nef, o.e_norm, o.stochastic)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        o = self.options
        g_params = list(self.G.parameters()) + list(self.E.parameters())
        return {"G": torch.optim.Adam(g_params, lr=o.lr_g, betas=o.betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=o.lr_d, betas=o.betas)}

    # -- update rule -------------------------------------------------------------------------
    def pair_scores(self, real: torch.Tensor, z: torch.Tensor, fake: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Packed real pair (x, E(x)), packed fake pair (G(z), z) and D's scores of both."""
        real_pair = self.D.pack(real, self.E(real))
        fake_pair = self.D.pack(fake, z)
        return real_pair, fake_pair, self.D(real_pair), self.D(fake_pair)

    def discriminator_update(self, batches, ctx: StepContext, update_index: int):
        """One D update over ``ctx.accumulate`` micro-batches (E and G held fixed)."""
        opt_d = self.optimizers["D"]
        opt_d.zero_grad(set_to_none=True)
        loss_sum: torch.Tensor | float = 0.0
        micro: list[tuple[torch.Tensor, None]] = []
        for _ in range(ctx.accumulate):
            real = next(batches)["x"]
            z = self.G.sample_latent(real.shape[0], device=real.device)
            with ctx.autocast():
                with torch.no_grad():
                    fake, code = self.G(z), self.E(real)
                real_pair, fake_pair = self.D.pack(real, code), self.D.pack(fake, z)
                real_scores, fake_scores = self.D(real_pair), self.D(fake_pair)
                d_loss = self.loss.d_loss(real_scores, fake_scores)
                terms = self.regularizers.terms("D", update_index, DiscriminatorTerms(
                    self.D, real_pair, fake_pair, None, real_scores, fake_scores))
                total = d_loss + sum(terms.values()) if terms else d_loss
            ctx.backward(total)
            loss_sum = loss_sum + d_loss.detach()
            micro.append((real, None))
        ctx.step(opt_d, "D")
        return loss_sum / ctx.accumulate, micro

    def generator_update(self, micro: list, ctx: StepContext, update_index: int) -> torch.Tensor:
        """One joint G and E update: D's loss with the pairs' labels swapped."""
        opt_g = self.optimizers["G"]
        opt_g.zero_grad(set_to_none=True)
        loss_sum: torch.Tensor | float = 0.0
        for real, _ in micro:
            z = self.G.sample_latent(real.shape[0], device=self._device())
            with ctx.autocast():
                fake = self.G(z)
                _, _, real_scores, fake_scores = self.pair_scores(real, z, fake)
                g_loss = self.loss.d_loss(fake_scores, real_scores)
                terms = self.regularizers.terms("G", update_index, GeneratorTerms(
                    self.G, self.D, z, None, fake, fake_scores))
                total = g_loss + sum(terms.values()) if terms else g_loss
            ctx.backward(total)
            loss_sum = loss_sum + g_loss.detach()
        ctx.step(opt_g, "G")
        if ctx.log_now:  # eval mode: no BatchNorm statistics change, no random numbers drawn
            self.term_logs["recon_mse"] = (self.reconstruct(micro[-1][0]) - micro[-1][0]).pow(2).mean()
        return loss_sum / ctx.accumulate

    # -- inference ---------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        with eval_mode(self.E):
            return self.E.mean(images.to(self._device()))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.from_latent(self.G.sample_latent(n, device=self._device(), generator=generator))

    def fixed_inputs(self, n: int, generator: torch.Generator, examples: dict[str, torch.Tensor]) -> Any:
        return fixed_with_examples(n, examples, lambda k: self.G.sample_latent(
            k, device=self._device(), generator=generator))

    @torch.no_grad()
    def preview(self, fixed: Any) -> torch.Tensor:
        """Samples, then (when the grid has room) real images and their reconstructions."""
        if torch.is_tensor(fixed):
            return self.from_latent(fixed)
        out = self.from_latent(fixed["z"])
        if fixed.get("x") is not None:
            out = torch.cat([out, fixed["x"], self.reconstruct(fixed["x"])])
        return out


@hookimpl
def register_variants(register) -> None:
    register("bigan", BiGAN)
