"""BigGAN-deep generator (Brock et al. 2019, the "deep" variant) for imported weights.

The layout of the ``pytorch-pretrained-biggan`` package's checkpoints (converted from DeepMind's
TF Hub modules), written here from the architecture: a one-hot class vector is embedded
(a linear map to ``z_dim``) and concatenated to z; a linear layer makes a 4x4 map of
``16 * ch`` channels (stored height-width-channel, as in TF); bottleneck residual blocks (BN,
ReLU, 1x1 conv to a quarter of the width, BN, ReLU, optional nearest 2x up-sampling, 3x3 conv, BN,
ReLU, 3x3 conv, BN, ReLU, 1x1 conv; the skip drops half of its channels when the width halves and
is up-sampled alike) with one self-attention layer; then BN, ReLU, a 3x3 conv, the first three
channels and tanh.

Every BatchNorm is class-conditional (gain ``1 + scale(c)`` and bias ``offset(c)``, linear maps of
the concatenated vector) except the last, and uses stored statistics chosen by the truncation
value: ``n_stats`` rows for truncation 0 .. 1, blended between neighbours. Spectral
normalisation is folded into the weights at import (eval mode divides by a stored sigma), so the
layers here are plain convolutions and linear maps. Sampling only: no discriminator was released.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..interfaces import Generator


class StatsBatchNorm(nn.Module):
    """BatchNorm with ``n_stats`` stored statistics indexed by truncation, conditional (gain and
    bias from ``cond``) or with its own affine parameters."""

    def __init__(self, features: int, cond_dim: int | None, n_stats: int, eps: float) -> None:
        super().__init__()
        self.register_buffer("running_means", torch.zeros(n_stats, features))
        self.register_buffer("running_vars", torch.ones(n_stats, features))
        self.step, self.eps, self.conditional = 1.0 / (n_stats - 1), eps, cond_dim is not None
        if cond_dim is not None:
            self.scale = nn.Linear(cond_dim, features, bias=False)
            self.offset = nn.Linear(cond_dim, features, bias=False)
        else:
            self.weight = nn.Parameter(torch.ones(features))
            self.bias = nn.Parameter(torch.zeros(features))

    def stats(self, truncation: float) -> tuple[torch.Tensor, torch.Tensor]:
        """The statistics row of ``truncation``; between two rows, the blend the checkpoints were
        converted for (weight ``frac`` on the lower row)."""
        frac, index = math.modf(truncation / self.step)
        index = int(index)
        if frac == 0.0:
            return self.running_means[index], self.running_vars[index]
        blend = lambda t: t[index] * frac + t[index + 1] * (1 - frac)
        return blend(self.running_means), blend(self.running_vars)

    def forward(self, x: torch.Tensor, truncation: float, cond: torch.Tensor | None = None) -> torch.Tensor:
        mean, var = self.stats(truncation)
        if not self.conditional:
            return F.batch_norm(x, mean, var, self.weight, self.bias, training=False, eps=self.eps)
        gain = 1 + self.scale(cond)[:, :, None, None]
        return (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + self.eps) * gain \
            + self.offset(cond)[:, :, None, None]


class SelfAttention(nn.Module):
    """SAGAN attention with 2x2 max-pooled keys and values, added with a learned gain."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.theta = nn.Conv2d(ch, ch // 8, 1, bias=False)
        self.phi = nn.Conv2d(ch, ch // 8, 1, bias=False)
        self.g = nn.Conv2d(ch, ch // 2, 1, bias=False)
        self.o_conv = nn.Conv2d(ch // 2, ch, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, ch, h, w = x.shape
        theta = self.theta(x).reshape(n, ch // 8, h * w)
        phi = F.max_pool2d(self.phi(x), 2).reshape(n, ch // 8, h * w // 4)
        attn = torch.softmax(torch.bmm(theta.transpose(1, 2), phi), dim=-1)
        g = F.max_pool2d(self.g(x), 2).reshape(n, ch // 2, h * w // 4)
        out = torch.bmm(g, attn.transpose(1, 2)).reshape(n, ch // 2, h, w)
        return x + self.gamma * self.o_conv(out)


class DeepBlock(nn.Module):
    """The bottleneck residual block (see the module docstring)."""

    def __init__(self, in_ch: int, out_ch: int, cond_dim: int, up: bool, n_stats: int, eps: float) -> None:
        super().__init__()
        mid = in_ch // 4
        self.up, self.drop = up, in_ch != out_ch
        for i, (a, b, k) in enumerate(((in_ch, mid, 1), (mid, mid, 3), (mid, mid, 3), (mid, out_ch, 1))):
            self.add_module(f"bn_{i}", StatsBatchNorm(a, cond_dim, n_stats, eps))
            self.add_module(f"conv_{i}", nn.Conv2d(a, b, k, padding=k // 2))

    def forward(self, x: torch.Tensor, cond: torch.Tensor, truncation: float) -> torch.Tensor:
        skip = x
        for i in range(4):
            x = F.relu(getattr(self, f"bn_{i}")(x, truncation, cond))
            if i == 1 and self.up:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = getattr(self, f"conv_{i}")(x)
        if self.drop:
            skip = skip[:, : skip.shape[1] // 2]
        if self.up:
            skip = F.interpolate(skip, scale_factor=2, mode="nearest")
        return x + skip


class BigGANDeepGenerator(Generator):
    """``forward(z, labels, truncation)``: labels are class indices or (N, K) class weights;
    ``truncation`` (0 < t <= 1) picks the BatchNorm statistics and should match how z was drawn."""

    def __init__(self, z_dim: int, num_classes: int, ch: int, layers: list[tuple[bool, int, int]],
                 attention_position: int, n_stats: int = 51, eps: float = 1e-4) -> None:
        super().__init__()
        self.z_dim, self.num_classes, self.ch = z_dim, num_classes, ch
        cond = 2 * z_dim
        self.embeddings = nn.Linear(num_classes, z_dim, bias=False)
        self.gen_z = nn.Linear(cond, 4 * 4 * 16 * ch)
        blocks: list[nn.Module] = []
        for i, (up, a, b) in enumerate(layers):
            if i == attention_position:
                blocks.append(SelfAttention(ch * a))
            blocks.append(DeepBlock(ch * a, ch * b, cond, bool(up), n_stats, eps))
        self.layers = nn.ModuleList(blocks)
        self.bn = StatsBatchNorm(ch, None, n_stats, eps)
        self.conv_to_rgb = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                truncation: float = 1.0) -> torch.Tensor:
        if labels is None:
            raise ValueError("BigGAN-deep is class-conditional: give labels")
        onehot = labels.float() if labels.dtype.is_floating_point else F.one_hot(labels.long(), self.num_classes).float()
        cond = torch.cat([z, self.embeddings(onehot)], dim=1)
        x = self.gen_z(cond).reshape(-1, 4, 4, 16 * self.ch).permute(0, 3, 1, 2).contiguous()
        for layer in self.layers:
            x = layer(x, cond, truncation) if isinstance(layer, DeepBlock) else layer(x)
        x = self.conv_to_rgb(F.relu(self.bn(x, truncation)))
        return torch.tanh(x[:, :3])
