"""BEGAN (Berthelot et al. 2017): an autoencoder discriminator kept in equilibrium with G.

D (:class:`~ganzoo.nets.heads.AutoencoderDiscriminator`, energy ``L(x)`` = per-sample mean
absolute reconstruction error) minimises ``L(x) - k_t L(G(z))`` and G minimises ``L(G(z))``
(the ``began`` loss). After every D update the control ``k_t`` moves towards the equilibrium
``E[L(G(z))] = gamma E[L(x)]``::

    k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)

``gamma`` (the diversity ratio) trades diversity (high) for quality (low). The convergence
measure ``M = L(x) + |gamma L(x) - L(G(z))|`` falls as training converges; both ``k`` and
``convergence`` are logged every step, and ``k`` is checkpointed. G is the DCGAN generator.
"""

from __future__ import annotations

from typing import Any, Iterator, Literal

import torch
from pydantic import Field

from ..extra_losses import BEGANLoss
from ..hookspecs import hookimpl
from ..interfaces import StepContext
from .ebgan import EBGAN, EBGANOptions


class BEGANOptions(EBGANOptions):
    loss: Literal["began"] = Field("began", description="fixed: BEGAN's equilibrium losses")
    lr_g: float = Field(1e-4, gt=0)
    lr_d: float = Field(1e-4, gt=0)
    d_norm: Literal["batch", "layer", "none"] = Field("none", description="encoder normalisation")
    gamma: float = Field(0.5, gt=0, le=1, description="diversity ratio E[L(G(z))] / E[L(x)]")
    lambda_k: float = Field(1e-3, ge=0, description="learning rate of k_t")
    k_init: float = Field(0.0, ge=0, le=1, description="k_0")
    pt_weight: float = Field(0.0, ge=0, description="EBGAN's pull-away term (off in BEGAN)")


class BEGAN(EBGAN):
    """EBGAN's networks with BEGAN's L1 energy, losses and equilibrium control."""

    Options = BEGANOptions
    options: BEGANOptions
    loss: BEGANLoss
    energy = "l1"

    def __init__(self, options: BEGANOptions, data) -> None:
        super().__init__(options, data)
        self.loss.k = options.k_init
        self.convergence = float("nan")

    def after_d_step(self) -> None:
        """The equilibrium update of k from the D step's mean energies; the convergence measure."""
        real, fake = self.loss.last
        o = self.options
        balance = o.gamma * real - fake
        self.loss.k = min(max(self.loss.k + o.lambda_k * balance, 0.0), 1.0)
        self.convergence = real + abs(balance)

    def train_step(self, batches: Iterator[dict[str, torch.Tensor]], ctx: StepContext) -> dict[str, Any]:
        logs = super().train_step(batches, ctx)
        return {**logs, "k": self.loss.k, "convergence": self.convergence}

    def extra_state(self) -> dict[str, Any]:
        return {**super().extra_state(), "k": self.loss.k}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)
        self.loss.k = float(state["k"])


@hookimpl
def register_variants(register) -> None:
    register("began", BEGAN)
