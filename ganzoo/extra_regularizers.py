"""More discriminator regularizers, registered through their own entry point like a third party's.

* ``wgan_div`` (Wu et al. 2018, WGAN-div): ``k * E[||grad_x D(x)||^p]`` with the paper's best
  ``k = 2``, ``p = 6``; no target norm, so (unlike ``gp``) it needs no Lipschitz-1 assumption.
  Points: random interpolates of real and generated samples (the paper's default), or the real
  and generated samples themselves (``points: real_and_fake``, ``k/2`` each).
* ``dragan`` (Kodali et al. 2017): ``weight * E[(||grad_x D(x_hat)|| - 1)^2]`` at points
  ``x_hat = x + a * delta`` around the *real* data only, ``delta = scale * std(x) * u`` with
  ``u ~ U[0, 1)`` per element and ``a ~ U[0, 1)`` per sample, as in the authors' code: it keeps
  D's gradients from sharpening around real samples, where mode collapse starts.

Both are computed in fp32 with autocast off (input gradients underflow in fp16).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from .hookspecs import hookimpl
from .regularizers import DiscriminatorTerms, Regularizer, RegularizerOptions


def input_gradient_norms(D: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """Per-sample ``||grad_x sum D(x)||_2`` at ``x`` (detached input), graph kept for backward."""
    x = x.detach().float().requires_grad_(True)
    with torch.autocast(device_type=x.device.type, enabled=False):
        scores = D(x, labels)
        (grad,) = torch.autograd.grad(scores.float().sum(), x, create_graph=True)
    return grad.flatten(1).norm(2, dim=1)


def _per_sample(shape: torch.Size, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand((shape[0],) + (1,) * (len(shape) - 1), device=x.device, generator=generator)


class WGANDivOptions(RegularizerOptions):
    k: float = Field(2.0, ge=0, description="weight of the penalty")
    p: float = Field(6.0, gt=0, description="power of the gradient norm")
    points: Literal["interpolates", "real_and_fake"] = Field(
        "interpolates", description="where the gradient is taken: random real/fake interpolates, "
                                    "or the real and generated samples (k/2 each)")


def wgan_div_penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None,
                     k: float, p: float, points: str = "interpolates",
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """``k E[||grad D||^p]`` at interpolates, or ``k/2 (E_real + E_fake)`` at the samples."""
    real, fake = real.detach().float(), fake.detach().float()
    if points == "real_and_fake":
        return 0.5 * k * (input_gradient_norms(D, real, labels).pow(p).mean()
                          + input_gradient_norms(D, fake, labels).pow(p).mean())
    eps = _per_sample(real.shape, real, generator)
    x_hat = eps * real + (1.0 - eps) * fake
    return k * input_gradient_norms(D, x_hat, labels).pow(p).mean()


class WGANDiv(Regularizer):
    """The W-div penalty ``k E[||grad D||^p]`` (sign-free, so it fits critics and energies)."""

    name = "wgan_div"
    Options = WGANDivOptions
    scores = ("logit", "energy")

    def penalty(self, terms: DiscriminatorTerms) -> torch.Tensor:
        o = self.options
        return wgan_div_penalty(terms.D, terms.real, terms.fake, terms.labels, o.k, o.p, o.points)


class DRAGANOptions(RegularizerOptions):
    weight: float = Field(10.0, ge=0, description="lambda: weight of the penalty")
    scale: float = Field(0.5, gt=0, description="C: perturbations up to C * std(real)")


def dragan_points(real: torch.Tensor, scale: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """``x + a * scale * std(x) * u``: ``u`` per element, ``a`` per sample, both ``U[0, 1)``."""
    real = real.detach().float()
    u = torch.rand(real.shape, device=real.device, generator=generator)
    a = _per_sample(real.shape, real, generator)
    return real + a * (scale * real.std() * u)


def dragan_penalty(D: nn.Module, real: torch.Tensor, labels: torch.Tensor | None, scale: float,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """``E[(||grad D(x_hat)|| - 1)^2]`` at :func:`dragan_points` of ``real``."""
    norms = input_gradient_norms(D, dragan_points(real, scale, generator), labels)
    return (norms - 1.0).pow(2).mean()


class DRAGAN(Regularizer):
    """DRAGAN's penalty: unit gradient norm in a noisy neighbourhood of the real data (logits
    only: an energy should be flat at real samples, not steep)."""

    name = "dragan"
    Options = DRAGANOptions

    def penalty(self, terms: DiscriminatorTerms) -> torch.Tensor:
        o = self.options
        return o.weight * dragan_penalty(terms.D, terms.real, terms.labels, o.scale)


EXTRA_REGULARIZERS = (WGANDiv, DRAGAN)


@hookimpl
def register_regularizers(register) -> None:
    for cls in EXTRA_REGULARIZERS:
        register(cls.name, cls)
