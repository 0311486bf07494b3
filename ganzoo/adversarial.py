"""The common shape of a two-network GAN, for variants to build on.

:class:`AdversarialVariant` holds a generator ``G``, a discriminator ``D``, a pluggable
:class:`~ganzoo.Loss`, two Adam optimizers, the run's regularizers
(:mod:`ganzoo.regularizers`, ``variant.regularizers``) and the alternating update rule:
``d_steps`` discriminator updates (each on a fresh real batch), then one generator update.
Subclasses build the networks and may constrain D after each step (``after_d_step``): that is
all WGAN needs, and WGAN-GP is WGAN with the ``gp`` regularizer.
"""

from __future__ import annotations

from typing import Any, Iterator

import torch
from pydantic import Field, field_validator, model_validator

from .augment import ADAOptions, AugmentedDiscriminator, build_augment
from .compat import check_loss_scores, schema_mismatch
from .errors import GanzooError
from .interfaces import (Betas, Discriminator, Generator, StepContext, Variant, VariantOptions,
                         eval_mode)
from .plugins import create_loss, get_registry, loaded_registry
from .regularizers import DiscriminatorTerms, GeneratorTerms, RegularizerSet, validate_specs
from .schedules import linear_decay_from


class RegularizedOptions(VariantOptions):
    """Options of every variant that takes regularizers (all adversarial ones)."""

    regularizers: list[Any] = Field(
        [], description="regularizers: names or {name: r1, gamma: 10.0, every: 16} (see "
                        "'ganzoo list regularizers')")

    @field_validator("regularizers")
    @classmethod
    def _registered_regularizers(cls, v: list[Any]) -> list[dict[str, Any]]:
        """Each item validated by its own Options model (when the plugins have loaded)."""
        return validate_specs(v, loaded_registry())

    ada: ADAOptions | None = Field(
        None, description="adaptive discriminator augmentation, e.g. {target: 0.6} (see "
                          "ganzoo.augment); null: off")

    @model_validator(mode="after")
    def _regularizers_read_these_scores(self):
        """Regularizers that cannot read this variant's scores (``d_scores``) are refused here,
        so ``ganzoo config check`` names them (checked again when the variant is built)."""
        registry = loaded_registry()
        message = registry and schema_mismatch(registry, self.name, None, self.regularizers)
        if message:
            raise ValueError(message)
        return self


class AdversarialOptions(RegularizedOptions):
    z_dim: int = Field(100, gt=0, description="latent size")
    loss: str = Field("bce", description="adversarial loss: see 'ganzoo list losses'")
    lr_g: float = Field(2e-4, gt=0)
    lr_d: float = Field(2e-4, gt=0)
    betas: Betas = Field((0.5, 0.999), description="Adam betas")
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

    @model_validator(mode="after")
    def _loss_reads_these_scores(self):
        """A loss that cannot read this variant's scores is refused here too (see above)."""
        registry = loaded_registry()
        message = registry and schema_mismatch(registry, self.name, self.loss, [])
        if message:
            raise ValueError(message)
        return self


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
        check_loss_scores(self.loss, options.loss, options.name, self.d_scores)
        self.regularizers = RegularizerSet(self.regularizer_specs(), data.kind, self.d_scores,
                                           options.name)
        self.term_logs: dict[str, torch.Tensor] = {}
        self.G, self.D = self.build_networks()
        self.augment = build_augment(getattr(options, "ada", None), data.kind)

    def regularizer_specs(self) -> list[dict[str, Any]]:
        """The run's regularizers (``variant.regularizers``); a variant may add its own."""
        return list(self.options.regularizers)

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
        return {name: torch.optim.lr_scheduler.LambdaLR(opt, linear_decay_from(start, total_steps))
                for name, opt in optimizers.items()}

    # -- update rule -------------------------------------------------------------------------
    def after_d_step(self) -> None:
        """Called after each discriminator update (weight clipping goes here)."""

    # Hooks for variants whose D has more than the adversarial output (a class head, a Q head,
    # an autoencoder's code) and whose losses have more terms. ``discriminate`` returns the scores
    # the loss reads and whatever else the extra terms need ("aux"); the extra terms join the
    # losses as they are (weighted by the variant) and are logged under their keys.
    def discriminate(self, critic: torch.nn.Module, x: torch.Tensor,
                     labels: torch.Tensor | None) -> tuple[torch.Tensor, Any]:
        """D's scores of ``x`` and its auxiliary outputs (default: none)."""
        return critic(x, labels), None

    def discriminator_extra(self, z: torch.Tensor, labels: torch.Tensor | None, real_aux: Any,
                            fake_aux: Any) -> dict[str, torch.Tensor]:
        """Extra terms of the D loss, by log name (default: none)."""
        return {}

    def generator_extra(self, z: torch.Tensor, labels: torch.Tensor | None,
                        fake_aux: Any) -> dict[str, torch.Tensor]:
        """Extra terms of the G loss, by log name (default: none)."""
        return {}

    def _with_extra(self, loss: torch.Tensor, extra: dict[str, torch.Tensor]) -> torch.Tensor:
        for name, value in extra.items():
            self.term_logs[name] = value.detach()
            loss = loss + value
        return loss

    def train_step(self, batches: Iterator[dict[str, torch.Tensor]], ctx: StepContext) -> dict[str, Any]:
        """``d_steps`` D updates, each on fresh real batches, then one G update.

        With gradient accumulation every update sums the gradients of ``ctx.accumulate``
        micro-batches (``ctx.backward`` scales each), and the G update draws one latent batch per
        micro-batch, with the real batches and labels of the last D update's micro-batches.
        """
        d_steps = self.options.d_steps
        for i in range(d_steps):
            loss_d, micro = self.discriminator_update(batches, ctx, ctx.step_index * d_steps + i)
            self.after_d_step()
        loss_g = self.generator_update(micro, ctx, ctx.step_index)
        logs = {"loss_d": loss_d, "loss_g": loss_g, **self.term_logs, **self.regularizers.logs()}
        return logs if self.augment is None else {**logs, **self.augment.logs()}

    def d_view(self) -> torch.nn.Module:
        """D as the updates use it: behind the ADA augmentation when ``variant.ada`` is on."""
        return self.D if self.augment is None else AugmentedDiscriminator(self.augment, self.D)

    def discriminator_update(self, batches: Iterator[dict[str, torch.Tensor]], ctx: StepContext,
                             update_index: int) -> tuple[torch.Tensor, list]:
        """One D update over ``ctx.accumulate`` micro-batches: the loss plus the regularizers due
        at ``update_index``. Returns the mean D loss and each micro-batch's (real, labels)."""
        opt_d = self.optimizers["D"]
        opt_d.zero_grad(set_to_none=True)
        loss_sum: torch.Tensor | float = 0.0
        micro: list[tuple[torch.Tensor, torch.Tensor | None]] = []
        critic, seen_real_scores = self.d_view(), []
        for _ in range(ctx.accumulate):
            batch = next(batches)
            real, labels = batch["x"], batch.get("y")
            z = self.G.sample_latent(real.shape[0], device=real.device)
            with ctx.autocast():
                with torch.no_grad():
                    fake = self.G(z, labels)
                real_scores, real_aux = self.discriminate(critic, real, labels)
                fake_scores, fake_aux = self.discriminate(critic, fake, labels)
                d_loss = self.loss.d_loss(real_scores, fake_scores)
                terms = self.regularizers.terms("D", update_index, DiscriminatorTerms(
                    critic, real, fake, labels, real_scores, fake_scores))
                total = d_loss + sum(terms.values()) if terms else d_loss
                total = self._with_extra(total, self.discriminator_extra(z, labels, real_aux, fake_aux))
            ctx.backward(total)
            loss_sum = loss_sum + d_loss.detach()
            micro.append((real, labels))
            seen_real_scores.append(real_scores.detach())
        ctx.step(opt_d, "D")
        if self.augment is not None:
            self.augment.observe(torch.cat(seen_real_scores))
        return loss_sum / ctx.accumulate, micro

    def generator_update(self, micro: list, ctx: StepContext, update_index: int) -> torch.Tensor:
        """One G update, one latent batch per micro-batch of the last D update. A loss that
        compares with real scores gets D's scores of that real batch, after D's update."""
        opt_g = self.optimizers["G"]
        opt_g.zero_grad(set_to_none=True)
        loss_sum: torch.Tensor | float = 0.0
        critic = self.d_view()
        for real, labels in micro:
            z = self.G.sample_latent(real.shape[0], device=self._device())
            with ctx.autocast():
                fake = self.G(z, labels)
                fake_scores, fake_aux = self.discriminate(critic, fake, labels)
                real_scores = None
                if self.loss.uses_real_scores_in_g:
                    with torch.no_grad():
                        real_scores = critic(real, labels)
                g_loss = self.loss.g_loss(fake_scores, real_scores)
                terms = self.regularizers.terms("G", update_index, GeneratorTerms(
                    self.G, critic, z, labels, fake, fake_scores))
                total = g_loss + sum(terms.values()) if terms else g_loss
                total = self._with_extra(total, self.generator_extra(z, labels, fake_aux))
            ctx.backward(total)
            loss_sum = loss_sum + g_loss.detach()
        ctx.step(opt_g, "G")
        return loss_sum / ctx.accumulate

    def extra_state(self) -> dict[str, Any]:
        """The regularizers' running state (LeCam's averages), when there are regularizers."""
        return {"regularizers": self.regularizers.state_dict()} if self.regularizers.items else {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if self.regularizers.items:
            self.regularizers.load_state_dict(state.get("regularizers", []))

    # -- sampling ----------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        z = self.G.sample_latent(n, device=self._device(), generator=generator)
        return self.preview(z) if labels is None else self._eval_call(z, labels)

    @torch.no_grad()
    def _eval_call(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        with eval_mode(self.G):
            return self.G(z, labels.to(z.device))
