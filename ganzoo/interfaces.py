"""The interfaces every variant is built from.

* :class:`Generator` and :class:`Discriminator` are ``nn.Module`` s with a documented contract.
* :class:`Loss` is an adversarial loss as a pluggable object (see :mod:`ganzoo.losses`).
* :class:`Variant` owns its networks, optimizers and update rule (``train_step``); the trainer
  owns the loop, devices, precision, logging and checkpoints and never names a variant.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Iterator

import torch
from pydantic import BaseModel, ConfigDict, Field, PositiveInt
from torch import nn

if TYPE_CHECKING:  # pragma: no cover
    from .data.base import DataInfo


@contextlib.contextmanager
def eval_mode(*nets: nn.Module) -> Iterator[None]:
    """Eval mode (dropout off, BatchNorm on running statistics) inside the block; afterwards every
    submodule gets back the mode it had, so a frozen sub-network stays frozen."""
    modes = [(m, m.training) for net in nets for m in net.modules()]
    for net in nets:
        net.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


class Generator(nn.Module, ABC):
    """Maps latent codes (and, if conditional, labels) to samples in the data's range.

    Images come out in [-1, 1] (tanh), 2-D points in data units.
    """

    z_dim: int

    @abstractmethod
    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        ...

    def sample_latent(self, n: int, device: torch.device | str | None = None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` latent codes from N(0, I), drawn with ``generator`` when given (fixed noise)."""
        if device is None:
            device = next(self.parameters()).device
        if generator is not None and generator.device != torch.device(device):
            return torch.randn(n, self.z_dim, generator=generator).to(device)
        return torch.randn(n, self.z_dim, device=device, generator=generator)


class Discriminator(nn.Module, ABC):
    """Scores samples. Returns raw scores (logits or critic values, never a sigmoid).

    The output is ``(N,)`` for a whole-sample score or ``(N, ...)`` for a patch map; losses
    reduce it with a mean.
    """

    @abstractmethod
    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        ...


class Loss(ABC):
    """An adversarial loss over discriminator outputs on real and generated samples.

    ``d_loss`` is minimised by the discriminator, ``g_loss`` by the generator; both return a
    scalar tensor. The generator step passes the scores of real samples too, computed by the
    discriminator *after* its update, so relativistic losses (which compare real and fake scores)
    are ordinary losses. A loss that does not read them sets ``uses_real_scores_in_g = False``
    (the default), and the variant then skips that extra discriminator pass and passes None.
    """

    name: ClassVar[str] = ""
    #: True if ``g_loss`` reads ``real_scores`` (the variant then scores a real batch in the G step)
    uses_real_scores_in_g: ClassVar[bool] = False
    #: the kinds of discriminator scores the loss can read (see ``Variant.d_scores``); a variant
    #: whose discriminator gives another kind refuses the loss at start-up
    scores: ClassVar[tuple[str, ...]] = ("logit",)

    @abstractmethod
    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        ...

    @abstractmethod
    def g_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None = None) -> torch.Tensor:
        ...


#: Adam's (beta1, beta2), each in [0, 1): a type for variant options
Betas = tuple[Annotated[float, Field(ge=0, lt=1)], Annotated[float, Field(ge=0, lt=1)]]
#: hidden layer sizes of an MLP, each at least 1: a type for variant options
Widths = list[PositiveInt]


class VariantOptions(BaseModel):
    """Base of every variant's options schema: ``variant:`` in a run config.

    Subclasses add their own fields with defaults; unknown keys are errors.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="registered variant name")


class StepContext:
    """What the trainer hands ``train_step``: precision, backward/step and logging switches.

    Variants call ``ctx.backward(loss)`` and ``ctx.step(optimizer, name)`` instead of
    ``loss.backward()`` and ``optimizer.step()`` so that fp16 loss scaling, gradient-norm logging,
    gradient averaging across processes and the scaling for gradient accumulation apply without
    the variant knowing about them. A variant that sets ``supports_accumulation = True`` runs
    ``ctx.accumulate`` micro-batches (forward and ``ctx.backward`` each) before each ``ctx.step``.
    """

    def __init__(self, device: torch.device, precision: str = "fp32",
                 scaler: "torch.amp.GradScaler | None" = None) -> None:
        self.device = device
        self.precision = precision
        self.scaler = scaler
        self.step_index = 0          # number of generator steps done before this one
        self.total_steps = 0
        self.log_now = False         # True on steps the trainer will log
        self.grad_norms: dict[str, float] = {}
        self.world_size = 1          # > 1 under torchrun: gradients are averaged across ranks
        self.accumulate = 1          # micro-batches per optimizer step (``train.accumulate``)

    def autocast(self) -> contextlib.AbstractContextManager:
        """Autocast for the configured precision; a no-op in fp32 and on devices without it."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """Backward of one micro-batch's mean loss; with accumulation it is divided by the number
        of micro-batches, so the summed gradients are those of the mean over the whole batch."""
        if self.accumulate > 1:
            loss = loss / self.accumulate
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()

    def step(self, optimizer: torch.optim.Optimizer, name: str = "") -> None:
        """Step ``optimizer`` (unscaling for fp16) and record its gradient norm when logging."""
        if self.world_size > 1:
            from .distributed import average_gradients

            average_gradients(optimizer, self.world_size)
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)
        if self.log_now and name:
            grads = [p.grad.detach() for g in optimizer.param_groups for p in g["params"]
                     if p.grad is not None]
            if grads:
                norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
                self.grad_norms[name] = float(norm)
        if self.scaler is not None:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()


class Variant(nn.Module):
    """A GAN (or baseline) variant: networks, optimizers and the update rule.

    Subclasses set ``Options`` (a :class:`VariantOptions` subclass), build their networks in
    ``__init__(options, data)`` from the options and the data's :class:`~ganzoo.data.DataInfo`
    (so image size and channels are not stated twice), and implement:

    * ``configure_optimizers()`` -> ``{name: optimizer}``;
    * ``train_step(batches, ctx)``: one generator update (and as many discriminator updates as
      the variant wants), drawing real batches with ``next(batches)``; returns scalars to log;
    * ``sample(n, generator=None, labels=None)``: ``n`` samples in the data's range.

    All state that must survive a resume lives in modules, optimizers, schedulers or
    ``extra_state()``; the trainer checkpoints them.
    """

    Options: ClassVar[type[VariantOptions]] = VariantOptions
    # -- capabilities: declared here, read by the trainer and the commands, never probed --------
    #: data kinds this variant can train on ("points", "images", "paired" ...)
    supports: ClassVar[tuple[str, ...]] = ("images",)
    #: True if ``train_step`` honours ``ctx.accumulate`` (the trainer refuses
    #: ``train.accumulate > 1`` otherwise, rather than silently ignoring it)
    supports_accumulation: ClassVar[bool] = False
    #: True if ``sample`` takes class ``labels`` (``ganzoo sample --class``, per-class scores)
    conditional: ClassVar[bool] = False
    #: True if the variant maps images between domains: it implements ``translate``
    translates: ClassVar[bool] = False
    #: True if ``validate`` scores held-out data (the trainer then keeps a held-out batch)
    validates: ClassVar[bool] = False
    #: the generator average used when the run config has no ``ema:`` block, e.g.
    #: ``{"decay": 0.999, "start": 0}`` (None: no average unless the config asks for one)
    default_ema: ClassVar[dict[str, Any] | None] = None
    #: the truncation trick ``sample_truncated`` implements: "w" (w pulled towards the average
    #: w, 0 <= psi <= 1: StyleGAN2), "z" (z from a normal truncated at +-psi, psi > 0: BigGAN),
    #: None (none: ``ganzoo sample --truncation`` is refused)
    truncation: ClassVar[str | None] = None
    #: where ``ganzoo interpolate`` moves between codes (``latent_codes``/``from_latent``): "z"
    #: (slerp between Gaussian z's), "w" (lerp between mapped w's), None (it cannot)
    interpolation_space: ClassVar[str | None] = "z"
    #: True if the generator takes a float (N, K) tensor of class weights in place of int
    #: labels (mixes of class embeddings: ``ganzoo interpolate --classes A B``)
    interpolates_classes: ClassVar[bool] = False
    #: what the discriminator's scores mean, for losses and regularizers (their ``scores``):
    #: "logit" (higher = more real: a logit or a critic value) or "energy" (lower = more real,
    #: at least 0: an autoencoder discriminator's reconstruction error, EBGAN and BEGAN)
    d_scores: ClassVar[str] = "logit"
    #: True if the latent holds named codes that ``code_grid`` varies one at a time while holding
    #: the rest (InfoGAN's ``cat``, ``cont0`` ...): ``ganzoo sample/interpolate --vary-code NAME``
    varies_codes: ClassVar[bool] = False
    #: True if the variant has an encoder from images back to latent codes: it implements
    #: ``encode`` (``ganzoo encode``) and ``reconstruct`` decodes those codes again (BiGAN, AAE)
    encodes: ClassVar[bool] = False

    #: the optimizers by name, set by the trainer from ``configure_optimizers()``
    optimizers: dict[str, torch.optim.Optimizer]

    def __init__(self, options: VariantOptions, data: "DataInfo") -> None:
        super().__init__()
        self.options = options
        self.data_info = data
        self.optimizers = {}

    # -- training --------------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def configure_schedulers(self, optimizers: dict[str, torch.optim.Optimizer],
                             total_steps: int) -> dict[str, Any]:
        """Learning-rate schedulers stepped once per generator step (default: none)."""
        return {}

    def train_step(self, batches: Iterator[dict[str, torch.Tensor]], ctx: StepContext) -> dict[str, Any]:
        raise NotImplementedError

    # -- inference -------------------------------------------------------------------------
    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError

    def sample_truncated(self, n: int, psi: float, generator: torch.Generator | None = None,
                         labels: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` samples with the truncation trick the class declares in ``truncation``."""
        raise NotImplementedError

    def latent_codes(self, n: int, generator: torch.Generator | None = None,
                     psi: float | None = None) -> torch.Tensor:
        """``n`` codes in ``interpolation_space`` (default: z ~ N(0, I)); ``psi`` applies the
        truncation trick (only for variants that declare ``truncation``)."""
        if psi is not None:
            raise NotImplementedError
        return self.generator_net().sample_latent(n, device=self._device(), generator=generator)

    def code_grid(self, code: str, steps: int, rows: int, generator: torch.Generator | None = None,
                  span: float = 1.0) -> torch.Tensor:
        """``rows`` rows of latent codes (for ``from_latent``), each moving the named ``code``
        across its columns with everything else held; only for variants with ``varies_codes``."""
        raise NotImplementedError

    @torch.no_grad()
    def from_latent(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Samples from codes of ``latent_codes`` (eval mode); conditional variants take labels,
        or (``interpolates_classes``) float (N, K) class weights."""
        net = self.generator_net()
        with eval_mode(net):
            return net(codes) if labels is None else net(codes, labels)

    def fixed_inputs(self, n: int, generator: torch.Generator, examples: dict[str, torch.Tensor]) -> Any:
        """Inputs for the preview grid, drawn once per run so the grid is comparable over time.

        ``examples`` is a batch of ``n`` real items already on the device (for variants that
        preview translations or reconstructions); the default draws fixed latent codes.
        """
        return self.generator_net().sample_latent(n, device=self._device(), generator=generator)

    @torch.no_grad()
    def validate(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """Scores on a held-out batch (e.g. a VAE's ELBO), logged as ``val/<name>``.

        Called only when the class sets ``validates = True``."""
        raise NotImplementedError

    def translate(self, images: torch.Tensor, direction: str) -> torch.Tensor:
        """Images of one domain mapped to the other (``direction``: "AtoB" or "BtoA").

        Implemented only by variants that set ``translates = True``."""
        raise NotImplementedError

    def predict(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The output image for a "paired" batch's inputs: reads ``batch["x"]`` (and
        ``batch["mask"]`` when present), eval mode, no gradients, in [-1, 1], shaped like
        ``batch["y"]``. Implemented by variants that list "paired" in ``supports`` (see
        :class:`ganzoo.paired.PairedVariant`); ``ganzoo eval`` scores it against ``batch["y"]``."""
        raise NotImplementedError

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, z_dim)`` latent codes of ``images`` in [-1, 1] (eval mode, no gradients): the
        codes ``from_latent`` decodes. Implemented only by variants that set ``encodes = True``."""
        raise NotImplementedError

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """``G(E(x))``: ``images`` decoded from their own codes, shaped like them (needs
        ``encodes``); the default decodes ``encode(images)`` with ``from_latent``."""
        return self.from_latent(self.encode(images))

    @torch.no_grad()
    def preview(self, fixed: Any) -> torch.Tensor:
        """Samples for the logged grid from ``fixed_inputs`` (eval mode, no gradients)."""
        net = self.generator_net()
        with eval_mode(net):
            return net(fixed)

    def generator_net(self) -> nn.Module:
        """The module used for sampling (and averaged by EMA)."""
        return getattr(self, "G")

    def batch_multiple(self) -> tuple[int, str]:
        """``(m, why)``: ``train.batch_size`` must be a multiple of ``m`` (default 1), e.g.
        ``(3, "variant.pack=3 shows the discriminator 3 samples at once")``; the trainer refuses
        other batch sizes at start-up, naming ``why``."""
        return 1, ""

    def extra_state(self) -> dict[str, Any]:
        """State outside modules and optimizers that a resume needs (e.g. image pools)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def _device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device("cpu")
