"""VAE encoders and decoders: DCGAN-shaped convolutional nets for images, MLPs for 2-D points.

The encoder returns the Gaussian posterior's ``(mu, logvar)``. The decoder is a
:class:`~ganzoo.interfaces.Generator`: ``raw(z)`` gives the likelihood's parameters (Bernoulli
logits, or the pre-activation of a Gaussian mean) and ``forward(z)`` the mean in the data's
range, so sampling, previews and EMA treat it like any GAN generator.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from ..interfaces import Generator
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .mlp import activation, init_normal

#: How ``VAEDecoder.forward`` maps raw outputs into the data range.
OUTPUTS = ("sigmoid", "tanh", "linear")


class ConvEncoder(nn.Module):
    """The DCGAN discriminator's body with a 4x4 conv head giving ``2 * z_dim`` numbers."""

    def __init__(self, image_size: int, channels: int, z_dim: int, width: int = 64,
                 norm: str = "batch") -> None:
        super().__init__()
        base = DCGANDiscriminator(image_size, channels, width, norm=norm)
        self.body = base.net[:-1]
        self.head = nn.Conv2d(base.net[-1].in_channels, 2 * z_dim, 4, 1, 0)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.body(x)).flatten(1).chunk(2, dim=1)
        return mu, logvar


class MLPEncoder(nn.Module):
    """Flattened input -> hidden layers -> ``(mu, logvar)``."""

    def __init__(self, in_shape: Sequence[int], z_dim: int, hidden: Sequence[int],
                 act: str = "leaky_relu") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = math.prod(in_shape)
        for h in hidden:
            layers += [nn.Linear(width, h), activation(act)]
            width = h
        layers.append(nn.Linear(width, 2 * z_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.net(x.flatten(1)).chunk(2, dim=1)
        return mu, logvar


class VAEDecoder(Generator):
    """``body`` maps z to raw outputs of the data's shape; ``forward`` maps those to the mean.

    ``output``: ``sigmoid`` (Bernoulli logits; mean ``2 sigmoid(r) - 1`` in [-1, 1]), ``tanh``
    (Gaussian mean ``tanh(r)`` in [-1, 1]) or ``linear`` (Gaussian mean ``r``, for points).
    """

    def __init__(self, body: nn.Module, z_dim: int, out_shape: Sequence[int], output: str) -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"unknown decoder output {output!r}; expected one of {OUTPUTS}")
        self.body, self.z_dim, self.out_shape, self.output = body, z_dim, tuple(out_shape), output

    def raw(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z).reshape(z.shape[0], *self.out_shape)

    def mean(self, raw: torch.Tensor) -> torch.Tensor:
        if self.output == "sigmoid":
            return torch.sigmoid(raw) * 2 - 1
        if self.output == "tanh":
            return torch.tanh(raw)
        return raw

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.mean(self.raw(z))


class _ConvBody(nn.Module):
    """The DCGAN generator without its final tanh."""

    def __init__(self, z_dim: int, image_size: int, channels: int, width: int) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.net = DCGANGenerator(z_dim, image_size, channels, width).net[:-1]
        init_normal(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], self.z_dim, 1, 1))


def conv_decoder(z_dim: int, image_size: int, channels: int, width: int, output: str) -> VAEDecoder:
    return VAEDecoder(_ConvBody(z_dim, image_size, channels, width), z_dim,
                      (channels, image_size, image_size), output)


def mlp_decoder(z_dim: int, out_shape: Sequence[int], hidden: Sequence[int], output: str,
                act: str = "leaky_relu") -> VAEDecoder:
    layers: list[nn.Module] = []
    width = z_dim
    for h in hidden:
        layers += [nn.Linear(width, h), activation(act)]
        width = h
    layers.append(nn.Linear(width, math.prod(out_shape)))
    return VAEDecoder(nn.Sequential(*layers), z_dim, out_shape, output)
