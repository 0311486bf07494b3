"""FIR resampling as in the official StyleGAN2 (Karras et al. 2020), written from the maths.

``upfirdn2d(x, f, up, down, pad, gain)`` does, per channel: insert ``up - 1`` zeros after every
pixel, pad with zeros (a negative pad crops), convolve with the 2-D filter ``f`` and keep every
``down``-th pixel (the definition of scipy's ``upfirdn``). The filter is the normalised outer
product of the taps [1, 3, 3, 1]; up-sampling multiplies it by ``up ** 2`` so that the mean of
the signal is kept. The convolutions of the official networks are built on it:

* up 2x (generator): a stride-2 transposed convolution, then the filter (padding 1 each side);
* down 2x (discriminator): the filter (padding 2), then a stride-2 convolution; for a 1x1 kernel
  the filter with stride 2 (padding 1) and then the 1x1 convolution.

Used by the StyleGAN2 networks when ``resample="fir"`` (the layout of imported snapshots).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def fir_filter(taps: tuple[float, ...] = (1.0, 3.0, 3.0, 1.0), device=None,
               dtype=torch.float32) -> torch.Tensor:
    """The 2-D filter: the outer product of ``taps`` with itself, summing to 1."""
    t = torch.tensor(taps, dtype=torch.float64)
    kernel = t[:, None] * t[None, :]
    return (kernel / kernel.sum()).to(device=device, dtype=dtype)


def upfirdn2d(x: torch.Tensor, f: torch.Tensor, up: int = 1, down: int = 1,
              pad: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """Zero-insert by ``up``, pad ``(left, right, top, bottom)``, filter, keep every ``down``-th."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, (0, up - 1, 0, 0, 0, up - 1)).reshape(n, c, h * up, w * up)
    left, right, top, bottom = pad
    x = F.pad(x, (max(left, 0), max(right, 0), max(top, 0), max(bottom, 0)))
    x = x[:, :, max(-top, 0):x.shape[2] - max(-bottom, 0), max(-left, 0):x.shape[3] - max(-right, 0)]
    kernel = (f * gain).flip((0, 1)).to(x.dtype)  # convolution, not correlation
    x = F.conv2d(x, kernel[None, None].repeat(c, 1, 1, 1), groups=c)
    return x[:, :, ::down, ::down]


def upsample_fir(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """2x up-sampling by the filter alone (the skip generator's image path)."""
    k = f.shape[-1]
    return upfirdn2d(x, f, up=2, pad=((k + 1) // 2, (k - 2) // 2, (k + 1) // 2, (k - 2) // 2), gain=4.0)


def conv_up2(x: torch.Tensor, weight: torch.Tensor, f: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """A same-padded ``k x k`` convolution of the 2x up-sampled ``x``: transposed convolution with
    stride 2 (``weight`` ``(out, in / groups, k, k)``, not flipped), then the filter."""
    out_c, in_per_group, k, _ = weight.shape
    w = weight.reshape(groups, out_c // groups, in_per_group, k, k).transpose(1, 2)
    w = w.reshape(groups * in_per_group, out_c // groups, k, k)
    x = F.conv_transpose2d(x, w, stride=2, groups=groups)
    p = k // 2
    taps = f.shape[-1]
    left = p + (taps + 1) // 2 - (k - 1)
    right = p + (taps - 2) // 2 - (k - 2)
    return upfirdn2d(x, f, pad=(left, right, left, right), gain=4.0)


def conv_down2(x: torch.Tensor, weight: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """A ``k x k`` convolution with stride 2 after the filter (same-padded for 3x3; a 1x1 kernel
    is applied after a stride-2 filter)."""
    k, taps = weight.shape[-1], f.shape[-1]
    p = k // 2
    left, right = p + (taps - 1) // 2, p + (taps - 2) // 2
    if k == 1:
        return F.conv2d(upfirdn2d(x, f, down=2, pad=(left, right, left, right)), weight)
    return F.conv2d(upfirdn2d(x, f, pad=(left, right, left, right)), weight, stride=2)
