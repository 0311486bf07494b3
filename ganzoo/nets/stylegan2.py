"""StyleGAN2 networks (Karras et al. 2020) for power-of-two image sizes from 8 px up.

Generator: z -> mapping MLP -> w. A learned 4x4 constant goes through modulated, demodulated 3x3
convolutions, each styled by its own copy of w (``ws[:, i]`` for layer ``i``, so two w's can be
mixed), with per-pixel noise of learned strength; every resolution adds its toRGB output to the
upsampled image so far (the "skip" generator). Outputs are linear, not squashed by a tanh.
Discriminator: residual blocks halving the size, a minibatch standard deviation channel at 4x4,
then a conv and two fully connected layers.

Equalized learning rate everywhere: weights are stored N(0, 1) (N(0, 1/lr_mul^2) for a layer with
a learning-rate multiplier) and multiplied at run time by ``lr_mul / sqrt(fan_in)``, so Adam moves
every layer by the same amount relative to its scale. Resampling is bilinear up (the [1, 3, 3, 1]
filter with edges replicated) and the [1, 3, 3, 1] blur with stride 2 down.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..interfaces import Discriminator, Generator

SQRT2 = math.sqrt(2.0)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU 0.2 times sqrt(2), which keeps unit-variance activations at unit variance."""
    return F.leaky_relu(x, 0.2) * SQRT2


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def downsample2x(x: torch.Tensor) -> torch.Tensor:
    """Blur with the normalised outer product of [1, 3, 3, 1] and keep every second pixel."""
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0], device=x.device, dtype=x.dtype)
    kernel = (taps[:, None] * taps[None, :]) / 64.0
    channels = x.shape[1]
    return F.conv2d(F.pad(x, (1, 1, 1, 1)), kernel.expand(channels, 1, 4, 4), stride=2, groups=channels)


def channel_widths(image_size: int, channel_base: int, channel_max: int) -> dict[int, int]:
    """Feature maps per resolution: ``min(channel_base // res, channel_max)``, as in the paper."""
    if image_size < 8 or image_size & (image_size - 1):
        raise ConfigError(f"StyleGAN2 needs a power-of-two image size of at least 8, got {image_size}",
                          key="data.image_size")
    if channel_base // image_size < 1:
        raise ConfigError(f"channel_base {channel_base} leaves no channels at {image_size} px; "
                          f"use at least {image_size}", key="variant.channel_base")
    sizes = [2 ** k for k in range(2, int(math.log2(image_size)) + 1)]
    return {res: min(channel_base // res, channel_max) for res in sizes}


# -- equalized learning rate layers ----------------------------------------------------------
class EqualLinear(nn.Module):
    """Linear layer with equalized learning rate; ``lr_mul`` scales its effective learning rate."""

    def __init__(self, in_features: int, out_features: int, bias_init: float = 0.0,
                 lr_mul: float = 1.0, activate: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), bias_init / lr_mul))
        self.lr_mul, self.activate = lr_mul, activate
        self.weight_scale = lr_mul / math.sqrt(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight * self.weight_scale, self.bias * self.lr_mul)
        return lrelu(out) if self.activate else out


class EqualConv2d(nn.Module):
    """Same-padded convolution with equalized learning rate (the discriminator's layers)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, bias: bool = True,
                 activate: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.activate = activate
        self.weight_scale = 1.0 / math.sqrt(in_channels * kernel * kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x, self.weight * self.weight_scale, self.bias, padding=self.weight.shape[-1] // 2)
        return lrelu(out) if self.activate else out


# -- generator -------------------------------------------------------------------------------
class ModulatedConv2d(nn.Module):
    """A convolution whose weights are scaled per sample by styles ``s = A(w)``: ``w' = s * w``.

    With ``demodulate`` each sample's weights are also divided by ``sqrt(sum w'^2 + 1e-8)`` per
    output channel, which restores unit output variance for unit-variance input (it replaces
    AdaIN's normalisation of the activations). Computed without per-sample weights, as
    ``conv(x * s, w) / sqrt(...)``: the same numbers, one ordinary batched convolution."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, kernel: int = 3,
                 demodulate: bool = True) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)  # styles start near 1
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.weight_scale = 1.0 / math.sqrt(in_channels * kernel * kernel)
        self.demodulate = demodulate

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)
        weight = self.weight * self.weight_scale
        out = F.conv2d(x * styles[:, :, None, None], weight, padding=weight.shape[-1] // 2)
        if self.demodulate:  # sum over i, k, k of (s_i w_oikk)^2, in fp32 even under autocast
            weight_sq = weight.float().square().sum(dim=(2, 3))                          # (out, in)
            norm2 = (styles.float().square()[:, None, :] * weight_sq[None]).sum(dim=2)  # (N, out)
            out = out * torch.rsqrt(norm2 + 1e-8).to(out.dtype)[:, :, None, None]
        return out


class StyledLayer(nn.Module):
    """Modulated 3x3 conv (after a 2x upsample if ``upsample``), noise, bias, leaky ReLU.

    Noise is fresh per pixel while training and a fixed map in eval mode, so that samples depend
    on z alone; its per-layer strength is learned and starts at 0."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 upsample: bool = False, noise_seed: int = 0) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, w_dim)
        self.upsample = upsample
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        seeded = torch.Generator().manual_seed(noise_seed)
        fixed = torch.randn(1, 1, resolution, resolution, generator=seeded)
        self.register_buffer("fixed_noise", fixed, persistent=False)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = upsample2x(x)
        x = self.conv(x, w)
        if self.training:
            noise = torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype)
        else:
            noise = self.fixed_noise.to(x.dtype)
        x = x + noise * self.noise_strength
        return lrelu(x + self.bias[None, :, None, None])


class ToRGB(nn.Module):
    """1x1 modulated conv to image channels, without demodulation or activation."""

    def __init__(self, in_channels: int, channels: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, channels, w_dim, kernel=1, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


class MappingNetwork(nn.Module):
    """z (normalised to unit second moment) -> ``layers`` fully connected leaky-ReLU layers -> w."""

    def __init__(self, z_dim: int, w_dim: int, layers: int, lr_mul: float) -> None:
        super().__init__()
        sizes = [z_dim] + [w_dim] * layers
        self.layers = nn.ModuleList(EqualLinear(a, b, lr_mul=lr_mul, activate=True)
                                    for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)
        for layer in self.layers:
            x = layer(x)
        return x


class SynthesisNetwork(nn.Module):
    """The 4x4 constant through styled layers to an image; layer ``i`` is styled by ``ws[:, i]``
    and each resolution's toRGB by the w of the layer after it (``num_ws`` w's in all)."""

    def __init__(self, w_dim: int, image_size: int, channels: int, widths: dict[int, int]) -> None:
        super().__init__()
        self.const = nn.Parameter(torch.randn(widths[4], 4, 4))
        self.layers = nn.ModuleList([StyledLayer(widths[4], widths[4], w_dim, 4)])
        self.to_rgb = nn.ModuleList([ToRGB(widths[4], channels, w_dim)])
        for res in list(widths)[1:]:
            previous = widths[res // 2]
            self.layers.append(StyledLayer(previous, widths[res], w_dim, res, upsample=True,
                                           noise_seed=len(self.layers)))
            self.layers.append(StyledLayer(widths[res], widths[res], w_dim, res,
                                           noise_seed=len(self.layers)))
            self.to_rgb.append(ToRGB(widths[res], channels, w_dim))
        self.num_ws = len(self.layers) + 1

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        x = self.const[None].expand(ws.shape[0], -1, -1, -1)
        x = self.layers[0](x, ws[:, 0])
        image = self.to_rgb[0](x, ws[:, 1])
        for level, to_rgb in enumerate(self.to_rgb[1:]):
            first = 2 * level + 1
            x = self.layers[first](x, ws[:, first])
            x = self.layers[first + 1](x, ws[:, first + 1])
            image = upsample2x(image) + to_rgb(x, ws[:, first + 2])
        return image


class StyleGAN2Generator(Generator):
    """Mapping and synthesis networks, style mixing while training and the truncation trick.

    ``w_avg`` is a running average of mapped w's (updated in training mode), the centre that
    truncation pulls towards: ``w' = w_avg + psi (w - w_avg)``. For latent tools: ``w_from_z``
    then ``synthesis_from_w`` (a (N, w_dim) w styles every layer; (N, num_ws, w_dim) one each)."""

    def __init__(self, z_dim: int, w_dim: int, image_size: int, channels: int, *,
                 mapping_layers: int = 8, mapping_lr_mul: float = 0.01, channel_base: int = 32768,
                 channel_max: int = 512, style_mixing_prob: float = 0.0,
                 w_avg_beta: float = 0.995) -> None:
        super().__init__()
        self.z_dim, self.w_dim = z_dim, w_dim
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers, mapping_lr_mul)
        self.synthesis = SynthesisNetwork(w_dim, image_size, channels,
                                          channel_widths(image_size, channel_base, channel_max))
        self.num_ws = self.synthesis.num_ws
        self.style_mixing_prob, self.w_avg_beta = style_mixing_prob, w_avg_beta
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def truncate(self, w: torch.Tensor, psi: float) -> torch.Tensor:
        return w if psi == 1 else self.w_avg.to(w.dtype).lerp(w, psi)

    def w_from_z(self, z: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        """Mapped (and, for ``psi`` < 1, truncated) w ``(N, w_dim)``; updates ``w_avg`` in training."""
        w = self.mapping(z)
        if self.training:
            with torch.no_grad():
                self.w_avg.lerp_(w.detach().mean(0).to(self.w_avg.dtype), 1.0 - self.w_avg_beta)
        return self.truncate(w, psi)

    def mix_styles(self, w1: torch.Tensor, w2: torch.Tensor, prob: float) -> torch.Tensor:
        """``(N, num_ws, w_dim)``: with probability ``prob`` a sample takes w2 from a random
        crossover layer (1 .. num_ws - 1) on and w1 before it; otherwise w1 everywhere."""
        n, device = w1.shape[0], w1.device
        crossover = torch.randint(1, self.num_ws, (n,), device=device)
        crossover = torch.where(torch.rand(n, device=device) < prob, crossover, self.num_ws)
        takes_w2 = torch.arange(self.num_ws, device=device)[None, :] >= crossover[:, None]
        return torch.where(takes_w2[..., None], w2[:, None], w1[:, None])

    def ws_from_z(self, z: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        """One w per layer ``(N, num_ws, w_dim)``, style-mixed with a second z while training."""
        w = self.w_from_z(z, psi)
        if self.training and self.style_mixing_prob > 0:
            w2 = self.truncate(self.mapping(torch.randn_like(z)), psi)
            return self.mix_styles(w, w2, self.style_mixing_prob)
        return w[:, None].expand(-1, self.num_ws, -1)

    def synthesis_from_w(self, w: torch.Tensor) -> torch.Tensor:
        ws = w[:, None].expand(-1, self.num_ws, -1) if w.dim() == 2 else w
        return self.synthesis(ws)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                truncation_psi: float = 1.0) -> torch.Tensor:
        return self.synthesis_from_w(self.ws_from_z(z, truncation_psi))


# -- discriminator ---------------------------------------------------------------------------
class MinibatchStd(nn.Module):
    """Appends one channel: the standard deviation of each feature over a group of samples,
    averaged over features and pixels, so D can see a lack of variety in a batch.

    Groups are runs of consecutive samples; the size is the largest divisor of the batch that is
    at most ``group_size``."""

    def __init__(self, group_size: int) -> None:
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        group = max(g for g in range(1, min(self.group_size, n) + 1) if n % g == 0)
        grouped = x.reshape(n // group, group, c, h, w)
        std = (grouped.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))
        std = std.repeat_interleave(group).reshape(n, 1, 1, 1).expand(n, 1, h, w)
        return torch.cat([x, std.to(x.dtype)], dim=1)


class ResidualDownBlock(nn.Module):
    """Two 3x3 convs with a 2x downsample between them, plus a downsampled 1x1 skip; the sum is
    scaled by sqrt(1/2) to keep the variance."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = EqualConv2d(in_channels, in_channels, 3, activate=True)
        self.conv2 = EqualConv2d(in_channels, out_channels, 3, activate=True)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main = self.conv2(downsample2x(self.conv1(x)))
        return (main + self.skip(downsample2x(x))) * math.sqrt(0.5)


class StyleGAN2Discriminator(Discriminator):
    """fromRGB at full size, residual blocks down to 4x4, minibatch std, conv, fc, fc -> score."""

    def __init__(self, image_size: int, channels: int, *, channel_base: int = 32768,
                 channel_max: int = 512, mbstd_group: int = 4) -> None:
        super().__init__()
        widths = channel_widths(image_size, channel_base, channel_max)
        self.from_rgb = EqualConv2d(channels, widths[image_size], 1, activate=True)
        self.blocks = nn.Sequential(*(ResidualDownBlock(widths[res], widths[res // 2])
                                      for res in sorted(widths, reverse=True) if res > 4))
        self.mbstd = MinibatchStd(mbstd_group)
        self.conv = EqualConv2d(widths[4] + 1, widths[4], 3, activate=True)
        self.fc = EqualLinear(widths[4] * 16, widths[4], activate=True)
        self.out = EqualLinear(widths[4], 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.blocks(self.from_rgb(x))
        h = self.conv(self.mbstd(h))
        return self.out(self.fc(h.flatten(1))).squeeze(1)
