"""The common shape of a two-network GAN, for variants to build on.

:class:`AdversarialVariant` holds a generator ``G``, a discriminator ``D``, a pluggable
:class:`~ganzoo.Loss`, two Adam optimizers and the alternating update rule: ``d_steps``
discriminator updates (each on a fresh real batch), then one generator update. Subclasses build
the networks and may add a regulariser to the discriminator's loss (``d_penalty``) or constrain
it after each step (``after_d_step``), which is all WGAN and WGAN-GP need.
"""

from __future__ import annotations

from typing import Any, Iterator

import torch
from pydantic import Field, field_validator

from .errors import GanzooError
from .interfaces import Discriminator, Generator, StepContext, Variant, VariantOptions
from .plugins import create_loss, get_registry, loaded_registry


class AdversarialOptions(VariantOptions):
    z_dim: int = Field(100, gt=0, description="latent size")
    loss: str = Field("bce", description="adversarial loss: see 'ganzoo list losses'")
    lr_g: float = Field(2e-4, gt=0)
    lr_d: float = Field(2e-4, gt=0)
    betas: tuple[float, float] = Field((0.5, 0.999), description="Adam betas")
    d_steps: int = Field(1, gt=0, description="discriminator updates per generator update")
    lr_decay_start: float | None = Field(
        None, ge=0, lt=1, description="decay every learning rate linearly to 0 from this fraction "
                                      "of train.steps on (None: constant)")

    @field_validator("loss")
    @classmethod
    def _registered_loss(cls, v: str) -> str:
        """Check the name against the registry here, so the config error names file and line
        (while plugins are still loading, the check is left to the constructor below)."""
        registry = loaded_registry()
        try:
            if registry is not None:
                registry.entry("losses", v)
        except GanzooError as exc:
            raise ValueError(str(exc)) from None
        return v


def linear_decay(start: float, total_steps: int):
    """LR factor for LambdaLR: 1 until ``start * total_steps`` steps, then linearly down to 0."""
    begin = int(start * total_steps)
    span = max(1, total_steps - begin)

    def factor(step: int) -> float:
        return 1.0 if step < begin else max(0.0, (total_steps - step) / span)

    return factor


class AdversarialVariant(Variant):
    """G, D, a loss and the alternating update. Subclasses implement ``build_networks``."""

    Options = AdversarialOptions
    supports_accumulation = True
    G: Generator
    D: Discriminator

    def __init__(self, options: AdversarialOptions, data) -> None:
        super().__init__(options, data)
        get_registry().entry("losses", options.loss)  # unknown loss -> error with suggestion
        self.loss = create_loss(options.loss)
        self.G, self.D = self.build_networks()

    def build_networks(self) -> tuple[Generator, Discriminator]:
        raise NotImplementedError

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        o = self.options
        return {"G": torch.optim.Adam(self.G.parameters(), lr=o.lr_g, betas=o.betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=o.lr_d, betas=o.betas)}

    def configure_schedulers(self, optimizers: dict[str, torch.optim.Optimizer],
                             total_steps: int) -> dict[str, Any]:
        """Linear decay to 0 from ``lr_decay_start * total_steps`` on (options without it: none)."""
        start = getattr(self.options, "lr_decay_start", None)
        if start is None:
            return {}
        return {name: torch.optim.lr_scheduler.LambdaLR(opt, linear_decay(start, total_steps))
                for name, opt in optimizers.items()}

    # -- update rule -------------------------------------------------------------------------
    def d_penalty(self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Extra discriminator loss terms, by name (none by default)."""
        return {}

    def after_d_step(self) -> None:
        """Called after each discriminator update (weight clipping goes here)."""

    def train_step(self, batches: Iterator[dict[str, torch.Tensor]], ctx: StepContext) -> dict[str, Any]:
        """``d_steps`` D updates, each on fresh real batches, then one G update.

        With gradient accumulation every update sums the gradients of ``ctx.accumulate``
        micro-batches (``ctx.backward`` scales each), and the G update draws one latent batch per
        micro-batch, with the labels of the last D update's micro-batches.
        """
        opt_g, opt_d = self.optimizers["G"], self.optimizers["D"]
        logs: dict[str, Any] = {}
        for _ in range(self.options.d_steps):
            opt_d.zero_grad(set_to_none=True)
            d_loss_sum: torch.Tensor | float = 0.0
            term_sums: dict[str, torch.Tensor] = {}
            micro: list[tuple[int, torch.Tensor | None]] = []  # (size, labels) for the G update
            for _ in range(ctx.accumulate):
                batch = next(batches)
                real, labels = batch["x"], batch.get("y")
                z = self.G.sample_latent(real.shape[0], device=real.device)
                with ctx.autocast():
                    with torch.no_grad():
                        fake = self.G(z, labels)
                    d_loss = self.loss.d_loss(self.D(real, labels), self.D(fake, labels))
                    terms = self.d_penalty(real, fake, labels)
                    total = d_loss + sum(terms.values()) if terms else d_loss
                ctx.backward(total)
                d_loss_sum = d_loss_sum + d_loss.detach()
                for k, v in terms.items():
                    term_sums[k] = term_sums.get(k, 0.0) + v.detach()
                micro.append((real.shape[0], labels))
            ctx.step(opt_d, "D")
            self.after_d_step()
        logs["loss_d"] = d_loss_sum / ctx.accumulate
        logs.update({k: v / ctx.accumulate for k, v in term_sums.items()})

        opt_g.zero_grad(set_to_none=True)
        g_loss_sum: torch.Tensor | float = 0.0
        for n, labels in micro:
            z = self.G.sample_latent(n, device=self._device())
            with ctx.autocast():
                g_loss = self.loss.g_loss(self.D(self.G(z, labels), labels))
            ctx.backward(g_loss)
            g_loss_sum = g_loss_sum + g_loss.detach()
        ctx.step(opt_g, "G")
        logs["loss_g"] = g_loss_sum / ctx.accumulate
        return logs

    # -- sampling ----------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        z = self.G.sample_latent(n, device=self._device(), generator=generator)
        return self.preview(z) if labels is None else self._eval_call(z, labels)

    @torch.no_grad()
    def _eval_call(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        was = self.G.training
        self.G.eval()
        try:
            return self.G(z, labels.to(z.device))
        finally:
            self.G.train(was)
