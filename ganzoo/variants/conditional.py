"""Class-conditional GAN (Mirza & Osindero 2014) with DCGAN networks and projection or concat D.

* G embeds the label and concatenates it with z (``g_conditioning: concat``, default) or scales
  z by it (``multiply``); see :mod:`ganzoo.nets.conditional`.
* D conditions by ``projection`` (Miyato & Koyama 2018, default) or by one-hot label maps
  concatenated to the input (``concat``): ``d_conditioning``.
* The loss is pluggable (default ``bce``); ``hinge`` with ``spectral_norm: true`` is the
  projection paper's setting.

Real batches supply the labels: D sees (real x, y) and (G(z, y), y) for the same y, and G is
trained on those labels too, so classes are drawn in their data frequencies. ``sample`` without
labels cycles through the classes (balanced); the preview grid has one row per class.
Needs a labelled data set (``DataInfo.num_classes``).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from pydantic import Field

from ..adversarial import AdversarialOptions, AdversarialVariant
from ..errors import GanzooError
from ..hookspecs import hookimpl
from ..interfaces import eval_mode
from ..nets.conditional import ConditionalDCGANDiscriminator, ConditionalDCGANGenerator

#: The preview grid shows at most this many classes (one row each, as many columns as rows).
MAX_PREVIEW_CLASSES = 16


class ConditionalOptions(AdversarialOptions):
    ngf: int = Field(64, gt=0, description="generator width")
    ndf: int = Field(64, gt=0, description="discriminator width")
    d_norm: Literal["batch", "layer", "none"] = "batch"
    spectral_norm: bool = Field(False, description="spectral normalisation on D's layers")
    g_conditioning: Literal["concat", "multiply", "cbn"] = Field(
        "concat", description="G input [z, embed(y)] or z * embed(y); cbn: class-conditional BatchNorm")
    embed_dim: int = Field(32, gt=0, description="G's label embedding size (concat only)")
    d_conditioning: Literal["projection", "concat"] = Field(
        "projection", description="projection (Miyato & Koyama) or one-hot maps concatenated to x")


class ConditionalGAN(AdversarialVariant):
    """A class-conditional DCGAN: labels enter G (concat or conditional BatchNorm) and D (concat
    or projection)."""

    Options = ConditionalOptions
    supports = ("images",)
    #: ``ganzoo sample --class`` and the metrics pass labels to ``sample``.
    conditional = True
    #: G takes float (N, K) class weights too (mixes of class embeddings)
    interpolates_classes = True
    options: ConditionalOptions

    def __init__(self, options: ConditionalOptions, data) -> None:
        if not data.num_classes:
            raise GanzooError(
                f"variant '{options.name}' needs a labelled data set, but data set '{data.name}' has "
                f"no class labels; use a labelled one (e.g. data.name: shapes or mnist) or an "
                f"unconditional variant (e.g. dcgan)")
        self.num_classes = int(data.num_classes)
        super().__init__(options, data)

    def build_networks(self):
        o, info, k = self.options, self.data_info, self.num_classes
        G = ConditionalDCGANGenerator(o.z_dim, info.image_size, info.channels, k, o.ngf,
                                      conditioning=o.g_conditioning, embed_dim=o.embed_dim)
        D = ConditionalDCGANDiscriminator(info.image_size, info.channels, k, o.ndf, norm=o.d_norm,
                                          conditioning=o.d_conditioning, spectral_norm=o.spectral_norm)
        return G, D

    # -- sampling ----------------------------------------------------------------------------
    def _labels(self, n: int, labels: torch.Tensor | None, device: torch.device) -> torch.Tensor:
        if labels is None:  # balanced: 0, 1, ..., K-1, 0, 1, ...
            return torch.arange(n, device=device) % self.num_classes
        labels = torch.as_tensor(labels).long().reshape(-1).to(device)
        if labels.numel() != n:
            raise GanzooError(f"{labels.numel()} labels given for {n} samples")
        if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise GanzooError(f"class labels must lie in 0..{self.num_classes - 1} for data set "
                              f"'{self.data_info.name}', got {labels.min().item()}..{labels.max().item()}")
        return labels

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` images in [-1, 1] of ``labels`` (default: every class in turn)."""
        device = self._device()
        z = self.G.sample_latent(n, device=device, generator=generator)
        return self.preview({"z": z, "labels": self._labels(n, labels, device)})

    def fixed_inputs(self, n: int, generator: torch.Generator, examples: dict[str, torch.Tensor]) -> Any:
        """A K x K grid: row k holds K samples of class k (the trainer tiles ceil(sqrt(N))
        images per row, so a square count puts each class on its own row); ``n`` is ignored.
        At most :data:`MAX_PREVIEW_CLASSES` classes are shown."""
        k = min(self.num_classes, MAX_PREVIEW_CLASSES)
        device = self._device()
        z = self.G.sample_latent(k * k, device=device, generator=generator)
        return {"z": z, "labels": torch.arange(k * k, device=device) // k}

    @torch.no_grad()
    def preview(self, fixed: Any) -> torch.Tensor:
        with eval_mode(self.generator_net()):
            return self.generator_net()(fixed["z"], fixed["labels"])


@hookimpl
def register_variants(register) -> None:
    register("conditional", ConditionalGAN)
