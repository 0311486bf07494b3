"""Context-encoder networks (Pathak et al. 2016) for filling a hole, at any power-of-2 depth.

* :class:`ContextEncoder`: an encoder of 4x4 stride-2 convs (LeakyReLU 0.2, BN after the first)
  down to a small map, the paper's channel-wise fully connected layer (each channel's map mixed
  over all positions by its own dense layer, then a 1x1 conv across channels: information
  reaches the hole from the whole image at a fraction of a full dense layer's weights), and a
  decoder of 4x4 stride-2 transposed convs (ReLU, BN) back to the image size, tanh. The input
  is the image with the hole blanked plus the mask as one more channel, so the network knows
  where to fill (Pathak's centre-only model needed no mask; arbitrary holes do).
* :class:`ContextDiscriminator`: 4x4 stride-2 convs (LeakyReLU 0.2, BN after the first) and a
  last conv to one channel averaged over space: one logit per image.
"""

from __future__ import annotations

import torch
from torch import nn

from ..interfaces import Discriminator


def halvings(size: int, smallest: int = 4) -> int:
    """How many stride-2 layers take ``size`` down to at least ``smallest`` (each must divide)."""
    k = 0
    while size % 2 == 0 and size // 2 >= smallest:
        size //= 2
        k += 1
    return k


class ChannelwiseFC(nn.Module):
    """Each channel's (H, W) map through its own dense layer, then a 1x1 conv across channels."""

    def __init__(self, channels: int, positions: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(channels, positions, positions) / positions ** 0.5)
        self.bias = nn.Parameter(torch.zeros(channels, positions))
        self.mix = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        flat = torch.einsum("ncp,cpq->ncq", x.reshape(n, c, h * w), self.weight) + self.bias
        return self.mix(flat.reshape(n, c, h, w))


def _widths(ngf: int, k: int) -> list[int]:
    return [min(ngf * 2 ** i, 8 * ngf) for i in range(k)]


class ContextEncoder(nn.Module):
    """(image with hole, mask) -> a full image in [-1, 1]; the variant keeps the known pixels."""

    def __init__(self, in_channels: int = 4, out_channels: int = 3, ngf: int = 64, image_size: int = 64) -> None:
        super().__init__()
        k = halvings(image_size)
        if k < 1:
            raise ValueError(f"image size {image_size} cannot be halved; use a multiple of 8")
        widths = _widths(ngf, k)
        enc: list[nn.Module] = []
        cin = in_channels
        for i, w in enumerate(widths):
            enc += [nn.Conv2d(cin, w, 4, 2, 1)] + ([nn.BatchNorm2d(w)] if i else []) + [nn.LeakyReLU(0.2, True)]
            cin = w
        self.encoder = nn.Sequential(*enc)
        side = image_size // 2 ** k
        self.bottleneck = nn.Sequential(ChannelwiseFC(cin, side * side), nn.ReLU(True))
        dec: list[nn.Module] = []
        for w in reversed([out_channels] + widths[:-1]):
            last = len(dec) == 3 * (k - 1)
            dec += [nn.ConvTranspose2d(cin, w, 4, 2, 1)] + ([] if last else [nn.BatchNorm2d(w), nn.ReLU(True)])
            cin = w
        self.decoder = nn.Sequential(*dec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.decoder(self.bottleneck(self.encoder(x))))


class ContextDiscriminator(Discriminator):
    """A DCGAN-style image discriminator, one logit per image."""

    def __init__(self, in_channels: int = 3, ndf: int = 64, image_size: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for i, w in enumerate(_widths(ndf, max(1, halvings(image_size)))):
            layers += [nn.Conv2d(cin, w, 4, 2, 1)] + ([nn.BatchNorm2d(w)] if i else []) + [nn.LeakyReLU(0.2, True)]
            cin = w
        layers.append(nn.Conv2d(cin, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x).mean(dim=(1, 2, 3))
