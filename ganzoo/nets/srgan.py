"""SRGAN's networks (Ledig et al. 2017), at any width and depth.

* :class:`SRResNet`: 9x9 conv + PReLU, ``n_blocks`` residual blocks (conv-BN-PReLU-conv-BN plus
  the input), conv-BN plus a skip from the first layer, then one up-sampling stage per factor of
  2 (conv to 4x the channels, pixel shuffle, PReLU; a factor 3 uses one x3 stage), a 9x9 conv
  and tanh. ``outer_kernel`` sets the first and last convs' size (9 in the paper; on a CPU the
  last one, at full resolution, costs more than the rest of G: 3 is about half the time). ``batch_norm=False`` drops the BN layers (EDSR's and ESRGAN's finding).
* :class:`Upsampler`: the up-sampling stages, by pixel shuffle (Shi et al. 2016, SRGAN) or by
  nearest-neighbour resizing and a conv (ESRGAN's code).
* :class:`SRDiscriminator`: the paper's VGG-style D: conv + LeakyReLU, then blocks of
  conv-BN-LeakyReLU alternating stride 1 and 2 with widths ``ndf, 2 ndf, 4 ndf, 8 ndf``, then a
  dense layer of ``16 ndf`` units (1024 in the paper), LeakyReLU and one logit. The paper flattens
  its fixed 6x6 map into the dense layer; here it is averaged over space first, so any image
  size works.
"""

from __future__ import annotations

import torch
from torch import nn

from ..interfaces import Discriminator


def scale_factors(scale: int) -> list[int]:
    """The up-sampling stages for ``scale``: powers of 2 as x2 stages, 3 as one x3 stage."""
    if scale == 3:
        return [3]
    if scale < 2 or scale & (scale - 1):
        raise ValueError(f"up-sampling factor must be 2, 3, 4, 8 or 16, got {scale}")
    return [2] * (scale.bit_length() - 1)


def _bn(channels: int, on: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if on else nn.Identity()


class ResidualBlock(nn.Module):
    """conv-BN-PReLU-conv-BN plus the input (SRGAN's B residual blocks)."""

    def __init__(self, width: int, batch_norm: bool = True) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), _bn(width, batch_norm), nn.PReLU(width),
            nn.Conv2d(width, width, 3, padding=1), _bn(width, batch_norm))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Upsampler(nn.Sequential):
    """``scale`` times larger: pixel-shuffle stages (SRGAN) or nearest resize + conv (ESRGAN)."""

    def __init__(self, width: int, scale: int, mode: str = "pixel_shuffle") -> None:
        layers: list[nn.Module] = []
        for f in scale_factors(scale):
            if mode == "pixel_shuffle":
                layers += [nn.Conv2d(width, width * f * f, 3, padding=1), nn.PixelShuffle(f), nn.PReLU(width)]
            elif mode == "nearest":
                layers += [nn.Upsample(scale_factor=f, mode="nearest"), nn.Conv2d(width, width, 3, padding=1),
                           nn.LeakyReLU(0.2, inplace=True)]
            else:
                raise ValueError(f"unknown up-sampling mode {mode!r}; use pixel_shuffle or nearest")
        super().__init__(*layers)


class SRResNet(nn.Module):
    """SRGAN's generator: a low-resolution image in [-1, 1] -> ``scale`` times larger, tanh."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, width: int = 64, n_blocks: int = 16,
                 scale: int = 4, batch_norm: bool = True, upsample: str = "pixel_shuffle",
                 outer_kernel: int = 9) -> None:
        super().__init__()
        pad = outer_kernel // 2
        self.head = nn.Sequential(nn.Conv2d(in_channels, width, outer_kernel, padding=pad), nn.PReLU(width))
        self.blocks = nn.Sequential(*[ResidualBlock(width, batch_norm) for _ in range(n_blocks)])
        self.trunk = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), _bn(width, batch_norm))
        self.up = Upsampler(width, scale, upsample)
        self.tail = nn.Conv2d(width, out_channels, outer_kernel, padding=pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        h = h + self.trunk(self.blocks(h))
        return torch.tanh(self.tail(self.up(h)))


class SRDiscriminator(Discriminator):
    """The paper's VGG-style discriminator, one logit per image (see the module docs)."""

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_down: int = 4, batch_norm: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 3, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        width = ndf
        for k in range(2 * n_down - 1):  # stride 2, then (stride 1, stride 2) per width doubling
            stride = 2 if k % 2 == 0 else 1
            out = width * 2 if stride == 1 else width
            layers += [nn.Conv2d(width, out, 3, stride=stride, padding=1), _bn(out, batch_norm),
                       nn.LeakyReLU(0.2, inplace=True)]
            width = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(width, 16 * ndf), nn.LeakyReLU(0.2, inplace=True),
                                  nn.Linear(16 * ndf, 1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3))).squeeze(1)
