"""Multi-layer perceptron generator and discriminator (classic GAN, 2-D toy data)."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from ..interfaces import Discriminator, Generator


class Maxout(nn.Module):
    """Linear layer followed by a max over ``pieces`` (Goodfellow et al.; PacGAN's D)."""

    def __init__(self, in_features: int, out_features: int, pieces: int = 5) -> None:
        super().__init__()
        self.pieces = pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear(x)
        return y.view(*y.shape[:-1], -1, self.pieces).amax(dim=-1)


def activation(name: str) -> nn.Module:
    return {"relu": nn.ReLU(), "leaky_relu": nn.LeakyReLU(0.2), "tanh": nn.Tanh(),
            "elu": nn.ELU()}[name]


ACTIVATIONS = ("relu", "leaky_relu", "tanh", "elu")


class MLPGenerator(Generator):
    """z -> hidden layers (optional BatchNorm) -> output, reshaped to ``out_shape``."""

    def __init__(self, z_dim: int, out_shape: Sequence[int], hidden: Sequence[int],
                 act: str = "leaky_relu", batchnorm: bool = True, bn_momentum: float = 0.1,
                 output: str = "tanh", first_layer_norm: bool = False) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.out_shape = tuple(out_shape)
        layers: list[nn.Module] = []
        width = z_dim
        for i, h in enumerate(hidden):
            layers.append(nn.Linear(width, h))
            if batchnorm and (i > 0 or first_layer_norm):
                layers.append(nn.BatchNorm1d(h, momentum=bn_momentum))
            layers.append(activation(act))
            width = h
        layers.append(nn.Linear(width, math.prod(self.out_shape)))
        if output == "tanh":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(Discriminator):
    """Flattened input (``pack`` samples concatenated, as in PacGAN) -> hidden layers -> score."""

    def __init__(self, in_shape: Sequence[int], hidden: Sequence[int], act: str = "leaky_relu",
                 pack: int = 1, maxout_pieces: int = 5) -> None:
        super().__init__()
        self.pack = pack
        width = math.prod(in_shape) * pack
        layers: list[nn.Module] = []
        for h in hidden:
            if act == "maxout":
                layers.append(Maxout(width, h, maxout_pieces))
            else:
                layers += [nn.Linear(width, h), activation(act)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        n = x.shape[0]
        if n % self.pack:
            raise ValueError(f"batch of {n} is not divisible by pack={self.pack}")
        return self.net(x.reshape(n // self.pack, -1)).squeeze(-1)


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """N(0, std) weights and zero biases for conv/linear layers; BatchNorm weight N(1, std)."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
