"""Spectrally normalised discriminators (Miyato et al. 2018).

Spectral normalisation divides each layer's weight by an estimate of its largest singular value
(one power iteration per training forward pass), so every layer is 1-Lipschitz and so is D
(LeakyReLU is 1-Lipschitz too). BatchNorm would break that bound, so these discriminators have
none.

Two bodies: ganzoo's DCGAN discriminator without normalisation layers (``dcgan``), and the paper's
"standard CNN" (``cnn``, its Table 3): 3x3 stride-1 and 4x4 stride-2 convolutions alternating,
widths ndf, ndf, 2ndf, 2ndf, 4ndf, 4ndf, 8ndf, LeakyReLU 0.1, then a dense layer to one score.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo import GanzooError
from ganzoo.interfaces import Discriminator
from ganzoo.nets.dcgan import DCGANDiscriminator

NORMALISED = (nn.Conv2d, nn.Linear)


def spectral_normalise(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Put spectral normalisation on the weight of every conv and linear layer of ``module``.

    Call it after any weight initialisation: the original weight moves to
    ``layer.parametrizations.weight.original`` and ``layer.weight`` becomes the normalised one.
    """
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            raise GanzooError("a spectrally normalised discriminator must not use BatchNorm "
                              "(it is not 1-Lipschitz); build it without normalisation layers")
    for m in list(module.modules()):
        if isinstance(m, NORMALISED) and not parametrize.is_parametrized(m, "weight"):
            spectral_norm(m, n_power_iterations=n_power_iterations)
    return module


class SNCNNDiscriminator(Discriminator):
    """The SNGAN paper's standard CNN discriminator (64 channels at the first layer when ndf=64)."""

    def __init__(self, image_size: int, channels: int, ndf: int = 64, slope: float = 0.1) -> None:
        super().__init__()
        if image_size < 8 or image_size % 8:
            raise GanzooError(f"the SNGAN 'cnn' discriminator halves the image three times and needs "
                              f"an image size divisible by 8, got {image_size}; set data.image_size "
                              f"to 16, 32 or 64, or use variant.d_arch: dcgan")
        widths = [ndf, ndf, 2 * ndf, 2 * ndf, 4 * ndf, 4 * ndf, 8 * ndf]
        layers: list[nn.Module] = []
        width = channels
        for i, out in enumerate(widths):
            if i % 2 == 0:   # 3x3, stride 1: mixes channels at the current resolution
                layers.append(nn.Conv2d(width, out, 3, 1, 1))
            else:            # 4x4, stride 2: halves the resolution
                layers.append(nn.Conv2d(width, out, 4, 2, 1))
            layers.append(nn.LeakyReLU(slope))
            width = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width * (image_size // 8) ** 2, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x).flatten(1)).view(x.shape[0])


def sn_discriminator(arch: str, image_size: int, channels: int, ndf: int,
                     n_power_iterations: int = 1) -> Discriminator:
    """A spectrally normalised discriminator: ``arch`` is "dcgan" or "cnn"."""
    if arch == "dcgan":
        body: Discriminator = DCGANDiscriminator(image_size, channels, ndf, norm="none")
    elif arch == "cnn":
        body = SNCNNDiscriminator(image_size, channels, ndf)
    else:
        raise GanzooError(f"unknown SNGAN discriminator '{arch}'; use variant.d_arch: dcgan or cnn")
    return spectral_normalise(body, n_power_iterations)  # type: ignore[return-value]
