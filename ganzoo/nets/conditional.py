"""Class-conditional DCGAN networks.

G: a label embedding joins the latent code before the DCGAN generator, either concatenated
(``z' = [z, e(y)]``, cGAN of Mirza & Osindero) or multiplied elementwise (``z' = z * e(y)``, as in
many AC-GAN implementations); or (``cbn``) every BatchNorm gets per-class gains and biases, as in
the projection paper's generator. D conditions in one of two ways:

* ``projection`` (Miyato & Koyama 2018): ``D(x, y) = psi(h) + <e(y), phi(h)>`` where ``h`` is
  the DCGAN discriminator's last 4x4 feature map, ``psi`` its final 4x4 convolution and
  ``phi(h)`` the sum of ``h`` over positions (the paper's global sum pooling: class evidence
  counts wherever in the image it is);
* ``concat``: one-hot label maps are stacked onto the image channels at the input.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..interfaces import Discriminator, Generator
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .mlp import init_normal


#: init std of G's label embedding in ``concat`` mode (z ~ N(0, 1)); see the note in __init__
CONCAT_EMBED_STD = 0.1


def _need_labels(labels: torch.Tensor | None, who: str) -> torch.Tensor:
    if labels is None:
        raise ValueError(f"the conditional {who} needs class labels")
    return labels.long().reshape(-1)


def is_soft(labels: torch.Tensor | None) -> bool:
    """Whether ``labels`` are class weights: a floating (N, K) tensor, one mix per sample."""
    return labels is not None and labels.is_floating_point() and labels.dim() == 2


def embed_labels(embedding: nn.Embedding, labels: torch.Tensor | None, who: str = "generator") -> torch.Tensor:
    """``embedding`` of int labels, or of class weights (N, K) the same mix of its rows
    (``weights @ embedding.weight``): a one-hot row gives exactly that class's embedding, so
    generators can move between classes (``ganzoo interpolate --classes A B``)."""
    if is_soft(labels):
        if labels.shape[1] != embedding.num_embeddings:
            raise ValueError(f"class weights have {labels.shape[1]} columns for "
                             f"{embedding.num_embeddings} classes")
        return labels.to(embedding.weight.dtype) @ embedding.weight
    return embedding(_need_labels(labels, who).to(embedding.weight.device))


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm without its own affine; per-class gain and bias (de Vries et al. 2017)."""

    def __init__(self, features: int, num_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(features, affine=False)
        self.gain = nn.Embedding(num_classes, features)
        self.bias = nn.Embedding(num_classes, features)
        nn.init.normal_(self.gain.weight, 1.0, 0.02)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``labels``: int classes (N,) or class weights (N, K) (see :func:`embed_labels`)."""
        h = self.bn(x)
        gain, bias = embed_labels(self.gain, labels), embed_labels(self.bias, labels)
        return h * gain[:, :, None, None].to(h.dtype) + bias[:, :, None, None].to(h.dtype)


class ConditionalDCGANGenerator(Generator):
    """DCGAN generator fed ``[z, e(y)]`` (``concat``) or ``z * e(y)`` (``multiply``), or with
    every BatchNorm made class-conditional (``cbn``: per-class gains and biases)."""

    def __init__(self, z_dim: int, image_size: int, channels: int, num_classes: int, ngf: int = 64,
                 conditioning: str = "concat", embed_dim: int = 32) -> None:
        super().__init__()
        if conditioning not in ("concat", "multiply", "cbn"):
            raise ValueError(f"unknown generator conditioning {conditioning!r}")
        self.z_dim, self.num_classes, self.conditioning = z_dim, num_classes, conditioning
        if conditioning != "cbn":
            self.embed = nn.Embedding(num_classes, embed_dim if conditioning == "concat" else z_dim)
        trunk_in = z_dim + embed_dim if conditioning == "concat" else z_dim
        self.trunk = DCGANGenerator(trunk_in, image_size, channels, ngf)
        init_normal(self.trunk)
        if conditioning == "cbn":  # swap the trunk's BatchNorms for class-conditional ones
            for i, m in enumerate(self.trunk.net):
                if isinstance(m, nn.BatchNorm2d):
                    self.trunk.net[i] = ConditionalBatchNorm2d(m.num_features, num_classes)
        elif conditioning == "multiply":  # e ~ N(1, 0.5): z keeps its scale and classes start apart
            nn.init.normal_(self.embed.weight, 1.0, 0.5)
        else:
            # e ~ N(0, 0.1^2), well below z's scale. The label code is the same for every sample
            # of a class, so what the first (BatchNorm'd) layer makes of it is variance that z
            # does not contribute: with e ~ N(0, 1) its share grows quickly (Adam moves its
            # weights coherently), BatchNorm rescales the sum, and z's share is squeezed out:
            # G ignored z and drew one image per class (it did so even with a constant label).
            nn.init.normal_(self.embed.weight, 0.0, CONCAT_EMBED_STD)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """``labels``: int classes (N,), or float class weights (N, K) mixing the classes'
        embeddings (conditional BatchNorm: their gains and biases)."""
        y = labels.to(z.device) if is_soft(labels) else _need_labels(labels, "generator").to(z.device)
        if self.conditioning == "cbn":
            h = z.view(z.shape[0], self.z_dim, 1, 1)
            for m in self.trunk.net:
                h = m(h, y) if isinstance(m, ConditionalBatchNorm2d) else m(h)
            return h
        e = embed_labels(self.embed, y).to(z.dtype)
        return self.trunk(torch.cat([z, e], dim=1) if self.conditioning == "concat" else z * e)


class ConditionalDCGANDiscriminator(Discriminator):
    """DCGAN discriminator with ``projection`` or input ``concat`` label conditioning."""

    def __init__(self, image_size: int, channels: int, num_classes: int, ndf: int = 64,
                 norm: str = "batch", conditioning: str = "projection", spectral_norm: bool = False) -> None:
        super().__init__()
        if conditioning not in ("projection", "concat"):
            raise ValueError(f"unknown discriminator conditioning {conditioning!r}")
        self.num_classes, self.conditioning = num_classes, conditioning
        in_ch = channels + (num_classes if conditioning == "concat" else 0)
        base = DCGANDiscriminator(image_size, in_ch, ndf, norm=norm)
        self.features = base.net[:-1]      # phi: ... -> (N, W, 4, 4)
        self.head = base.net[-1]           # psi: 4x4 conv -> (N, 1, 1, 1)
        init_normal(self)
        if conditioning == "projection":
            self.embed = nn.Embedding(num_classes, self.head.in_channels)
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        if spectral_norm:  # after the init: it reparametrises the weights it wraps
            for m in list(self.modules()):
                if isinstance(m, (nn.Conv2d, nn.Embedding)):
                    nn.utils.parametrizations.spectral_norm(m)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        y = _need_labels(labels, "discriminator").to(x.device)
        n = x.shape[0]
        if self.conditioning == "concat":
            onehot = F.one_hot(y, self.num_classes).to(x.dtype)
            x = torch.cat([x, onehot[:, :, None, None].expand(-1, -1, *x.shape[-2:])], dim=1)
        h = self.features(x)
        score = self.head(h).view(n)
        if self.conditioning == "projection":  # phi(x): h summed over positions, as in the paper
            score = score + (self.embed(y).to(h.dtype) * h.sum(dim=(2, 3))).sum(dim=1)
        return score
