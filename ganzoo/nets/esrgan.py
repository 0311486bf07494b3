"""ESRGAN's generator (Wang et al. 2018): residual-in-residual dense blocks, no batch norm.

* :class:`DenseBlock`: five 3x3 convs, each seeing the block input and every earlier output
  (growth ``growth`` channels, LeakyReLU 0.2); the last conv's output, scaled by ``beta`` = 0.2
  (residual scaling), is added to the input.
* :class:`RRDB`: three dense blocks in sequence, the result scaled by ``beta`` and added to the
  input.
* :class:`RRDBNet`: conv, ``n_blocks`` RRDBs, conv, plus the first conv's output (long skip), then
  up-sampling (ESRGAN's code: nearest resize + conv + LeakyReLU per x2; pixel shuffle as an
  option), a conv + LeakyReLU and a last conv. The output is not squashed (no tanh): the variant
  clamps its predictions to [-1, 1].

The discriminator is SRGAN's VGG-style one (:class:`ganzoo.nets.srgan.SRDiscriminator`), as in
the paper; ESRGAN changes what it is trained for (relativistic average), not its layers.
"""

from __future__ import annotations

import torch
from torch import nn

from .srgan import Upsampler


class DenseBlock(nn.Module):
    """Five densely connected convs with residual scaling (no batch norm)."""

    def __init__(self, width: int, growth: int, beta: float = 0.2) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(width + k * growth, growth if k < 4 else width, 3, padding=1) for k in range(5))
        self.act = nn.LeakyReLU(0.2, inplace=True)
        self.beta = beta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for conv in self.convs[:-1]:
            feats.append(self.act(conv(torch.cat(feats, 1))))
        return x + self.beta * self.convs[-1](torch.cat(feats, 1))


class RRDB(nn.Module):
    """Residual in residual dense block: three dense blocks, scaled, plus the input."""

    def __init__(self, width: int, growth: int, beta: float = 0.2) -> None:
        super().__init__()
        self.body = nn.Sequential(*[DenseBlock(width, growth, beta) for _ in range(3)])
        self.beta = beta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.beta * self.body(x)


class RRDBNet(nn.Module):
    """ESRGAN's generator: a low-resolution image -> ``scale`` times larger (unbounded output)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, width: int = 64, n_blocks: int = 23,
                 growth: int = 32, scale: int = 4, upsample: str = "nearest", beta: float = 0.2) -> None:
        super().__init__()
        self.head = nn.Conv2d(in_channels, width, 3, padding=1)
        self.blocks = nn.Sequential(*[RRDB(width, growth, beta) for _ in range(n_blocks)])
        self.trunk = nn.Conv2d(width, width, 3, padding=1)
        self.up = Upsampler(width, scale, upsample)
        self.tail = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.LeakyReLU(0.2, inplace=True),
                                  nn.Conv2d(width, out_channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        h = h + self.trunk(self.blocks(h))
        return self.tail(self.up(h))
