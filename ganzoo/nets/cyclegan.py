"""CycleGAN networks (Zhu et al. 2017): the ResNet generator and the 70x70 PatchGAN discriminator.

Module order follows the authors' PyTorch code exactly, so that their published generator state
dicts (``latest_net_G_A.pth``: keys ``model.N.weight`` / ``model.N.bias``) load without renaming.
For ``n_blocks`` residual blocks the ``model`` Sequential is::

    0 ReflectionPad2d(3)   1 Conv2d(C, ngf, 7)        2 InstanceNorm   3 ReLU
    4 Conv2d(ngf, 2ngf, 3, stride 2, pad 1)           5 InstanceNorm   6 ReLU
    7 Conv2d(2ngf, 4ngf, 3, stride 2, pad 1)          8 InstanceNorm   9 ReLU
    10 .. 10+n_blocks-1: ResnetBlock(4ngf), each ``conv_block`` = Sequential(
         0 ReflectionPad2d(1), 1 Conv2d 3x3, 2 InstanceNorm, 3 ReLU,
         4 ReflectionPad2d(1), 5 Conv2d 3x3, 6 InstanceNorm)
    k=10+n_blocks:  ConvTranspose2d(4ngf, 2ngf, 3, stride 2, pad 1, output_padding 1), IN, ReLU
    k+3:            ConvTranspose2d(2ngf, ngf, ...), IN, ReLU
    k+6 ReflectionPad2d(3)   k+7 Conv2d(ngf, C, 7)   k+8 Tanh

InstanceNorm has no affine parameters and no running statistics, so it has no state-dict entries;
every conv has a bias (the reference sets ``use_bias`` when the norm is InstanceNorm).
"""

from __future__ import annotations

import torch
from torch import nn

from ..interfaces import Discriminator


def _norm(channels: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    """x + conv_block(x), two reflection-padded 3x3 convs (reference layout: ``conv_block.N``)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, padding=0, bias=True), _norm(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, padding=0, bias=True), _norm(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """Image-to-image ResNet generator; fully convolutional (any H, W divisible by 4)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 9) -> None:
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        self.in_channels, self.out_channels, self.ngf, self.n_blocks = in_channels, out_channels, ngf, n_blocks
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, padding=0, bias=True),
                                   _norm(ngf), nn.ReLU(True)]
        width = ngf
        for _ in range(2):  # two stride-2 downsamplings
            layers += [nn.Conv2d(width, width * 2, 3, stride=2, padding=1, bias=True), _norm(width * 2),
                       nn.ReLU(True)]
            width *= 2
        layers += [ResnetBlock(width) for _ in range(n_blocks)]
        for _ in range(2):  # two stride-2 transposed convs back up
            layers += [nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1, bias=True),
                       _norm(width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PatchDiscriminator(Discriminator):
    """The 70x70 PatchGAN (``n_layers=3``): a map of real/fake scores, one per overlapping patch.

    Reference layout (``model.N``): conv 4x4 s2 (ndf, no norm), LeakyReLU 0.2; ``n_layers - 1``
    blocks of conv 4x4 s2 + InstanceNorm + LeakyReLU with widths ndf*min(2^n, 8); one more at
    stride 1; a final 4x4 conv to one channel. All convs have biases.
    """

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=True),
                       _norm(ndf * mult), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.model(x)



#: buffers that InstanceNorm layers of checkpoints saved before PyTorch 0.4 carry; ours have none
_STALE_NORM_KEYS = ("running_mean", "running_var", "num_batches_tracked")


def generator_from_state_dict(state: dict[str, torch.Tensor], ngf: int | None = None,
                              n_blocks: int | None = None) -> ResnetGenerator:
    """A :class:`ResnetGenerator` holding a raw generator state dict (e.g. the authors'
    ``latest_net_G_A.pth``). ``ngf`` and ``n_blocks`` are read from the tensors unless given; stale
    InstanceNorm buffers are dropped as the reference loader does. Raises ``ValueError`` with a
    one-line reason when the dict does not fit."""
    import re

    if not isinstance(state, dict) or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise ValueError("not a state dict of tensors")
    state = {k: v for k, v in state.items() if k.rsplit(".", 1)[-1] not in _STALE_NORM_KEYS}
    if "model.1.weight" not in state:
        raise ValueError("no 'model.1.weight' (the first 7x7 conv of a CycleGAN ResNet generator)")
    first = state["model.1.weight"]
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"model\.(\d+)\.conv_block\.", k))}
    ngf = int(first.shape[0]) if ngf is None else ngf
    n_blocks = len(blocks) if n_blocks is None else n_blocks
    last = state.get(f"model.{10 + n_blocks + 7}.weight")
    out_channels = int(last.shape[0]) if last is not None and last.dim() == 4 else int(first.shape[1])
    net = ResnetGenerator(int(first.shape[1]), out_channels, ngf, n_blocks)
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise ValueError(f"it does not fit a ResNet generator with ngf={ngf}, n_blocks={n_blocks} "
                         f"({detail[:300]})") from None
    return net
