"""StarGAN (Choi et al. 2018): one generator translates between N domains.

G takes an image and the TARGET domain (:mod:`ganzoo.nets.stargan`); D has two heads, real/fake
patch scores and a domain classifier. Per critic step, with ``c`` a shuffled copy of the batch's
domains (the reference's ``label_trg``):

* D: ``-D_src(x) + D_src(G(x, c))`` (WGAN) ``+ lambda_cls * CE(D_cls(x), domain of x)
  + lambda_gp * GP`` (WGAN-GP's penalty, :func:`ganzoo.regularizers.gradient_penalty`, on the
  source head);
* G, every ``n_critic`` critic steps: ``-D_src(G(x, c)) + lambda_cls * CE(D_cls(G(x, c)), c)
  + lambda_rec * |G(G(x, c), domain of x) - x|_1`` (cycle reconstruction).

Paper weights: lambda_cls 1, lambda_rec 10, lambda_gp 10, n_critic 5, Adam 1e-4 with betas
(0.5, 0.999), lr constant then decayed linearly to 0 over the last ``lr_decay`` fraction of the
run (the reference: the last half). Data: the "multi_domain" kind, items ``{"x", "labels"}``.
``predict`` maps ``batch["x"]`` to ``batch["target_labels"]``; ``ganzoo translate --domain K``.
"""

from __future__ import annotations

import math
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from pydantic import Field

from ..errors import ConfigError, GanzooError
from ..hookspecs import hookimpl
from ..interfaces import Betas, StepContext, Variant, VariantOptions, eval_mode
from ..nets.stargan import SourceHead, StarDiscriminator, StarGenerator
from ..regularizers import gradient_penalty
from ..schedules import linear_decay_from


class StarGANOptions(VariantOptions):
    g_conv_dim: int = Field(64, gt=0, description="generator width (64 in the paper)")
    d_conv_dim: int = Field(64, gt=0, description="discriminator width (64 in the paper)")
    g_repeat_num: int = Field(6, ge=0, description="residual blocks in G (6 in the paper)")
    d_repeat_num: int | None = Field(None, ge=1, description="stride-2 convs in D (default: down to "
                                                             "2x2, i.e. 6 at 128 px as in the paper)")
    lambda_cls: float = Field(1.0, ge=0, description="weight of the domain classification loss")
    lambda_rec: float = Field(10.0, ge=0, description="weight of the cycle reconstruction loss")
    lambda_gp: float = Field(10.0, ge=0, description="weight of the gradient penalty")
    n_critic: int = Field(5, gt=0, description="D updates per G update")
    lr_g: float = Field(1e-4, gt=0)
    lr_d: float = Field(1e-4, gt=0)
    betas: Betas = Field((0.5, 0.999), description="Adam betas")
    lr_decay: float = Field(0.5, ge=0, le=1, description="fraction of train.steps at the end over "
                                                         "which both lrs decay linearly to 0")


def check_data(data: Any, options: StarGANOptions) -> int:
    """The D depth for this data; one domain or an unusable size is refused naming the fix."""
    domains = data.num_classes or 0
    if domains < 2:
        raise ConfigError(f"stargan translates between domains and needs at least 2, but data set "
                          f"'{data.name}' has {domains}; use a multi-domain set with 2 or more domain "
                          f"folders", key="data.name")
    h, w = data.shape[1:]
    depth = options.d_repeat_num or max(1, int(math.log2(min(h, w))) - 1)
    if h != w or h % 4 or h % 2 ** depth or h // 2 ** depth < 1:
        raise ConfigError(f"stargan needs square images whose side is a multiple of 4 and of "
                          f"2^d_repeat_num = {2 ** depth}, got {h}x{w}; set data.image_size (e.g. 32 or "
                          f"128) or variant.d_repeat_num", key="data.image_size")
    return depth


class StarGAN(Variant):
    """Multi-domain translation with one G; a base class (override ``d_losses``/``g_losses``)."""

    Options = StarGANOptions
    supports = ("multi_domain",)
    translates = True
    interpolation_space = None
    options: StarGANOptions

    def __init__(self, options: StarGANOptions, data) -> None:
        super().__init__(options, data)
        depth = check_data(data, options)
        o, c, k = options, data.channels, int(data.num_classes)
        self.G = StarGenerator(c, k, o.g_conv_dim, o.g_repeat_num)
        self.D = StarDiscriminator(data.image_size, c, k, o.d_conv_dim, depth)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        o = self.options
        return {"G": torch.optim.Adam(self.G.parameters(), lr=o.lr_g, betas=o.betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=o.lr_d, betas=o.betas)}

    def configure_schedulers(self, optimizers: dict[str, torch.optim.Optimizer],
                             total_steps: int) -> dict[str, Any]:
        factor = linear_decay_from(1.0 - self.options.lr_decay, total_steps)
        return {name: torch.optim.lr_scheduler.LambdaLR(opt, factor) for name, opt in optimizers.items()}

    def d_losses(self, x: torch.Tensor, org: torch.Tensor, trg: torch.Tensor) -> dict[str, torch.Tensor]:
        """D's loss terms (weighted) on real ``x`` of domains ``org`` and fakes for domains ``trg``."""
        o = self.options
        with torch.no_grad():
            fake = self.G(x, trg)
        src_real, cls_real = self.D(x)
        src_fake, _ = self.D(fake)
        return {"loss_d_real": -src_real.mean(), "loss_d_fake": src_fake.mean(),
                "loss_d_cls": o.lambda_cls * F.cross_entropy(cls_real, org),
                "loss_d_gp": o.lambda_gp * gradient_penalty(SourceHead(self.D), x, fake)}

    def g_losses(self, x: torch.Tensor, org: torch.Tensor, trg: torch.Tensor) -> dict[str, torch.Tensor]:
        """G's loss terms (weighted): fool D, be classified as ``trg``, map back to ``x``."""
        o = self.options
        fake = self.G(x, trg)
        src_fake, cls_fake = self.D(fake)
        return {"loss_g_fake": -src_fake.mean(),
                "loss_g_cls": o.lambda_cls * F.cross_entropy(cls_fake, trg),
                "loss_g_rec": o.lambda_rec * F.l1_loss(self.G(fake, org), x)}

    def train_step(self, batches: Iterator[dict[str, torch.Tensor]], ctx: StepContext) -> dict[str, Any]:
        """``n_critic`` D updates, then one G update on the last batch."""
        out: dict[str, torch.Tensor] = {}
        for _ in range(self.options.n_critic):
            batch = next(batches)
            x, org = batch["x"], batch["labels"].long()
            trg = org[torch.randperm(org.shape[0], device=org.device)]
            self.optimizers["D"].zero_grad(set_to_none=True)
            terms = self.d_losses(x, org, trg)
            loss_d = sum(terms.values())
            ctx.backward(loss_d)
            ctx.step(self.optimizers["D"], "D")
        out.update({k: v.detach() for k, v in terms.items()}, loss_d=loss_d.detach())
        self.D.requires_grad_(False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        terms = self.g_losses(x, org, trg)
        loss_g = sum(terms.values())
        ctx.backward(loss_g)
        ctx.step(self.optimizers["G"], "G")
        self.D.requires_grad_(True)
        out.update({k: v.detach() for k, v in terms.items()}, loss_g=loss_g.detach())
        return out

    # -- inference -------------------------------------------------------------------------
    @torch.no_grad()
    def translate_to(self, images: torch.Tensor, domains: torch.Tensor) -> torch.Tensor:
        """``images`` (N, C, H, W) in [-1, 1] mapped to ``domains`` (N,) int64 (eval mode)."""
        k = self.G.num_domains
        if domains.numel() and (int(domains.min()) < 0 or int(domains.max()) >= k):
            raise GanzooError(f"target domain must be 0 to {k - 1} (this run's domains: "
                              f"{', '.join(self.data_info.class_names) or k}), got {int(domains.max())}")
        device = self._device()
        with eval_mode(self.G):
            return self.G(images.to(device), domains.to(device).long())

    def predict(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``batch["x"]`` translated to ``batch["target_labels"]``."""
        if "target_labels" not in batch:
            raise GanzooError("stargan needs the target domain of each image ('target_labels'; "
                              "ganzoo translate --domain K)")
        return self.translate_to(batch["x"], batch["target_labels"])

    def translate(self, images: torch.Tensor, direction: str = "0") -> torch.Tensor:
        """``images`` translated to domain ``int(direction)`` (see :meth:`translate_to`)."""
        return self.translate_to(images, torch.full((images.shape[0],), int(direction), dtype=torch.long))

    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        raise GanzooError("stargan translates images between domains and cannot sample from noise; use "
                          "'ganzoo translate RUN_DIR INPUT -o OUTPUT --domain K'")

    def fixed_inputs(self, n: int, generator: torch.Generator, examples: dict[str, torch.Tensor]) -> Any:
        """``g^2 (1 + D)`` examples, so the square grid holds rows of inputs, then one row per
        target domain, for each group of ``g (1 + D)`` examples."""
        rows = 1 + int(self.G.num_domains)
        g = max(1, int(math.sqrt(min(n, examples["x"].shape[0]) / rows)))
        k = min(g * g * rows, examples["x"].shape[0])
        return {"x": examples["x"][:k], "row": g * rows}

    @torch.no_grad()
    def preview(self, fixed: Any) -> torch.Tensor:
        x, row = fixed["x"], fixed["row"]
        parts = []
        for start in range(0, x.shape[0], row):
            chunk = x[start:start + row]
            parts.append(chunk)
            for d in range(self.G.num_domains):
                parts.append(self.translate_to(chunk, torch.full((chunk.shape[0],), d, dtype=torch.long)))
        return torch.cat(parts)


@hookimpl
def register_variants(register) -> None:
    register("stargan", StarGAN)
