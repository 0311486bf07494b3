"""DCGAN discriminators with more than one output, for ACGAN, InfoGAN, EBGAN and BEGAN.

* :class:`AuxiliaryDCGANDiscriminator`: the DCGAN body down to 4x4, its adversarial 4x4 head, and
  an auxiliary head on the same features (ACGAN's class logits, InfoGAN's Q codes), so the
  auxiliary task shares all but the last layers with D, as the papers do.
* :class:`AutoencoderDiscriminator`: EBGAN's and BEGAN's D, an autoencoder (DCGAN body to a code,
  DCGAN generator back to an image) whose score is the per-sample reconstruction error: an
  *energy*, low for what it has learnt to reconstruct (real data).

``forward`` returns the adversarial score only, so losses and regularizers see an ordinary D;
``heads`` returns the score and the auxiliary output for the variant's extra loss terms.
"""

from __future__ import annotations

import torch
from torch import nn

from ..interfaces import Discriminator
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .mlp import init_normal


class AuxiliaryDCGANDiscriminator(Discriminator):
    """DCGAN D with a second head of ``aux_out`` outputs on the last 4x4 features; ``aux_hidden``
    > 0 puts a hidden layer (LeakyReLU) in that head (InfoGAN's Q), 0 a single 4x4 conv."""

    def __init__(self, image_size: int, channels: int, ndf: int, aux_out: int, norm: str = "batch",
                 aux_hidden: int = 0) -> None:
        super().__init__()
        base = DCGANDiscriminator(image_size, channels, ndf, norm=norm)
        self.body = base.net[:-1]          # ... -> (N, W, 4, 4)
        self.head = base.net[-1]           # 4x4 conv -> (N, 1, 1, 1)
        width = self.head.in_channels
        if aux_hidden:
            self.aux = nn.Sequential(nn.Conv2d(width, aux_hidden, 4, 1, 0), nn.Flatten(),
                                     nn.LeakyReLU(0.2, True), nn.Linear(aux_hidden, aux_out))
        else:
            self.aux = nn.Sequential(nn.Conv2d(width, aux_out, 4, 1, 0), nn.Flatten())
        init_normal(self)

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.head(h).view(x.shape[0]), self.aux(h)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.body(x)).view(x.shape[0])


class AutoencoderDiscriminator(Discriminator):
    """Encoder (DCGAN body, 4x4 conv to a ``code_dim`` code), decoder (DCGAN generator of width
    ``ndf``); score = per-sample mean squared (``energy: l2``, EBGAN) or absolute (``l1``,
    BEGAN) reconstruction error."""

    def __init__(self, image_size: int, channels: int, ndf: int, code_dim: int,
                 energy: str = "l2", norm: str = "batch") -> None:
        super().__init__()
        if energy not in ("l1", "l2"):
            raise ValueError(f"unknown energy {energy!r}")
        base = DCGANDiscriminator(image_size, channels, ndf, norm=norm)
        width = base.net[-1].in_channels
        self.encoder = nn.Sequential(*base.net[:-1], nn.Conv2d(width, code_dim, 4, 1, 0), nn.Flatten())
        self.decoder = DCGANGenerator(code_dim, image_size, channels, ndf)
        self.energy = energy
        init_normal(self)

    def reconstruct(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The reconstruction of ``x`` and its code."""
        code = self.encoder(x)
        return self.decoder(code), code

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rec, code = self.reconstruct(x)
        diff = (rec.float() - x.float()).flatten(1)
        err = diff.pow(2) if self.energy == "l2" else diff.abs()
        return err.mean(1), code

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.heads(x)[0]
