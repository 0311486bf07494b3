"""DCGAN networks (Radford et al. 2016) for any power-of-two image size from 16 to 128.

G: a transposed conv from z to 4x4, then stride-2 transposed convs doubling the size, BatchNorm
and ReLU, tanh at the end. D mirrors it with strided convs and LeakyReLU 0.2; BatchNorm on every
layer but the first (optional, since gradient-penalty critics need per-sample gradients).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import GanzooError
from ..interfaces import Discriminator, Generator


def check_image_size(size: int) -> int:
    if size < 16 or size > 128 or size & (size - 1):
        raise GanzooError(f"DCGAN networks need a power-of-two image size from 16 to 128, got {size}; "
                          "set data.image_size to 16, 32, 64 or 128")
    return int(math.log2(size)) - 2  # number of stride-2 layers


class DCGANGenerator(Generator):
    def __init__(self, z_dim: int, image_size: int, channels: int, ngf: int = 64) -> None:
        super().__init__()
        self.z_dim = z_dim
        n_up = check_image_size(image_size)
        width = ngf * 2 ** (n_up - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, width, 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(width), nn.ReLU(True)]
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


class DCGANDiscriminator(Discriminator):
    def __init__(self, image_size: int, channels: int, ndf: int = 64, norm: str = "batch") -> None:
        super().__init__()
        n_down = check_image_size(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        width, size = ndf, image_size // 2
        for _ in range(n_down - 1):
            layers.append(nn.Conv2d(width, width * 2, 4, 2, 1, bias=norm == "none"))
            size //= 2
            if norm == "batch":
                layers.append(nn.BatchNorm2d(width * 2))
            elif norm == "layer":  # per-sample normalisation, safe with a gradient penalty
                layers.append(nn.GroupNorm(1, width * 2))
            layers.append(nn.LeakyReLU(0.2, True))
            width *= 2
        layers.append(nn.Conv2d(width, 1, 4, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x).view(x.shape[0])
