"""StyleGAN2 (Karras et al. 2020): style-based generator, residual discriminator, lazy regularization.

The networks are in :mod:`ganzoo.nets.stylegan2`. Training is the alternating update of
:class:`~ganzoo.adversarial.AdversarialVariant` with the non-saturating logistic loss (``bce``) and:

* lazy R1 on real images through the regularizers: ``{name: r1, gamma: r1_gamma, every: r1_every}``
  is added unless ``variant.regularizers`` lists ``r1`` itself;
* optional lazy path-length regularization of G (``pl_weight`` > 0): every ``pl_every`` G updates
  a separate G step on ``pl_every * pl_weight * (|J_w^T y| - a)^2``, ``y`` random images of unit
  total variance per pixel, ``a`` a running mean (a buffer, so a resume is exact);
* Adam betas (0, 0.99), rescaled for the lazy intervals as in the paper: ``lr * c`` and
  ``beta ** c`` with ``c = every / (every + 1)`` for D (R1) and for G when path length is on;
* a generator average by default (``default_ema``), used when the run config has no ``ema:``.

Samples are clamped to [-1, 1] (G's output is linear). ``sample_truncated(n, psi)`` applies the
truncation trick; ``truncation_psi`` sets the psi of ``sample`` and the preview grid.

``stylegan2_conditional`` is the same with labels (StyleGAN2-ADA's conditioning: a label
embedding in G's mapping network, projection in D). The options ``resample`` ... ``fp16_res``
reproduce official snapshots (``ganzoo import``); their defaults are ganzoo's own networks.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Literal

import torch
from pydantic import Field

from ..adversarial import AdversarialOptions, AdversarialVariant
from ..errors import GanzooError
from ..hookspecs import hookimpl
from ..interfaces import StepContext, eval_mode
from ..nets.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator


class StyleGAN2Options(AdversarialOptions):
    z_dim: int = Field(512, gt=0, description="latent size")
    w_dim: int = Field(512, gt=0, description="size of the intermediate latent w")
    mapping_layers: int = Field(8, ge=1, description="depth of the mapping network "
                                                     "(2 in the CIFAR setting)")
    mapping_lr_mul: float = Field(0.01, gt=0, description="learning-rate multiplier of the mapping "
                                                          "network")
    channel_base: int = Field(32768, gt=0, description="feature maps at resolution r: "
                                                       "min(channel_base / r, channel_max)")
    channel_max: int = Field(512, gt=0, description="most feature maps at any resolution")
    style_mixing_prob: float = Field(0.9, ge=0, le=1, description="probability that a generated "
                                     "sample mixes two w's at a random layer (0 in the CIFAR setting)")
    mbstd_group: int = Field(4, ge=1, description="minibatch standard deviation group size "
                                                  "(32 for CIFAR)")
    w_avg_beta: float = Field(0.995, gt=0, lt=1, description="decay of the running average of w")
    truncation_psi: float = Field(1.0, ge=0, description="psi of sample() and previews "
                                                         "(1: no truncation)")
    lr_g: float = Field(0.0025, gt=0, description="Adam learning rate of G (before lazy rescaling)")
    lr_d: float = Field(0.0025, gt=0, description="Adam learning rate of D (before lazy rescaling)")
    betas: tuple[float, float] = Field((0.0, 0.99), description="Adam betas (before lazy rescaling)")
    r1_gamma: float = Field(10.0, ge=0, description="R1 weight (10 at 1024 px, 0.01 for CIFAR); "
                                                    "0 adds no R1")
    r1_every: int = Field(16, ge=1, description="R1 on every N-th D update, its term times N")
    pl_weight: float = Field(0.0, ge=0, description="path-length regularization weight "
                                                    "(paper: 2; 0: off)")
    pl_every: int = Field(4, ge=1, description="path-length step on every N-th G update, its "
                                               "term times N")
    pl_decay: float = Field(0.01, gt=0, le=1, description="decay of the running mean path length")
    pl_batch_shrink: int = Field(2, ge=1, description="the path-length batch is the batch "
                                                      "divided by this")
    resample: Literal["bilinear", "fir"] = Field(
        "bilinear", description="fir: the official resampling (transposed conv and [1,3,3,1] filter "
                                "up, filter and strided conv down), as imported snapshots have")
    stored_noise: bool = Field(False, description="keep G's constant noise maps in the weights "
                                                  "(imported snapshots) instead of seeded ones")
    truncation_cutoff: int | None = Field(None, ge=1, description="truncate only the first N ws "
                                                                  "(null: all)")
    conv_clamp: float | None = Field(None, gt=0, description="clamp conv activations to +-X "
                                                             "(official snapshots: 256; null: off)")
    fp16_res: int = Field(0, ge=0, description="mark the N highest resolutions as fp16 layers, "
                                               "as snapshots record (computed in fp32)")
    mbstd_grouping: Literal["consecutive", "strided"] = Field(
        "consecutive", description="minibatch-std groups: runs of samples, or strided "
                                   "(i, i + N/G, ...) as the official code")
    embed_features: int | None = Field(None, gt=0, description="G's label embedding size "
                                                               "(conditional; null: w_dim)")
    cmap_dim: int | None = Field(None, gt=0, description="D's projection size (conditional; "
                                                         "null: D's width at 4x4)")
    d_mapping_layers: int = Field(8, ge=1, description="layers of D's label mapping network "
                                                       "(conditional)")


def lazy_adam(params: Iterator[torch.nn.Parameter], lr: float, betas: tuple[float, float],
              every: int) -> torch.optim.Adam:
    """Adam with ``lr * c`` and ``betas ** c``, ``c = every / (every + 1)``: the paper's correction
    for a lazy regularizer's extra update every ``every`` steps (``every`` 1: no correction)."""
    c = every / (every + 1) if every > 1 else 1.0
    return torch.optim.Adam(params, lr=lr * c, betas=(betas[0] ** c, betas[1] ** c), eps=1e-8)


class StyleGAN2(AdversarialVariant):
    """StyleGAN2, unconditional, from 8 px up (power-of-two sizes)."""

    Options = StyleGAN2Options
    supports = ("images",)
    conditional = False
    default_ema = {"decay": 0.999, "start": 0}
    #: ``sample_truncated`` pulls w towards the average w; ``ganzoo interpolate`` lerps in w
    truncation = "w"
    interpolation_space = "w"
    options: StyleGAN2Options
    G: StyleGAN2Generator
    D: StyleGAN2Discriminator

    def __init__(self, options: StyleGAN2Options, data) -> None:
        super().__init__(options, data)
        self.register_buffer("pl_mean", torch.zeros(()))
        self.last_pl: torch.Tensor | None = None

    #: classes the networks are conditioned on (0: unconditional)
    c_dim = 0

    def build_networks(self) -> tuple[StyleGAN2Generator, StyleGAN2Discriminator]:
        o, info, c = self.options, self.data_info, self.c_dim
        shared = dict(resample=o.resample, conv_clamp=o.conv_clamp, fp16_res=o.fp16_res, c_dim=c,
                      channel_base=o.channel_base, channel_max=o.channel_max)
        G = StyleGAN2Generator(o.z_dim, o.w_dim, info.image_size, info.channels,
                               mapping_layers=o.mapping_layers, mapping_lr_mul=o.mapping_lr_mul,
                               style_mixing_prob=o.style_mixing_prob, w_avg_beta=o.w_avg_beta,
                               embed_features=o.embed_features, stored_noise=o.stored_noise,
                               truncation_cutoff=o.truncation_cutoff, **shared)
        D = StyleGAN2Discriminator(info.image_size, info.channels, mbstd_group=o.mbstd_group,
                                   cmap_dim=o.cmap_dim, mapping_layers=o.d_mapping_layers,
                                   mbstd_grouping=o.mbstd_grouping, **shared)
        return G, D

    def regularizer_specs(self) -> list[dict[str, Any]]:
        """``variant.regularizers`` plus lazy R1 from the options (unless listed there)."""
        specs = super().regularizer_specs()
        if self.options.r1_gamma > 0 and not any(spec["name"] == "r1" for spec in specs):
            specs.append({"name": "r1", "gamma": self.options.r1_gamma, "every": self.options.r1_every})
        return specs

    def r1_interval(self) -> int:
        """The lazy interval of the run's R1 (1 when there is none)."""
        return next((reg.options.every for reg in self.regularizers.items if reg.name == "r1"), 1)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        o = self.options
        g_every = o.pl_every if o.pl_weight > 0 else 1
        return {"G": lazy_adam(self.G.parameters(), o.lr_g, o.betas, g_every),
                "D": lazy_adam(self.D.parameters(), o.lr_d, o.betas, self.r1_interval())}

    # -- path-length regularization ----------------------------------------------------------
    def path_length_penalty(self, z: torch.Tensor) -> torch.Tensor:
        """``mean (|J_w^T y| - a)^2`` with ``y ~ N(0, 1/(H W))`` per pixel; updates ``a``."""
        ws = self.G.ws_from_z(z, labels=self.random_labels(z.shape[0], z.device))
        images = self.G.synthesis_from_w(ws)
        noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
        (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
        lengths = grad.square().sum(dim=2).mean(dim=1).sqrt()
        with torch.no_grad():
            self.pl_mean.lerp_(lengths.mean().detach(), self.options.pl_decay)
        penalty = (lengths - self.pl_mean).square().mean()
        self.last_pl = penalty.detach()
        return penalty

    def path_length_update(self, micro: list, ctx: StepContext) -> None:
        """A separate lazy G step on the path-length term (fp32: it is a second-order term)."""
        o, opt_g = self.options, self.optimizers["G"]
        opt_g.zero_grad(set_to_none=True)
        for real, _ in micro:
            z = self.G.sample_latent(max(1, real.shape[0] // o.pl_batch_shrink), device=self._device())
            ctx.backward(self.path_length_penalty(z) * (o.pl_weight * o.pl_every))
        ctx.step(opt_g, "G_pl")

    def random_labels(self, n: int, device) -> torch.Tensor | None:
        """Labels for G's extra passes (path length): none for the unconditional networks."""
        return None

    def generator_update(self, micro: list, ctx: StepContext, update_index: int) -> torch.Tensor:
        loss_g = super().generator_update(micro, ctx, update_index)
        if self.options.pl_weight > 0 and update_index % self.options.pl_every == 0:
            self.path_length_update(micro, ctx)
        return loss_g

    def train_step(self, batches: Iterator[dict[str, torch.Tensor]], ctx: StepContext) -> dict[str, Any]:
        logs = super().train_step(batches, ctx)
        if self.last_pl is not None:
            logs["reg/pl"] = self.last_pl
            logs["pl_mean"] = self.pl_mean.detach().clone()
        return logs

    # -- sampling ----------------------------------------------------------------------------
    @torch.no_grad()
    def preview(self, fixed: torch.Tensor) -> torch.Tensor:
        net = self.generator_net()
        with eval_mode(net):
            return net(fixed, truncation_psi=self.options.truncation_psi).clamp(-1, 1)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` samples at ``truncation_psi`` (unconditional: ``labels`` are ignored)."""
        return self.sample_truncated(n, self.options.truncation_psi, generator)

    @torch.no_grad()
    def sample_truncated(self, n: int, psi: float, generator: torch.Generator | None = None,
                         labels: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` samples with w pulled towards the average w: psi 0 gives the "mean" image,
        psi 1 no truncation (unconditional: ``labels`` are ignored)."""
        return self.from_latent(self.latent_codes(n, generator, psi))

    @torch.no_grad()
    def latent_codes(self, n: int, generator: torch.Generator | None = None,
                     psi: float | None = None) -> torch.Tensor:
        """``n`` mapped (and, with ``psi``, truncated) w's: the space ``ganzoo interpolate``
        lerps in."""
        z = self.G.sample_latent(n, device=self._device(), generator=generator)
        with eval_mode(self.G):
            return self.G.w_from_z(z, 1.0 if psi is None else psi)

    @torch.no_grad()
    def from_latent(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images from w's ``(N, w_dim)``, clamped to [-1, 1] as ``sample`` does."""
        with eval_mode(self.G):
            return self.G.synthesis_from_w(codes).clamp(-1, 1)


class StyleGAN2Conditional(StyleGAN2):
    """StyleGAN2 conditioned on class labels (StyleGAN2-ADA's conditional networks); needs a
    labelled data set. Interpolation moves between z's of one class."""

    conditional = True
    interpolates_classes = True
    interpolation_space = "z"

    def __init__(self, options: StyleGAN2Options, data) -> None:
        if not data.num_classes:
            raise GanzooError(f"variant '{options.name}' needs a labelled data set, but data set "
                              f"'{data.name}' has no class labels; use a labelled one or "
                              f"variant 'stylegan2'")
        self.c_dim = int(data.num_classes)
        super().__init__(options, data)

    def random_labels(self, n: int, device) -> torch.Tensor:
        return torch.randint(0, self.c_dim, (n,), device=device)

    def _labels(self, n: int, labels: torch.Tensor | None) -> torch.Tensor:
        device = self._device()
        if labels is None:  # balanced: 0, 1, ..., K-1, 0, ...
            return torch.arange(n, device=device) % self.c_dim
        labels = torch.as_tensor(labels).to(device)
        if not labels.dtype.is_floating_point and labels.numel() and \
                (labels.min() < 0 or labels.max() >= self.c_dim):
            raise GanzooError(f"class labels must lie in 0..{self.c_dim - 1}")
        return labels

    def fixed_inputs(self, n: int, generator: torch.Generator, examples: dict[str, torch.Tensor]) -> Any:
        z = self.G.sample_latent(n, device=self._device(), generator=generator)
        return {"z": z, "labels": self._labels(n, None)}

    @torch.no_grad()
    def preview(self, fixed: Any) -> torch.Tensor:
        net = self.generator_net()
        with eval_mode(net):
            return net(fixed["z"], fixed["labels"], truncation_psi=self.options.truncation_psi).clamp(-1, 1)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.sample_truncated(n, self.options.truncation_psi, generator, labels)

    @torch.no_grad()
    def sample_truncated(self, n: int, psi: float, generator: torch.Generator | None = None,
                         labels: torch.Tensor | None = None) -> torch.Tensor:
        z = self.G.sample_latent(n, device=self._device(), generator=generator)
        with eval_mode(self.G):
            return self.G(z, self._labels(n, labels), truncation_psi=psi).clamp(-1, 1)

    @torch.no_grad()
    def latent_codes(self, n: int, generator: torch.Generator | None = None,
                     psi: float | None = None) -> torch.Tensor:
        if psi is not None:
            raise GanzooError("a conditional StyleGAN2 interpolates in z: leave out --truncation")
        return self.G.sample_latent(n, device=self._device(), generator=generator)

    @torch.no_grad()
    def from_latent(self, codes: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        with eval_mode(self.G):
            return self.G(codes, self._labels(codes.shape[0], labels)).clamp(-1, 1)


@hookimpl
def register_variants(register) -> None:
    register("stylegan2", StyleGAN2)
    register("stylegan2_conditional", StyleGAN2Conditional)
