"""Regularizers: extra loss terms for the discriminator (or the generator), as plugins.

A run lists them in its variant options::

    variant:
      regularizers: [{name: r1, gamma: 10.0, every: 16}, {name: lecam, weight: 0.3}]

Every adversarial variant (:class:`ganzoo.adversarial.AdversarialVariant`) applies them without
code of its own. **Lazy regularization** (StyleGAN2): a regularizer with ``every: N`` is applied
on every N-th update of its network only, and its term is multiplied by N there, so the average
strength stays the same at 1/N of the cost. Each one's value (the term before that factor of N) is
logged as ``reg/<name>``.

Built in: ``r1`` and ``r2`` (zero-centred gradient penalties on real / generated samples, Mescheder
et al. 2018), ``gp`` (WGAN-GP's penalty, Gulrajani et al. 2017), ``lecam`` (Tseng et al. 2021),
``bcr`` (balanced consistency regularization, Zhao et al. 2020) and ``ortho`` (BigGAN's
off-diagonal orthogonal regularization of the generator's weights, Brock et al. 2019).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import nn

from .compat import check_regularizer_scores
from .errors import ConfigError, GanzooError
from .hookspecs import hookimpl


class RegularizerOptions(BaseModel):
    """Base of every regularizer's options: one item of ``variant.regularizers``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="registered regularizer name ('ganzoo list regularizers')")
    every: int = Field(1, ge=1, description="lazy interval: applied every N updates, its term x N")


@dataclass
class DiscriminatorTerms:
    """What a discriminator-side regularizer sees in one discriminator update (one micro-batch).

    ``real_scores`` and ``fake_scores`` are the discriminator's outputs of this update, still
    attached to its graph; ``fake`` is detached from the generator."""

    D: nn.Module
    real: torch.Tensor
    fake: torch.Tensor
    labels: torch.Tensor | None
    real_scores: torch.Tensor
    fake_scores: torch.Tensor


@dataclass
class GeneratorTerms:
    """What a generator-side regularizer sees in one generator update (one micro-batch)."""

    G: nn.Module
    D: nn.Module
    z: torch.Tensor
    labels: torch.Tensor | None
    fake: torch.Tensor
    fake_scores: torch.Tensor


class Regularizer(ABC):
    """One regularization term. Subclasses set ``Options``, ``target`` and ``penalty``.

    ``penalty`` returns the weighted term for one update, before the lazy factor. State that a
    resume needs (running averages) goes in ``state_dict``/``load_state_dict``.
    """

    name: ClassVar[str] = ""
    Options: ClassVar[type[RegularizerOptions]] = RegularizerOptions
    #: the network whose loss the term joins: "D" (discriminator) or "G" (generator)
    target: ClassVar[Literal["D", "G"]] = "D"
    #: data kinds it works on
    supports: ClassVar[tuple[str, ...]] = ("images", "points")
    #: the kinds of discriminator scores it reads (see ``Variant.d_scores``): a penalty that
    #: assumes real scores are high, or a unit gradient norm, does not fit an energy (lower = real)
    scores: ClassVar[tuple[str, ...]] = ("logit",)

    def __init__(self, options: RegularizerOptions) -> None:
        self.options = options

    @abstractmethod
    def penalty(self, terms: Any) -> torch.Tensor:
        ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def input_gradient_norm2(D: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """Per-sample ``||grad_x sum D(x)||^2`` with the graph kept for the backward pass.

    In fp32 with autocast off: fp16 input gradients underflow, and the term is second order."""
    x = x.detach().float().requires_grad_(True)
    with torch.autocast(device_type=x.device.type, enabled=False):
        scores = D(x, labels)
        (grad,) = torch.autograd.grad(scores.float().sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(1)


class R1Options(RegularizerOptions):
    gamma: float = Field(10.0, ge=0, description="the penalty is gamma / 2 * E ||grad D||^2")


class R1(Regularizer):
    """Zero-centred gradient penalty on real samples: ``gamma / 2 * E_real ||grad_x D(x)||^2``."""

    name = "r1"
    Options = R1Options
    scores = ("logit", "energy")  # zero-centred: real samples at a flat point suits an energy too

    def penalty(self, terms: DiscriminatorTerms) -> torch.Tensor:
        return 0.5 * self.options.gamma * input_gradient_norm2(terms.D, terms.real, terms.labels).mean()


class R2(R1):
    """The same penalty on generated samples (``gamma / 2 * E_fake ||grad_x D(x)||^2``)."""

    name = "r2"

    def penalty(self, terms: DiscriminatorTerms) -> torch.Tensor:
        return 0.5 * self.options.gamma * input_gradient_norm2(terms.D, terms.fake, terms.labels).mean()


class GPOptions(RegularizerOptions):
    weight: float = Field(10.0, ge=0, description="lambda: weight of the penalty")


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     labels: torch.Tensor | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """``E[(||grad_x D(x_hat)||_2 - 1)^2]`` at ``x_hat = eps real + (1 - eps) fake``, per-sample ``eps``.

    Computed in fp32 with autocast off: fp16 input gradients underflow, and the penalty is a
    second-order term whose graph is kept (``create_graph``) for the critic's backward pass.
    """
    real = real.detach().float()
    fake = fake.detach().float()
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, generator=generator)
    x_hat = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    with torch.autocast(device_type=real.device.type, enabled=False):
        scores = critic(x_hat, labels)
        (grad,) = torch.autograd.grad(scores.float().sum(), x_hat, create_graph=True)
        norms = grad.flatten(1).norm(2, dim=1)
        return ((norms - 1.0) ** 2).mean()


class GP(Regularizer):
    """WGAN-GP's penalty, ``weight * E[(||grad D(x_hat)|| - 1)^2]`` at random interpolates."""

    name = "gp"
    Options = GPOptions

    def penalty(self, terms: DiscriminatorTerms) -> torch.Tensor:
        return self.options.weight * gradient_penalty(terms.D, terms.real, terms.fake, terms.labels)


class LeCamOptions(RegularizerOptions):
    weight: float = Field(0.3, ge=0, description="lambda: weight of the term")
    decay: float = Field(0.99, gt=0, lt=1, description="decay of the running score averages")


class LeCam(Regularizer):
    """LeCam: ``E[relu(D(x) - a_fake)^2] + E[relu(a_real - D(G(z)))^2]`` with ``a_real``, ``a_fake``
    running averages of the discriminator's mean scores; it keeps D's predictions from drifting
    apart when data is scarce."""

    name = "lecam"
    Options = LeCamOptions

    def __init__(self, options: LeCamOptions) -> None:
        super().__init__(options)
        self.ema_real = 0.0
        self.ema_fake = 0.0

    def penalty(self, terms: DiscriminatorTerms) -> torch.Tensor:
        d = self.options.decay
        self.ema_real = d * self.ema_real + (1 - d) * float(terms.real_scores.detach().float().mean())
        self.ema_fake = d * self.ema_fake + (1 - d) * float(terms.fake_scores.detach().float().mean())
        return self.options.weight * (F.relu(terms.real_scores - self.ema_fake).pow(2).mean()
                                      + F.relu(self.ema_real - terms.fake_scores).pow(2).mean())

    def state_dict(self) -> dict[str, Any]:
        return {"ema_real": self.ema_real, "ema_fake": self.ema_fake}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.ema_real, self.ema_fake = float(state["ema_real"]), float(state["ema_fake"])


class BCROptions(RegularizerOptions):
    weight_real: float = Field(10.0, ge=0, description="lambda_real: consistency on real images")
    weight_fake: float = Field(10.0, ge=0, description="lambda_fake: consistency on generated images")
    translate: float = Field(0.125, ge=0, lt=0.5, description="largest shift, as a fraction of the size")


def flip_and_translate(x: torch.Tensor, fraction: float) -> torch.Tensor:
    """A random horizontal flip and a random integer shift (zero padded) per image: bCR's T."""
    n, _, h, w = x.shape
    flip = torch.rand(n, device=x.device) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    pad_h, pad_w = int(round(h * fraction)), int(round(w * fraction))
    if pad_h == 0 and pad_w == 0:
        return x
    padded = F.pad(x, (pad_w, pad_w, pad_h, pad_h))
    dy = torch.randint(0, 2 * pad_h + 1, (n,), device=x.device)
    dx = torch.randint(0, 2 * pad_w + 1, (n,), device=x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device)[None])[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device)[None])[:, None, None, :]
    index = torch.arange(n, device=x.device)[:, None, None, None]
    channels = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[index, channels, rows, cols]


class BCR(Regularizer):
    """Balanced consistency regularization: D's scores should not change under a flip and a small
    shift, on real (``weight_real``) and generated (``weight_fake``) images alike."""

    name = "bcr"
    Options = BCROptions
    supports = ("images",)
    scores = ("logit", "energy")

    def penalty(self, terms: DiscriminatorTerms) -> torch.Tensor:
        o = self.options
        real_aug = terms.D(flip_and_translate(terms.real, o.translate), terms.labels)
        fake_aug = terms.D(flip_and_translate(terms.fake.detach(), o.translate), terms.labels)
        return (o.weight_real * (real_aug - terms.real_scores).pow(2).mean()
                + o.weight_fake * (fake_aug - terms.fake_scores).pow(2).mean())


class OrthoOptions(RegularizerOptions):
    weight: float = Field(1e-4, ge=0, description="beta: weight of the term")


class Ortho(Regularizer):
    """BigGAN's orthogonal regularization of G: ``beta * sum_W ||W W^T * (1 - I)||_F^2`` over every
    weight matrix (convolutions flattened to (out, in*k*k)); biases, gains and embeddings excluded."""

    name = "ortho"
    Options = OrthoOptions
    target = "G"
    scores = ("logit", "energy")

    def penalty(self, terms: GeneratorTerms) -> torch.Tensor:
        total = terms.fake_scores.new_zeros(())
        for module in terms.G.modules():
            if not isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                continue
            w = getattr(module, "weight_orig", module.weight).flatten(1)
            gram = w @ w.t()
            total = total + (gram * (1 - torch.eye(gram.shape[0], device=w.device))).pow(2).sum()
        return self.options.weight * total


BUILTIN_REGULARIZERS = (R1, R2, GP, LeCam, BCR, Ortho)


@hookimpl
def register_regularizers(register) -> None:
    for cls in BUILTIN_REGULARIZERS:
        register(cls.name, cls)


# -- building a run's regularizers from its options --------------------------------------------
def regularizer_class(name: str) -> type[Regularizer]:
    from .plugins import get_registry

    return get_registry().get("regularizers", name)


def validate_specs(specs: list[Any], registry: Any = None) -> list[dict[str, Any]]:
    """Each item (a name or a mapping with ``name``) checked against its regularizer's Options;
    returned as plain dicts with every default filled in (what ``config.yaml`` records)."""
    out = []
    for i, spec in enumerate(specs):
        if isinstance(spec, str):
            spec = {"name": spec}
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise ValueError(f"item {i} must be a name or a mapping with 'name', not {spec!r}")
        if registry is None:  # plugins still loading: checked when the variant is built
            out.append(dict(spec))
            continue
        try:
            cls = registry.get("regularizers", spec["name"])
        except GanzooError as exc:
            raise ValueError(str(exc)) from None
        try:
            out.append(cls.Options(**spec).model_dump())
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ValueError(f"item {i} ({spec['name']}): {where}: {err['msg']}") from None
    return out


class RegularizerSet:
    """A run's regularizers, applied lazily on the updates they are due (``every``)."""

    def __init__(self, specs: list[dict[str, Any]], data_kind: str, d_scores: str = "logit",
                 variant: str = "") -> None:
        self.items: list[Regularizer] = []
        for spec in validate_specs(specs, _registry()):
            reg = regularizer_class(spec["name"])(regularizer_class(spec["name"]).Options(**spec))
            if data_kind not in reg.supports:
                raise ConfigError(f"regularizer '{reg.name}' works on {', '.join(reg.supports)} "
                                  f"data, not {data_kind}; remove it from variant.regularizers",
                                  key="variant.regularizers")
            check_regularizer_scores(reg, spec["name"], variant, d_scores)
            self.items.append(reg)
        self.last: dict[str, torch.Tensor] = {}

    def terms(self, target: str, update_index: int, inputs: Any) -> dict[str, torch.Tensor]:
        """The lazily scaled terms due at this update of ``target`` ("D" or "G"), by name."""
        out: dict[str, torch.Tensor] = {}
        for reg in self.items:
            every = reg.options.every
            if reg.target != target or update_index % every:
                continue
            value = reg.penalty(inputs)
            self.last[reg.name] = value.detach()
            out[f"reg/{reg.name}"] = value * every if every > 1 else value
        return out

    def logs(self) -> dict[str, torch.Tensor]:
        """The latest value of every regularizer applied so far, as ``reg/<name>``."""
        return {f"reg/{name}": value for name, value in self.last.items()}

    def state_dict(self) -> list[dict[str, Any]]:
        return [reg.state_dict() for reg in self.items]

    def load_state_dict(self, states: list[dict[str, Any]]) -> None:
        if len(states) != len(self.items):
            raise GanzooError(f"the checkpoint holds {len(states)} regularizer state(s) but the "
                              f"config lists {len(self.items)}; use the run's own regularizers")
        for reg, state in zip(self.items, states):
            reg.load_state_dict(state)


def _registry():
    from .plugins import get_registry

    return get_registry()
