"""StarGAN's networks (Choi et al. 2018), following the authors' code at any power-of-two size.

* :class:`StarGenerator`: the image and the target domain (a one-hot vector repeated over the
  image, as extra input channels) -> 7x7 conv, two stride-2 4x4 convs, ``n_res`` residual blocks,
  two stride-2 4x4 transposed convs, 7x7 conv, tanh; InstanceNorm (affine) + ReLU throughout.
* :class:`StarDiscriminator`: ``n_layers`` stride-2 4x4 convs with LeakyReLU 0.01 and no
  normalisation (the gradient penalty is per sample), then two heads on the last feature map:
  ``src`` (a 3x3 conv: one real/fake score per patch) and ``cls`` (a conv over the whole map:
  one logit per domain).
"""

from __future__ import annotations

import torch
from torch import nn

from ..interfaces import Discriminator


def _in(channels: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)


class ResidualBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(dim, dim, 3, 1, 1, bias=False), _in(dim), nn.ReLU(True),
                                  nn.Conv2d(dim, dim, 3, 1, 1, bias=False), _in(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.main(x)


class StarGenerator(nn.Module):
    """``G(x, domain)``: ``x`` (N, C, H, W) in [-1, 1], ``domain`` (N,) int64 -> (N, C, H, W).
    Sides must be multiples of 4."""

    def __init__(self, channels: int, num_domains: int, conv_dim: int = 64, n_res: int = 6) -> None:
        super().__init__()
        self.num_domains = num_domains
        layers: list[nn.Module] = [nn.Conv2d(channels + num_domains, conv_dim, 7, 1, 3, bias=False),
                                   _in(conv_dim), nn.ReLU(True)]
        width = conv_dim
        for _ in range(2):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), _in(width * 2), nn.ReLU(True)]
            width *= 2
        layers += [ResidualBlock(width) for _ in range(n_res)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), _in(width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.Conv2d(width, channels, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, domain: torch.Tensor) -> torch.Tensor:
        onehot = nn.functional.one_hot(domain.long(), self.num_domains).to(x.dtype)
        maps = onehot[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        return self.main(torch.cat([x, maps], 1))


class StarDiscriminator(Discriminator):
    """Returns ``(src, cls)``: patch scores (N, 1, h, w) and domain logits (N, num_domains)."""

    def __init__(self, image_size: int, channels: int, num_domains: int, conv_dim: int = 64,
                 n_layers: int = 6) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, conv_dim, 4, 2, 1), nn.LeakyReLU(0.01)]
        width = conv_dim
        for _ in range(1, n_layers):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1), nn.LeakyReLU(0.01)]
            width *= 2
        self.main = nn.Sequential(*layers)
        final = image_size // 2 ** n_layers
        self.src = nn.Conv2d(width, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(width, num_domains, final, bias=False)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.main(x)
        return self.src(h), self.cls(h).flatten(1)


class SourceHead(nn.Module):
    """D's real/fake head alone (what the gradient penalty differentiates); not a separate copy."""

    def __init__(self, D: StarDiscriminator) -> None:
        super().__init__()
        object.__setattr__(self, "D", D)  # not registered: no duplicate parameters or state keys

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.D(x)[0]
