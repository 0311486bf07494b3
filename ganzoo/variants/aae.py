"""Adversarial autoencoder (Makhzani et al. 2016): an autoencoder whose codes follow a chosen prior.

An encoder E maps images to codes and a decoder G maps codes back. A discriminator D sees only
codes: draws from the prior p(z) are "real", codes E(x) of data are "fake". Each step:

* D: ``d_steps`` updates of the adversarial loss (pluggable, default ``bce``) on prior draws vs
  E(x) (E fixed);
* E and G together (one optimizer, ``lr_g``): the reconstruction error ``mean (G(E(x)) - x)^2``
  plus ``adv_weight`` times the loss's generator term for E(x) (E tries to pass as the prior).

Once the aggregated posterior of E matches the prior, decoding prior draws gives data: that is
``sample``. Priors (``prior``): ``gaussian`` (N(0, prior_std^2 I)) or ``mixture`` (``components``
Gaussians of std ``prior_std`` whose means lie on a circle of radius ``mixture_radius`` in the
first two code dimensions). ``labels: true`` conditions the prior on the class (a mixture with one
component per class, Makhzani et al. section 2.3): D sees the one-hot class with each code, so
E must put class k's images in component k, and ``sample(n, labels=y)`` decodes from component y.

E is deterministic (the paper's simplest choice); ``encode`` and ``ganzoo encode`` give its codes.
The preview grid shows samples, then two rows of real images and their reconstructions.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from pydantic import Field, model_validator

from ..adversarial import AdversarialOptions, AdversarialVariant
from ..errors import ConfigError
from ..hookspecs import hookimpl
from ..interfaces import StepContext, Widths, eval_mode
from ..nets.bigan import CodeDiscriminator, CodeEncoder
from ..nets.vae import conv_decoder
from ..regularizers import DiscriminatorTerms, GeneratorTerms, RegularizerSet
from .bigan import fixed_with_examples


class AAEOptions(AdversarialOptions):
    z_dim: int = Field(16, gt=0, description="code size")
    width: int = Field(64, gt=0, description="conv encoder/decoder width (DCGAN's ndf/ngf)")
    norm: Literal["batch", "layer", "none"] = Field("batch", description="encoder normalisation")
    d_hidden: Widths = Field([256, 256], min_length=1, description="code discriminator's hidden sizes")
    adv_weight: float = Field(0.1, ge=0, description="weight of E's adversarial term next to the "
                                                   "reconstruction (at 1 E outran D in short runs)")
    d_steps: int = Field(3, gt=0, description="discriminator updates per encoder/decoder update")
    prior: Literal["gaussian", "mixture"] = Field("gaussian", description="the distribution codes are pushed to")
    prior_std: float = Field(1.0, gt=0, description="std of the Gaussian (of each mixture component)")
    components: int = Field(10, ge=2, description="mixture components (labels: one per class instead)")
    mixture_radius: float = Field(4.0, gt=0, description="radius of the circle of component means")
    labels: bool = Field(False, description="label-conditioned prior: class k's codes go to component k")
    lr_g: float = Field(1e-3, gt=0, description="learning rate of the encoder and decoder")
    lr_d: float = Field(1e-3, gt=0)

    @model_validator(mode="after")
    def _consistent(self):
        if self.ada is not None:
            raise ValueError("ada: D of an adversarial autoencoder scores codes, not images; "
                             "set ada: null")
        if self.labels and self.prior != "mixture":
            raise ValueError("labels: a label-conditioned prior is a mixture with one component "
                             "per class; set prior: mixture (or labels: false)")
        return self


class AAE(AdversarialVariant):
    """Autoencoder whose codes a discriminator pushes to a prior; samples decode prior draws."""

    Options = AAEOptions
    supports = ("images",)
    encodes = True
    options: AAEOptions

    def __init__(self, options: AAEOptions, data) -> None:
        if options.labels and not data.num_classes:
            raise ConfigError(f"variant.labels: true needs a labelled data set, but '{data.name}' has "
                              f"no classes; set labels: false", key="variant.labels")
        super().__init__(options, data)
        self.E = CodeEncoder(data.image_size, data.channels, options.z_dim, options.width, options.norm)
        # D's samples are codes: flat vectors, so only regularizers of flat samples apply
        self.regularizers = RegularizerSet(self.regularizer_specs(), "points", self.d_scores, options.name)
        self.register_buffer("prior_means", self.component_means(), persistent=False)

    def build_networks(self):
        o, info = self.options, self.data_info
        G = conv_decoder(o.z_dim, info.image_size, info.channels, o.width, "tanh")
        D = CodeDiscriminator(o.z_dim, o.d_hidden, info.num_classes if o.labels else None)
        return G, D

    def component_means(self) -> torch.Tensor:
        """(K, z_dim) mixture means on a circle in the first two dimensions (K = 0: Gaussian)."""
        o = self.options
        if o.prior == "gaussian":
            return torch.zeros(0, o.z_dim)
        k = self.data_info.num_classes if o.labels else o.components
        angle = 2 * math.pi * torch.arange(k, dtype=torch.float32) / k
        means = torch.zeros(k, o.z_dim)
        means[:, 0], means[:, 1 % o.z_dim] = o.mixture_radius * angle.cos(), o.mixture_radius * angle.sin()
        return means

    def prior_draw(self, n: int, labels: torch.Tensor | None = None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` codes from the prior; for a mixture, component ``labels`` (default: uniform)."""
        z = torch.randn(n, self.options.z_dim, generator=generator).to(self._device()) * self.options.prior_std
        if self.options.prior == "gaussian":
            return z
        if labels is None:
            labels = torch.randint(len(self.prior_means), (n,), generator=generator)
        return z + self.prior_means[labels.to(self.prior_means.device).long()]

    def d_labels(self, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """The classes D sees with the codes (label-conditioned prior only)."""
        return batch["y"] if self.options.labels else None

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        o = self.options
        params = list(self.G.parameters()) + list(self.E.parameters())
        return {"G": torch.optim.Adam(params, lr=o.lr_g, betas=o.betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=o.lr_d, betas=o.betas)}

    # -- update rule -------------------------------------------------------------------------
    def discriminator_update(self, batches, ctx: StepContext, update_index: int):
        """One D update: prior draws are real, codes of real images fake (E held fixed)."""
        opt_d = self.optimizers["D"]
        opt_d.zero_grad(set_to_none=True)
        loss_sum: torch.Tensor | float = 0.0
        micro: list[tuple[torch.Tensor, torch.Tensor | None]] = []
        for _ in range(ctx.accumulate):
            batch = next(batches)
            x, labels = batch["x"], self.d_labels(batch)
            prior = self.prior_draw(x.shape[0], labels)
            with ctx.autocast():
                with torch.no_grad():
                    code = self.E(x)
                real_scores, fake_scores = self.D(prior, labels), self.D(code, labels)
                d_loss = self.loss.d_loss(real_scores, fake_scores)
                terms = self.regularizers.terms("D", update_index, DiscriminatorTerms(
                    self.D, prior, code, labels, real_scores, fake_scores))
                total = d_loss + sum(terms.values()) if terms else d_loss
            ctx.backward(total)
            loss_sum = loss_sum + d_loss.detach()
            micro.append((x, labels))
        ctx.step(opt_d, "D")
        return loss_sum / ctx.accumulate, micro

    def generator_update(self, micro: list, ctx: StepContext, update_index: int) -> torch.Tensor:
        """One E and G update: reconstruction plus ``adv_weight`` x the adversarial term."""
        opt_g = self.optimizers["G"]
        opt_g.zero_grad(set_to_none=True)
        loss_sum: torch.Tensor | float = 0.0
        recon_sum: torch.Tensor | float = 0.0
        for x, labels in micro:
            with ctx.autocast():
                code = self.E(x)
                recon = (self.G(code).float() - x.float()).pow(2).mean()
                fake_scores = self.D(code, labels)
                real_scores = None
                if self.loss.uses_real_scores_in_g:
                    with torch.no_grad():
                        real_scores = self.D(self.prior_draw(x.shape[0], labels), labels)
                g_loss = self.loss.g_loss(fake_scores, real_scores)
                terms = self.regularizers.terms("G", update_index, GeneratorTerms(
                    self.G, self.D, code, labels, x, fake_scores))
                total = recon + self.options.adv_weight * g_loss + sum(terms.values())
            ctx.backward(total)
            loss_sum, recon_sum = loss_sum + g_loss.detach(), recon_sum + recon.detach()
        ctx.step(opt_g, "G")
        self.term_logs["loss_recon"] = recon_sum / ctx.accumulate
        return loss_sum / ctx.accumulate

    # -- inference ---------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        with eval_mode(self.E):
            return self.E(images.to(self._device()))

    def latent_codes(self, n: int, generator: torch.Generator | None = None,
                     psi: float | None = None) -> torch.Tensor:
        """Prior draws (``ganzoo interpolate`` moves between them)."""
        if psi is not None:
            raise NotImplementedError
        return self.prior_draw(n, generator=generator)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        """Decoded prior draws; with a mixture prior, ``labels`` picks each one's component."""
        return self.from_latent(self.prior_draw(n, labels, generator))

    def fixed_inputs(self, n: int, generator: torch.Generator, examples: dict[str, torch.Tensor]) -> Any:
        return fixed_with_examples(n, examples, lambda k: self.prior_draw(k, generator=generator))

    @torch.no_grad()
    def preview(self, fixed: Any) -> torch.Tensor:
        """Samples, then (when the grid has room) real images and their reconstructions."""
        out = self.from_latent(fixed["z"])
        if fixed.get("x") is not None:
            out = torch.cat([out, fixed["x"], self.reconstruct(fixed["x"])])
        return out


@hookimpl
def register_variants(register) -> None:
    register("aae", AAE)
