"""Networks for variants that encode (BiGAN/ALI, AAE): an image encoder, a discriminator on
(image, code) pairs and a discriminator on codes alone.

* :class:`CodeEncoder`: the DCGAN discriminator's body with a 4x4 conv head to a code
  (deterministic, BiGAN and AAE) or to a Gaussian's ``(mu, logvar)`` (``stochastic``, ALI).
* :class:`JointDiscriminator`: BiGAN's D. It scores a *pair* packed into one flat vector per item
  (:meth:`~JointDiscriminator.pack`: the flattened image, then the code), so gradient penalties and
  the other regularizers see an ordinary D of flat samples: a penalty on the joint space.
* :class:`CodeDiscriminator`: AAE's D, an MLP on codes, with the one-hot class appended when the
  prior is label-conditioned.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..interfaces import Discriminator
from .dcgan import DCGANDiscriminator
from .mlp import init_normal


class CodeEncoder(nn.Module):
    """Image -> code with the DCGAN discriminator's body; ``stochastic`` heads give ``(mu, logvar)``
    and ``forward`` then returns a reparameterised draw (``mean`` returns ``mu``)."""

    def __init__(self, image_size: int, channels: int, z_dim: int, width: int = 64,
                 norm: str = "batch", stochastic: bool = False) -> None:
        super().__init__()
        base = DCGANDiscriminator(image_size, channels, width, norm=norm)
        self.body = base.net[:-1]
        self.z_dim, self.stochastic = z_dim, stochastic
        self.head = nn.Conv2d(base.net[-1].in_channels, z_dim * (2 if stochastic else 1), 4, 1, 0)
        init_normal(self)

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        """The code of ``x`` without noise (the posterior mean when ``stochastic``)."""
        return self.head(self.body(x)).flatten(1)[:, :self.z_dim]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.body(x)).flatten(1)
        if not self.stochastic:
            return out
        mu, logvar = out.chunk(2, dim=1)
        return mu + torch.exp(0.5 * logvar.clamp(-10, 10)) * torch.randn_like(mu)


class JointDiscriminator(Discriminator):
    """D(x, z): a conv branch on the image (DCGAN body to 4x4, then a 4x4 conv to ``hidden``
    features), an MLP branch on the code, and an MLP on both (dropout ``dropout`` in each, as ALI)."""

    def __init__(self, image_size: int, channels: int, z_dim: int, ndf: int = 64,
                 norm: str = "batch", hidden: int = 256, dropout: float = 0.2) -> None:
        super().__init__()
        self.image_shape, self.z_dim = (channels, image_size, image_size), z_dim
        base = DCGANDiscriminator(image_size, channels, ndf, norm=norm)
        act = nn.LeakyReLU(0.2)
        self.x_branch = nn.Sequential(*base.net[:-1], nn.Conv2d(base.net[-1].in_channels, hidden, 4, 1, 0),
                                      nn.Flatten(), act, nn.Dropout(dropout))
        self.z_branch = nn.Sequential(nn.Linear(z_dim, hidden), act, nn.Dropout(dropout),
                                      nn.Linear(hidden, hidden), act, nn.Dropout(dropout))
        self.joint = nn.Sequential(nn.Linear(2 * hidden, 2 * hidden), act, nn.Dropout(dropout),
                                   nn.Linear(2 * hidden, 1))
        init_normal(self)

    @staticmethod
    def pack(x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """One flat vector per item: the image's pixels, then its code."""
        return torch.cat([x.flatten(1), z.flatten(1).to(x.dtype)], dim=1)

    def forward(self, pair: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        n, pixels = pair.shape[0], math.prod(self.image_shape)
        x = pair[:, :pixels].reshape(n, *self.image_shape)
        h = torch.cat([self.x_branch(x), self.z_branch(pair[:, pixels:])], dim=1)
        return self.joint(h).view(n)


class CodeDiscriminator(Discriminator):
    """An MLP on codes (``(N, z_dim)``); with ``num_classes`` the one-hot label is appended, so a
    label-conditioned prior is matched class by class."""

    def __init__(self, z_dim: int, hidden: Sequence[int], num_classes: int | None = None) -> None:
        super().__init__()
        self.num_classes = num_classes
        width = z_dim + (num_classes or 0)
        layers: list[nn.Module] = []
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            z = torch.cat([z, F.one_hot(labels.long(), self.num_classes).to(z.dtype)], dim=1)
        return self.net(z).squeeze(-1)
