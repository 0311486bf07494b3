"""pix2pix's U-Net generator (Isola et al. 2017), as in the authors' PyTorch code.

``num_downs`` stride-2 4x4 convolutions take the input down to 1x1 at the default depth
(log2 of the side); the decoder mirrors them with 4x4 transposed convolutions and concatenates
each encoder level's output (the skip connections that carry the input's detail to the output).
Widths ``ngf * min(2^i, 8)``. Encoder: LeakyReLU 0.2 before each conv but the first, a norm
after each but the first and the innermost; decoder: ReLU before each transposed conv, a norm
after each but the outermost (which ends in tanh), and dropout 0.5 in the ``n_dropout`` blocks
just outside the innermost: the only noise source of pix2pix's generator (no z).
Convolutions followed by BatchNorm have no bias, as in the reference.
"""

from __future__ import annotations

import torch
from torch import nn


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return nn.Identity()


def default_depth(height: int, width: int, most: int = 8) -> int:
    """The most stride-2 levels (up to ``most``) that ``height`` and ``width`` divide into."""
    depth = 0
    while depth < most and height % 2 ** (depth + 1) == 0 and width % 2 ** (depth + 1) == 0:
        depth += 1
    return depth


class UNetGenerator(nn.Module):
    """Image-to-image U-Net; sides must be multiples of ``2 ** num_downs``."""

    def __init__(self, in_channels: int, out_channels: int, num_downs: int, ngf: int = 64,
                 norm: str = "batch", dropout: float = 0.5, n_dropout: int = 3) -> None:
        super().__init__()
        if num_downs < 2:
            raise ValueError(f"num_downs must be at least 2, got {num_downs}")
        self.num_downs = num_downs
        w = [ngf * min(2 ** i, 8) for i in range(num_downs)]
        bias = norm != "batch"
        last = num_downs - 1
        downs: list[nn.Module] = [nn.Conv2d(in_channels, w[0], 4, 2, 1, bias=bias)]
        for i in range(1, num_downs):
            layers = [nn.LeakyReLU(0.2, True), nn.Conv2d(w[i - 1], w[i], 4, 2, 1, bias=bias or i == last)]
            downs.append(nn.Sequential(*layers, *([] if i == last else [_norm(norm, w[i])])))
        ups: list[nn.Module] = [nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(2 * w[0], out_channels, 4, 2, 1),
                                              nn.Tanh())]
        for i in range(1, num_downs):
            width_in = w[i] if i == last else 2 * w[i]
            layers = [nn.ReLU(True), nn.ConvTranspose2d(width_in, w[i - 1], 4, 2, 1, bias=bias), _norm(norm, w[i - 1])]
            if dropout > 0 and last - n_dropout <= i < last:
                layers.append(nn.Dropout(dropout))
            ups.append(nn.Sequential(*layers))
        self.downs, self.ups = nn.ModuleList(downs), nn.ModuleList(ups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        x = self.ups[-1](skips[-1])
        for i in range(self.num_downs - 2, -1, -1):
            x = self.ups[i](torch.cat([skips[i], x], 1))
        return x
