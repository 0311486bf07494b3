"""StyleGAN2 networks (Karras et al. 2020) for power-of-two image sizes from 8 px up.

Generator: z -> mapping MLP -> w. A learned 4x4 constant goes through modulated, demodulated 3x3
convolutions, each styled by its own copy of w (``ws[:, i]`` for layer ``i``, so two w's can be
mixed), with per-pixel noise of learned strength; every resolution adds its toRGB output to the
upsampled image so far (the "skip" generator). Outputs are linear, not squashed by a tanh.
Discriminator: residual blocks halving the size, a minibatch standard deviation channel at 4x4,
then a conv and two fully connected layers.

Options for weights trained elsewhere (``ganzoo import``; the defaults are the networks above):
``resample="fir"`` uses the official resampling of :mod:`ganzoo.nets.resample` (a transposed
convolution and the [1, 3, 3, 1] filter up, the filter and a strided convolution down, as in the
official D block); ``stored_noise`` keeps the constant noise maps in the weights;
``truncation_cutoff`` truncates only the first ws; ``conv_clamp`` clamps activations to
+-X; ``c_dim`` > 0 conditions on labels (an embedding in G's mapping, a projection in D);
``mbstd_grouping="strided"`` groups samples i, i + N/G, ... as the official code does;
``fp16_res`` marks the highest resolutions as fp16 layers (recorded; computed in fp32 here).

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
from .resample import conv_down2, conv_up2, fir_filter, upsample_fir

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


def clamp(x: torch.Tensor, limit: float | None) -> torch.Tensor:
    return x if limit is None else x.clamp(-limit, limit)


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
                 activate: bool = False, down: bool = False, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.activate, self.down, self.conv_clamp = activate, down, conv_clamp
        self.weight_scale = 1.0 / math.sqrt(in_channels * kernel * kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same-padded; with ``down`` the official FIR filter, then a stride-2 convolution."""
        weight = self.weight * self.weight_scale
        if self.down:
            out = conv_down2(x, weight, fir_filter(device=x.device, dtype=x.dtype))
            out = out if self.bias is None else out + self.bias[None, :, None, None]
        else:
            out = F.conv2d(x, weight, self.bias, padding=self.weight.shape[-1] // 2)
        return clamp(lrelu(out) if self.activate else out, self.conv_clamp)


# -- generator -------------------------------------------------------------------------------
class ModulatedConv2d(nn.Module):
    """A convolution whose weights are scaled per sample by styles ``s = A(w)``: ``w' = s * w``.

    With ``demodulate`` each sample's weights are also divided by ``sqrt(sum w'^2 + 1e-8)`` per
    output channel, which restores unit output variance for unit-variance input (it replaces
    AdaIN's normalisation of the activations). Computed without per-sample weights, as
    ``conv(x * s, w) / sqrt(...)``: the same numbers, one ordinary batched convolution."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, kernel: int = 3,
                 demodulate: bool = True, up_fir: bool = False) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)  # styles start near 1
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.weight_scale = 1.0 / math.sqrt(in_channels * kernel * kernel)
        self.demodulate, self.up_fir = demodulate, up_fir

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """With ``up_fir``: the convolution of the 2x up-sampled input (official resampling)."""
        styles = self.affine(w)
        weight = self.weight * self.weight_scale
        if self.up_fir:
            out = conv_up2(x * styles[:, :, None, None], weight, fir_filter(device=x.device, dtype=x.dtype))
        else:
            out = F.conv2d(x * styles[:, :, None, None], weight, padding=weight.shape[-1] // 2)
        if self.demodulate:  # sum over i, k, k of (s_i w_oikk)^2, in fp32 even under autocast
            weight_sq = weight.float().square().sum(dim=(2, 3))                          # (out, in)
            norm2 = (styles.float().square()[:, None, :] * weight_sq[None]).sum(dim=2)  # (N, out)
            out = out * torch.rsqrt(norm2 + 1e-8).to(out.dtype)[:, :, None, None]
        return out


class StyledLayer(nn.Module):
    """Modulated 3x3 conv (after a 2x upsample if ``upsample``), noise, bias, leaky ReLU.

    ``noise_mode``: "random" (fresh per pixel), "const" (a fixed map, so that samples depend on
    z alone) or "none"; the default is random while training and const in eval mode. The noise
    strength is learned and starts at 0. The fixed map is seeded, or part of the weights with
    ``stored_noise`` (an imported snapshot's own maps)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 upsample: bool = False, noise_seed: int = 0, *, resample: str = "bilinear",
                 stored_noise: bool = False, conv_clamp: float | None = None,
                 use_fp16: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, w_dim,
                                    up_fir=upsample and resample == "fir")
        self.upsample = upsample and resample != "fir"
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        seeded = torch.Generator().manual_seed(noise_seed)
        fixed = torch.randn(1, 1, resolution, resolution, generator=seeded)
        self.register_buffer("fixed_noise", fixed, persistent=stored_noise)
        self.conv_clamp, self.use_fp16 = conv_clamp, use_fp16

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str | None = None) -> torch.Tensor:
        if self.upsample:
            x = upsample2x(x)
        x = self.conv(x, w)
        mode = noise_mode or ("random" if self.training else "const")
        if mode == "random":
            noise = torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype)
            x = x + noise * self.noise_strength
        elif mode == "const":
            x = x + self.fixed_noise.to(x.dtype) * self.noise_strength
        return clamp(lrelu(x + self.bias[None, :, None, None]), self.conv_clamp)


class ToRGB(nn.Module):
    """1x1 modulated conv to image channels, without demodulation or activation."""

    def __init__(self, in_channels: int, channels: int, w_dim: int,
                 conv_clamp: float | None = None) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, channels, w_dim, kernel=1, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))
        self.conv_clamp = conv_clamp

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return clamp(self.conv(x, w) + self.bias[None, :, None, None], self.conv_clamp)


def normalize_2nd_moment(x: torch.Tensor) -> torch.Tensor:
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


class MappingNetwork(nn.Module):
    """z (normalised to unit second moment) -> ``layers`` fully connected leaky-ReLU layers -> w.

    With ``c_dim`` > 0 the label vector ``c`` (one-hot or class weights) is embedded, normalised
    and concatenated to z (``z_dim`` 0: the label alone, as in D's label mapping)."""

    def __init__(self, z_dim: int, w_dim: int, layers: int, lr_mul: float, c_dim: int = 0,
                 embed_features: int | None = None) -> None:
        super().__init__()
        embed = (embed_features or w_dim) if c_dim else 0
        if c_dim:
            self.embed = EqualLinear(c_dim, embed)
        sizes = [z_dim + embed] + [w_dim] * layers
        self.layers = nn.ModuleList(EqualLinear(a, b, lr_mul=lr_mul, activate=True)
                                    for a, b in zip(sizes[:-1], sizes[1:]))
        self.z_dim, self.c_dim = z_dim, c_dim

    def forward(self, z: torch.Tensor | None, c: torch.Tensor | None = None) -> torch.Tensor:
        parts = [normalize_2nd_moment(z)] if self.z_dim else []
        if self.c_dim:
            if c is None:
                raise ValueError("this mapping network is conditional: give labels")
            parts.append(normalize_2nd_moment(self.embed(c.to(self.embed.weight.dtype))))
        x = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        for layer in self.layers:
            x = layer(x)
        return x


class SynthesisNetwork(nn.Module):
    """The 4x4 constant through styled layers to an image; layer ``i`` is styled by ``ws[:, i]``
    and each resolution's toRGB by the w of the layer after it (``num_ws`` w's in all)."""

    def __init__(self, w_dim: int, image_size: int, channels: int, widths: dict[int, int], *,
                 resample: str = "bilinear", stored_noise: bool = False,
                 conv_clamp: float | None = None, fp16_res: int = 0) -> None:
        super().__init__()
        fp16_from = max(2 * image_size // 2 ** fp16_res, 8)  # the official rule
        layer = dict(resample=resample, stored_noise=stored_noise, conv_clamp=conv_clamp)
        self.const = nn.Parameter(torch.randn(widths[4], 4, 4))
        self.layers = nn.ModuleList([StyledLayer(widths[4], widths[4], w_dim, 4, **layer)])
        self.to_rgb = nn.ModuleList([ToRGB(widths[4], channels, w_dim, conv_clamp)])
        for res in list(widths)[1:]:
            previous, fp16 = widths[res // 2], res >= fp16_from
            self.layers.append(StyledLayer(previous, widths[res], w_dim, res, upsample=True,
                                           noise_seed=len(self.layers), use_fp16=fp16, **layer))
            self.layers.append(StyledLayer(widths[res], widths[res], w_dim, res,
                                           noise_seed=len(self.layers), use_fp16=fp16, **layer))
            self.to_rgb.append(ToRGB(widths[res], channels, w_dim, conv_clamp))
        self.num_ws = len(self.layers) + 1
        self.resample = resample

    def upsample_image(self, image: torch.Tensor) -> torch.Tensor:
        if self.resample == "fir":
            return upsample_fir(image, fir_filter(device=image.device, dtype=image.dtype))
        return upsample2x(image)

    def forward(self, ws: torch.Tensor, noise_mode: str | None = None) -> torch.Tensor:
        x = self.const[None].expand(ws.shape[0], -1, -1, -1)
        x = self.layers[0](x, ws[:, 0], noise_mode)
        image = self.to_rgb[0](x, ws[:, 1])
        for level, to_rgb in enumerate(self.to_rgb[1:]):
            first = 2 * level + 1
            x = self.layers[first](x, ws[:, first], noise_mode)
            x = self.layers[first + 1](x, ws[:, first + 1], noise_mode)
            image = self.upsample_image(image) + to_rgb(x, ws[:, first + 2])
        return image


class StyleGAN2Generator(Generator):
    """Mapping and synthesis networks, style mixing while training and the truncation trick.

    ``w_avg`` is a running average of mapped w's (updated in training mode), the centre that
    truncation pulls towards: ``w' = w_avg + psi (w - w_avg)``. For latent tools: ``w_from_z``
    then ``synthesis_from_w`` (a (N, w_dim) w styles every layer; (N, num_ws, w_dim) one each).
    ``c_dim`` > 0: conditional on labels (class indices, or (N, c_dim) one-hot / class weights).
    The keyword options after ``w_avg_beta`` are described in the module docstring."""

    def __init__(self, z_dim: int, w_dim: int, image_size: int, channels: int, *,
                 mapping_layers: int = 8, mapping_lr_mul: float = 0.01, channel_base: int = 32768,
                 channel_max: int = 512, style_mixing_prob: float = 0.0,
                 w_avg_beta: float = 0.995, c_dim: int = 0, embed_features: int | None = None,
                 resample: str = "bilinear", stored_noise: bool = False,
                 truncation_cutoff: int | None = None, conv_clamp: float | None = None,
                 fp16_res: int = 0) -> None:
        super().__init__()
        self.z_dim, self.w_dim, self.c_dim = z_dim, w_dim, c_dim
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers, mapping_lr_mul, c_dim, embed_features)
        self.synthesis = SynthesisNetwork(w_dim, image_size, channels,
                                          channel_widths(image_size, channel_base, channel_max),
                                          resample=resample, stored_noise=stored_noise,
                                          conv_clamp=conv_clamp, fp16_res=fp16_res)
        self.num_ws = self.synthesis.num_ws
        self.style_mixing_prob, self.w_avg_beta = style_mixing_prob, w_avg_beta
        self.truncation_cutoff = truncation_cutoff
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def label_vector(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        """Class indices as one-hot rows; float (N, c_dim) rows as given; None if unconditional."""
        if not self.c_dim:
            return None
        if labels is None:
            raise ValueError(f"this generator is conditional ({self.c_dim} classes): give labels")
        if labels.dtype.is_floating_point:
            return labels.float()
        return F.one_hot(labels.long(), self.c_dim).float()

    def truncate(self, w: torch.Tensor, psi: float) -> torch.Tensor:
        return w if psi == 1 else self.w_avg.to(w.dtype).lerp(w, psi)

    def w_from_z(self, z: torch.Tensor, psi: float = 1.0, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Mapped (and, for ``psi`` < 1, truncated) w ``(N, w_dim)``; updates ``w_avg`` in training."""
        w = self.mapping(z, self.label_vector(labels))
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

    def ws_from_z(self, z: torch.Tensor, psi: float = 1.0, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One w per layer ``(N, num_ws, w_dim)``, style-mixed with a second z while training;
        with ``truncation_cutoff`` only the first that many ws are truncated."""
        cutoff = self.truncation_cutoff
        if cutoff is not None and psi != 1:
            ws = self.ws_from_z(z, 1.0, labels).clone()
            ws[:, :cutoff] = self.truncate(ws[:, :cutoff], psi)
            return ws
        w = self.w_from_z(z, psi, labels)
        if self.training and self.style_mixing_prob > 0:
            w2 = self.truncate(self.mapping(torch.randn_like(z), self.label_vector(labels)), psi)
            return self.mix_styles(w, w2, self.style_mixing_prob)
        return w[:, None].expand(-1, self.num_ws, -1)

    def synthesis_from_w(self, w: torch.Tensor, noise_mode: str | None = None) -> torch.Tensor:
        """Images from w ``(N, w_dim)`` or ws ``(N, num_ws, w_dim)``; ``noise_mode`` "const",
        "random" or "none" (default: random while training, const in eval mode)."""
        ws = w[:, None].expand(-1, self.num_ws, -1) if w.dim() == 2 else w
        return self.synthesis(ws, noise_mode)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                truncation_psi: float = 1.0, noise_mode: str | None = None) -> torch.Tensor:
        return self.synthesis_from_w(self.ws_from_z(z, truncation_psi, labels), noise_mode)


# -- discriminator ---------------------------------------------------------------------------
class MinibatchStd(nn.Module):
    """Appends one channel: the standard deviation of each feature over a group of samples,
    averaged over features and pixels, so D can see a lack of variety in a batch.

    The group size is the largest divisor of the batch that is at most ``group_size``. Groups
    are runs of consecutive samples, or with ``grouping="strided"`` samples i, i + N/G, i + 2N/G,
    ... (the official code's layout)."""

    def __init__(self, group_size: int, grouping: str = "consecutive") -> None:
        super().__init__()
        self.group_size, self.grouping = group_size, grouping

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        group = max(g for g in range(1, min(self.group_size, n) + 1) if n % g == 0)
        if self.grouping == "strided":
            grouped = x.reshape(group, n // group, c, h, w)
            std = (grouped - grouped.mean(dim=0)).square().mean(dim=0)
            std = (std + 1e-8).sqrt().mean(dim=(1, 2, 3)).repeat(group)
        else:
            grouped = x.reshape(n // group, group, c, h, w)
            std = (grouped.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))
            std = std.repeat_interleave(group)
        std = std.reshape(n, 1, 1, 1).expand(n, 1, h, w)
        return torch.cat([x, std.to(x.dtype)], dim=1)


class ResidualDownBlock(nn.Module):
    """Two 3x3 convs with a 2x downsample between them, plus a downsampled 1x1 skip; the sum is
    scaled by sqrt(1/2) to keep the variance. With ``resample="fir"`` (the official block) the
    second conv and the skip are strided convolutions after the FIR filter."""

    def __init__(self, in_channels: int, out_channels: int, resample: str = "bilinear",
                 conv_clamp: float | None = None) -> None:
        super().__init__()
        fir = resample == "fir"
        self.conv1 = EqualConv2d(in_channels, in_channels, 3, activate=True, conv_clamp=conv_clamp)
        self.conv2 = EqualConv2d(in_channels, out_channels, 3, activate=True, down=fir,
                                 conv_clamp=conv_clamp)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False, down=fir)
        self.fir = fir

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fir:
            return (self.conv2(self.conv1(x)) + self.skip(x)) * math.sqrt(0.5)
        main = self.conv2(downsample2x(self.conv1(x)))
        return (main + self.skip(downsample2x(x))) * math.sqrt(0.5)


class StyleGAN2Discriminator(Discriminator):
    """fromRGB at full size, residual blocks down to 4x4, minibatch std, conv, fc, fc -> score.

    ``c_dim`` > 0: projection conditioning, the score is ``<out(h), mapping(c)> / sqrt(cmap_dim)``
    with the label mapped by its own mapping network (``mapping_layers`` layers)."""

    def __init__(self, image_size: int, channels: int, *, channel_base: int = 32768,
                 channel_max: int = 512, mbstd_group: int = 4, c_dim: int = 0,
                 cmap_dim: int | None = None, mapping_layers: int = 8, mapping_lr_mul: float = 0.01,
                 resample: str = "bilinear", mbstd_grouping: str = "consecutive",
                 conv_clamp: float | None = None, fp16_res: int = 0) -> None:
        super().__init__()
        widths = channel_widths(image_size, channel_base, channel_max)
        self.from_rgb = EqualConv2d(channels, widths[image_size], 1, activate=True, conv_clamp=conv_clamp)
        self.blocks = nn.Sequential(*(ResidualDownBlock(widths[res], widths[res // 2], resample, conv_clamp)
                                      for res in sorted(widths, reverse=True) if res > 4))
        self.mbstd = MinibatchStd(mbstd_group, mbstd_grouping)
        self.conv = EqualConv2d(widths[4] + 1, widths[4], 3, activate=True, conv_clamp=conv_clamp)
        self.fc = EqualLinear(widths[4] * 16, widths[4], activate=True)
        self.c_dim, self.cmap_dim = c_dim, (cmap_dim or widths[4]) if c_dim else 0
        self.out = EqualLinear(widths[4], self.cmap_dim or 1)
        if c_dim:
            self.mapping = MappingNetwork(0, self.cmap_dim, mapping_layers, mapping_lr_mul, c_dim)
        self.fp16_res = fp16_res  # recorded (computed in fp32)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.blocks(self.from_rgb(x))
        h = self.conv(self.mbstd(h))
        out = self.out(self.fc(h.flatten(1)))
        if not self.c_dim:
            return out.squeeze(1)
        if labels is None:
            raise ValueError(f"this discriminator is conditional ({self.c_dim} classes): give labels")
        c = labels.float() if labels.dtype.is_floating_point else F.one_hot(labels.long(), self.c_dim).float()
        return (out * self.mapping(None, c)).sum(dim=1) / math.sqrt(self.cmap_dim)
