"""BigGAN (Brock et al. 2019): a class-conditional GAN of the SAGAN family, at small scale.

* G: residual up-blocks, class-conditional BatchNorm fed a shared class embedding and a chunk of
  z per block (hierarchical latents), self-attention at ``attention_resolution``
  (:mod:`ganzoo.nets.biggan`);
* D: residual down-blocks, global sum pooling and a projection head;
* spectral normalisation in both nets, the ``hinge`` loss, Adam betas (0, 0.999) with eps 1e-6,
  ``d_steps`` D updates per G update, and BigGAN's orthogonal regularization of G (the ``ortho``
  regularizer, weight ``ortho_weight``; 0 turns it off);
* a moving average of G's weights by default (``default_ema``; an ``ema:`` block in the run
  config overrides it);
* the truncation trick: :meth:`BigGAN.sample_truncated` draws z from a normal truncated at
  ``threshold`` (values beyond it are redrawn), trading variety for fidelity.

Labels, balanced sampling and the one-row-per-class preview grid are the conditional GAN's
(:class:`ganzoo.variants.conditional.ConditionalGAN`). Needs a labelled data set.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field

from ..adversarial import AdversarialOptions
from ..errors import GanzooError
from ..hookspecs import hookimpl
from ..nets.biggan import BigGANDiscriminator, BigGANGenerator
from .conditional import ConditionalGAN


class BigGANOptions(AdversarialOptions):
    z_dim: int = Field(120, gt=0, description="latent size, split into one chunk per G block plus "
                                              "one for G's input layer")
    loss: str = Field("hinge", description="adversarial loss: see 'ganzoo list losses'")
    lr_g: float = Field(2e-4, gt=0, description="Adam learning rate of G")
    lr_d: float = Field(2e-4, gt=0, description="Adam learning rate of D")
    betas: tuple[float, float] = Field((0.0, 0.999), description="Adam betas")
    adam_eps: float = Field(1e-6, gt=0, description="Adam epsilon")
    d_steps: int = Field(2, gt=0, description="discriminator updates per generator update")
    g_ch: int = Field(32, gt=0, description="G's base width (its finest block; coarser ones x2 "
                                            "per halving, at most x8)")
    d_ch: int = Field(32, gt=0, description="D's base width (its first block; deeper ones x2 "
                                            "per halving, at most x8)")
    shared_dim: int = Field(128, gt=0, description="size of G's shared class embedding")
    attention_resolution: int | None = Field(
        16, description="feature-map size of the self-attention block in G and D "
                        "(8 .. image_size / 2; null: no attention)")
    ortho_weight: float = Field(1e-4, ge=0, description="weight of the orthogonal regularization "
                                                        "of G's weights (0: off)")


class BigGAN(ConditionalGAN):
    """Class-conditional BigGAN: residual nets, conditional BatchNorm, self-attention, projection
    D, spectral norm, hinge loss, orthogonal regularization and G's moving average."""

    Options = BigGANOptions
    options: BigGANOptions  # type: ignore[assignment]
    #: BigGAN samples from a moving average of G (the paper starts it after 20k of ~150k+
    #: steps; our runs are a few thousand steps long)
    default_ema = {"decay": 0.999, "start": 1000}
    #: ``sample_truncated`` draws z from a truncated normal (psi is the threshold)
    truncation = "z"
    #: G's shared class embedding takes float (N, K) class weights (``embed_labels``)
    interpolates_classes = True

    def regularizer_specs(self) -> list[dict[str, Any]]:
        """``variant.regularizers`` plus ``ortho`` weighted by ``ortho_weight`` (unless listed
        there, or the weight is 0)."""
        specs = super().regularizer_specs()
        weight = self.options.ortho_weight
        if weight > 0 and not any(spec["name"] == "ortho" for spec in specs):
            specs.append({"name": "ortho", "weight": weight})
        return specs

    def build_networks(self):
        o, info, k = self.options, self.data_info, self.num_classes
        G = BigGANGenerator(o.z_dim, info.image_size, info.channels, k, o.g_ch, o.shared_dim,
                            o.attention_resolution)
        D = BigGANDiscriminator(info.image_size, info.channels, k, o.d_ch, o.attention_resolution)
        return G, D

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        o = self.options
        return {"G": torch.optim.Adam(self.G.parameters(), lr=o.lr_g, betas=o.betas, eps=o.adam_eps),
                "D": torch.optim.Adam(self.D.parameters(), lr=o.lr_d, betas=o.betas, eps=o.adam_eps)}

    # -- the truncation trick ----------------------------------------------------------------
    @torch.no_grad()
    def sample_truncated(self, n: int, psi: float, generator: torch.Generator | None = None,
                         labels: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` images of ``labels`` (default: every class in turn) from z ~ N(0, I) truncated
        to ``[-psi, psi]`` (psi: the threshold): smaller ones give typical, less varied images."""
        device = self._device()
        z = self.latent_codes(n, generator, psi)
        return self.preview({"z": z, "labels": self._labels(n, labels, device)})

    def latent_codes(self, n: int, generator: torch.Generator | None = None,
                     psi: float | None = None) -> torch.Tensor:
        """z ~ N(0, I), or with ``psi`` truncated at +-psi (:func:`truncated_normal`)."""
        if psi is None:
            return super().latent_codes(n, generator)
        return truncated_normal(n, self.G.z_dim, psi, generator).to(self._device())


def truncated_normal(n: int, dim: int, threshold: float,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """``(n, dim)`` draws from N(0, 1) with every value beyond ``+-threshold`` redrawn until
    none is (on ``generator``'s device, the CPU without one)."""
    if not threshold > 0:
        raise GanzooError(f"the truncation threshold must be positive, got {threshold}")
    device = generator.device if generator is not None else torch.device("cpu")
    z = torch.randn(n, dim, generator=generator, device=device)
    outside = z.abs() > threshold
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=generator, device=device)
        outside = z.abs() > threshold
    return z


@hookimpl
def register_variants(register) -> None:
    register("biggan", BigGAN)
