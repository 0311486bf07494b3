"""BigGAN networks (Brock et al. 2019), with SAGAN's self-attention (Zhang et al. 2019).

G: z is split into one chunk per block plus one for the input layer (hierarchical latents). The
first chunk is mapped to a 4x4 feature map; each residual up-block then sees ``[e(y), z_i]``, a
shared class embedding joined with its own chunk, through its class-conditional BatchNorms, whose
gains and biases are linear maps of it: ``bn(x) * (1 + gain(c)) + bias(c)``. A final BatchNorm,
ReLU and 3x3 conv give the image (tanh).

D: residual down-blocks, ReLU, global sum pooling to ``h``, then a projection head:
``D(x, y) = psi(h) + <e_D(y), h>`` (Miyato & Koyama 2018).

Both nets have spectral normalisation on every conv, linear and (in D) embedding weight, and an
optional self-attention block (output ``x + gamma * attention(x)``, ``gamma`` starting at 0, so
the block starts as the identity) on the feature maps of one resolution.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..errors import GanzooError
from ..interfaces import Discriminator, Generator
from .conditional import _need_labels, embed_labels

#: the widest block, as a multiple of the base width (``g_ch``/``d_ch``)
MAX_WIDTH_MULTIPLE = 8


def sn(module: nn.Module) -> nn.Module:
    """``module`` with orthogonal init (BigGAN's) under spectral normalisation (one power
    iteration per training forward)."""
    nn.init.orthogonal_(module.weight)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)
    return spectral_norm(module)


def number_of_blocks(image_size: int) -> int:
    """Up-blocks from 4x4 to ``image_size`` (also D's down-blocks)."""
    if image_size < 32 or image_size & (image_size - 1):
        raise GanzooError(f"BigGAN networks need a power-of-two image size of at least 32, got "
                          f"{image_size}; set data.image_size to 32, 64 or 128")
    return int(math.log2(image_size)) - 2


def check_attention_resolution(resolution: int | None, image_size: int) -> None:
    """Attention sits on feature maps both nets have: 8 .. image_size / 2."""
    if resolution is None:
        return
    valid = [2 ** k for k in range(3, int(math.log2(image_size)))]
    if resolution not in valid:
        raise GanzooError(f"variant.attention_resolution must be one of {valid} at "
                          f"{image_size} px (or null for no attention), got {resolution}")


class ClassConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose gain and bias are linear maps of a conditioning vector (class embedding
    and z chunk): ``bn(x) * (1 + gain(c)) + bias(c)``, so the gain starts near 1."""

    def __init__(self, features: int, cond_dim: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(features, affine=False)
        self.gain = sn(nn.Linear(cond_dim, features, bias=False))
        self.bias = sn(nn.Linear(cond_dim, features, bias=False))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gain = 1 + self.gain(cond)[:, :, None, None]
        return self.bn(x) * gain + self.bias(cond)[:, :, None, None]


class SelfAttention(nn.Module):
    """SAGAN self-attention: every position attends to all positions (keys and values max-pooled
    2x for cost). ``gamma`` starts at 0: the block is the identity until it learns otherwise."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        key = max(1, channels // 8)
        value = max(1, channels // 2)
        self.query = sn(nn.Conv2d(channels, key, 1, bias=False))
        self.key = sn(nn.Conv2d(channels, key, 1, bias=False))
        self.value = sn(nn.Conv2d(channels, value, 1, bias=False))
        self.out = sn(nn.Conv2d(value, channels, 1, bias=False))
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        query = self.query(x).flatten(2)                        # (N, k, HW)
        key = F.max_pool2d(self.key(x), 2).flatten(2)           # (N, k, HW/4)
        value = F.max_pool2d(self.value(x), 2).flatten(2)       # (N, v, HW/4)
        attention = torch.softmax(query.transpose(1, 2) @ key, dim=-1)  # (N, HW, HW/4)
        attended = (value @ attention.transpose(1, 2)).view(n, -1, h, w)
        return x + self.gamma * self.out(attended)


class GBlock(nn.Module):
    """Residual up-block: CBN, ReLU, 2x nearest upsampling, 3x3 conv, CBN, ReLU, 3x3 conv;
    the shortcut is a 1x1 conv and upsampling (in that order: the same map, 4x cheaper)."""

    def __init__(self, in_ch: int, out_ch: int, cond_dim: int) -> None:
        super().__init__()
        self.bn1 = ClassConditionalBatchNorm2d(in_ch, cond_dim)
        self.conv1 = sn(nn.Conv2d(in_ch, out_ch, 3, padding=1))
        self.bn2 = ClassConditionalBatchNorm2d(out_ch, cond_dim)
        self.conv2 = sn(nn.Conv2d(out_ch, out_ch, 3, padding=1))
        self.shortcut = sn(nn.Conv2d(in_ch, out_ch, 1))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x, cond)), scale_factor=2)
        h = self.conv2(F.relu(self.bn2(self.conv1(h), cond)))
        return h + F.interpolate(self.shortcut(x), scale_factor=2)


class BigGANGenerator(Generator):
    """Hierarchical latents, a shared class embedding and class-conditional BatchNorm."""

    def __init__(self, z_dim: int, image_size: int, channels: int, num_classes: int,
                 g_ch: int = 32, shared_dim: int = 128, attention_resolution: int | None = 16) -> None:
        super().__init__()
        n_blocks = number_of_blocks(image_size)
        check_attention_resolution(attention_resolution, image_size)
        if z_dim < n_blocks + 1:
            raise GanzooError(f"variant.z_dim must be at least {n_blocks + 1} at {image_size} px (one "
                              f"chunk per block and one for the input), got {z_dim}")
        self.z_dim, self.num_classes, self.num_chunks = z_dim, num_classes, n_blocks + 1
        chunk_sizes = [t.shape[1] for t in torch.zeros(1, z_dim).tensor_split(self.num_chunks, dim=1)]
        widths = [g_ch * min(MAX_WIDTH_MULTIPLE, 2 ** (n_blocks - 1 - i)) for i in range(n_blocks)]
        self.shared = nn.Embedding(num_classes, shared_dim)
        self.input = sn(nn.Linear(chunk_sizes[0], widths[0] * 16))
        self.input_width = widths[0]
        self.blocks = nn.ModuleList(
            GBlock(widths[max(i - 1, 0)], widths[i], shared_dim + chunk_sizes[i + 1]) for i in range(n_blocks))
        #: attention follows the block whose output has this index (None: no attention)
        self.attention_after = (None if attention_resolution is None
                                else int(math.log2(attention_resolution)) - 3)
        self.attention = (None if attention_resolution is None
                          else SelfAttention(widths[self.attention_after]))
        self.out_bn = nn.BatchNorm2d(widths[-1])
        self.out_conv = sn(nn.Conv2d(widths[-1], channels, 3, padding=1))

    def split_latent(self, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The input layer's chunk, then one chunk per block (sizes differ by at most 1)."""
        return z.tensor_split(self.num_chunks, dim=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """``labels``: int classes (N,), or float class weights (N, K) that mix the shared
        embedding's rows (class interpolation)."""
        first, *per_block = self.split_latent(z)
        embedding = embed_labels(self.shared, None if labels is None else labels.to(z.device))
        h = self.input(first).view(z.shape[0], self.input_width, 4, 4)
        for i, (block, chunk) in enumerate(zip(self.blocks, per_block)):
            h = block(h, torch.cat([embedding, chunk], dim=1))
            if i == self.attention_after:
                h = self.attention(h)
        return torch.tanh(self.out_conv(F.relu(self.out_bn(h))))


class DBlock(nn.Module):
    """Residual down-block: (ReLU,) 3x3 conv, ReLU, 3x3 conv, (2x average pooling); the shortcut
    is pooling and a 1x1 conv (in that order: the same map, 4x cheaper). The first block skips
    the leading ReLU (its input is the image)."""

    def __init__(self, in_ch: int, out_ch: int, downsample: bool, preactivation: bool) -> None:
        super().__init__()
        self.downsample, self.preactivation = downsample, preactivation
        self.conv1 = sn(nn.Conv2d(in_ch, out_ch, 3, padding=1))
        self.conv2 = sn(nn.Conv2d(out_ch, out_ch, 3, padding=1))
        self.shortcut = sn(nn.Conv2d(in_ch, out_ch, 1)) if downsample or in_ch != out_ch else None

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 2) if self.downsample else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(x) if self.preactivation else x
        h = self._pool(self.conv2(F.relu(self.conv1(h))))
        return h + (x if self.shortcut is None else self.shortcut(self._pool(x)))


class BigGANDiscriminator(Discriminator):
    """Residual down-blocks to 4x4, one more block at 4x4, ReLU, sum pooling, projection head."""

    def __init__(self, image_size: int, channels: int, num_classes: int, d_ch: int = 32,
                 attention_resolution: int | None = 16) -> None:
        super().__init__()
        n_down = number_of_blocks(image_size)
        check_attention_resolution(attention_resolution, image_size)
        widths = [d_ch * min(MAX_WIDTH_MULTIPLE, 2 ** i) for i in range(n_down)] + [None]
        widths[-1] = widths[-2]
        ins = [channels] + widths[:-1]
        self.blocks = nn.ModuleList(DBlock(ins[i], widths[i], downsample=i < n_down, preactivation=i > 0)
                                    for i in range(n_down + 1))
        #: attention follows the block whose output has this index (None: no attention)
        self.attention_after = (None if attention_resolution is None
                                else int(math.log2(image_size // attention_resolution)) - 1)
        self.attention = (None if attention_resolution is None
                          else SelfAttention(widths[self.attention_after]))
        self.psi = sn(nn.Linear(widths[-1], 1))
        self.embed = nn.Embedding(num_classes, widths[-1])
        nn.init.orthogonal_(self.embed.weight)
        spectral_norm(self.embed)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``h``: the last block's ReLU'd features summed over positions, ``(N, width)``."""
        h = x
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.attention_after:
                h = self.attention(h)
        return F.relu(h).sum(dim=(2, 3))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        y = _need_labels(labels, "discriminator").to(x.device)
        h = self.features(x)
        return self.psi(h).view(-1) + (self.embed(y) * h).sum(dim=1)
