"""BigGAN-deep for sampling imported weights (``ganzoo import --format biggan-hf``).

The generator of the ``pytorch-pretrained-biggan`` checkpoints (:mod:`ganzoo.nets.biggan_deep`).
No discriminator was released with them, so this variant samples, interpolates and is scored,
but does not train (``ganzoo run`` refuses it). Truncation as in those models: z is drawn from a
normal truncated at +-2 and scaled by ``truncation`` (0 < t <= 1), and the BatchNorm statistics
of that truncation are used.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field

from ..errors import GanzooError
from ..hookspecs import hookimpl
from ..interfaces import Variant, VariantOptions, eval_mode
from ..nets.biggan_deep import BigGANDeepGenerator


class BigGANDeepOptions(VariantOptions):
    z_dim: int = Field(128, gt=0, description="latent size (also the class embedding size)")
    channel_width: int = Field(128, gt=0, description="base width: block widths are multiples of it")
    layers: list[tuple[bool, int, int]] = Field(
        default_factory=lambda: [(False, 16, 16), (True, 16, 16), (False, 16, 16), (True, 16, 8),
                                 (False, 8, 8), (True, 8, 4), (False, 4, 4), (True, 4, 2),
                                 (False, 2, 2), (True, 2, 1)],
        description="blocks as [up-sample?, input width, output width] in multiples of channel_width")
    attention_layer_position: int = Field(8, ge=0, description="the block index before which the "
                                                               "self-attention layer sits")
    n_stats: int = Field(51, ge=2, description="stored BatchNorm statistics, for truncation 0..1")
    eps: float = Field(1e-4, gt=0, description="BatchNorm epsilon")
    truncation: float = Field(1.0, gt=0, le=1, description="truncation of sample() and previews")


def truncated_z(n: int, dim: int, psi: float, device, generator: torch.Generator | None) -> torch.Tensor:
    """z ~ N(0, I) truncated at +-2 (values beyond are drawn again), times ``psi``."""
    z = torch.randn(n, dim, generator=generator)
    while (bad := z.abs() > 2).any():
        z[bad] = torch.randn(int(bad.sum()), generator=generator)
    return (z * psi).to(device)


class BigGANDeep(Variant):
    """Class-conditional BigGAN-deep generator (sampling only)."""

    Options = BigGANDeepOptions
    supports = ("images",)
    conditional = True
    interpolates_classes = True
    truncation = "z"
    interpolation_space = "z"
    options: BigGANDeepOptions

    def __init__(self, options: BigGANDeepOptions, data) -> None:
        super().__init__(options, data)
        if not data.num_classes:
            raise GanzooError(f"variant '{options.name}' is class-conditional: its data_info needs "
                              f"num_classes")
        self.num_classes = int(data.num_classes)
        o = options
        self.G = BigGANDeepGenerator(o.z_dim, self.num_classes, o.channel_width, o.layers,
                                     o.attention_layer_position, o.n_stats, o.eps)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise GanzooError(f"variant '{self.options.name}' samples imported weights and cannot "
                          f"train (no discriminator was released with them)")

    def train_step(self, batches, ctx) -> dict[str, Any]:
        self.configure_optimizers()
        return {}

    def _labels(self, n: int, labels: torch.Tensor | None) -> torch.Tensor:
        if labels is None:
            return torch.arange(n, device=self._device()) % self.num_classes
        return torch.as_tensor(labels).to(self._device())

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.sample_truncated(n, self.options.truncation, generator, labels)

    @torch.no_grad()
    def sample_truncated(self, n: int, psi: float, generator: torch.Generator | None = None,
                         labels: torch.Tensor | None = None) -> torch.Tensor:
        if not 0 < psi <= 1:
            raise GanzooError(f"BigGAN-deep's truncation lies in (0, 1], got {psi}")
        z = truncated_z(n, self.G.z_dim, psi, self._device(), generator)
        with eval_mode(self.G):
            return self.G(z, self._labels(n, labels), psi)

    def latent_codes(self, n: int, generator: torch.Generator | None = None,
                     psi: float | None = None) -> torch.Tensor:
        return truncated_z(n, self.G.z_dim, psi or self.options.truncation, self._device(), generator)

    @torch.no_grad()
    def from_latent(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        with eval_mode(self.G):
            return self.G(codes, self._labels(codes.shape[0], labels), self.options.truncation)

    def fixed_inputs(self, n: int, generator: torch.Generator, examples: dict[str, torch.Tensor]) -> Any:
        return {"z": truncated_z(n, self.G.z_dim, self.options.truncation, self._device(), generator),
                "labels": self._labels(n, None)}

    @torch.no_grad()
    def preview(self, fixed: Any) -> torch.Tensor:
        with eval_mode(self.G):
            return self.G(fixed["z"], fixed["labels"], self.options.truncation)


@hookimpl
def register_variants(register) -> None:
    register("biggan_deep", BigGANDeep)
