"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation, following the authors' recipe.

Two ResNet generators (``G_A``: A -> B, ``G_B``: B -> A) and two 70x70 PatchGAN discriminators
(``D_A`` judges domain B, ``D_B`` judges domain A, as in the reference code). One iteration:

1. generators (one Adam over both, D frozen): ``fake_B = G_A(A)``, ``rec_A = G_B(fake_B)``,
   ``fake_A = G_B(B)``, ``rec_B = G_A(fake_A)``; loss = adversarial (``loss``, least squares by
   default) + ``lambda_A |rec_A - A|_1 + lambda_B |rec_B - B|_1`` + identity
   ``lambda_B * lambda_identity |G_A(B) - B|_1 + lambda_A * lambda_identity |G_B(A) - A|_1``
   (``lambda_identity`` is a fraction of lambda: 0.5 gives an effective weight of 5);
2. discriminators (one Adam over both): D_A on real B vs a fake B from the image pool, then D_B on
   real A vs a pooled fake A; the loss's own ``d_loss`` (``lsgan`` already halves it, which is
   the reference's ``* 0.5``).

Learning rate (both optimizers): constant for ``n_steps_constant`` generator steps, then linear
decay over ``n_steps_decay`` steps. The reference's per-epoch rule
``1 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1)`` is applied per step: the step with
0-based index ``s`` uses ``lr * (1 - max(0, s + 1 - n_steps_constant) / (n_steps_decay + 1))``
(clamped at 0 past the end), so the first ``n_steps_constant`` steps run at ``lr``, the next one
at ``lr * n_decay / (n_decay + 1)`` and the last of the decay at ``lr / (n_decay + 1)``. Unset,
the two default to half of ``train.steps`` each (the reference's 100 + 100 epochs).

The model translates and cannot sample from noise: use :meth:`CycleGAN.translate` or
``ganzoo translate``.
"""

from __future__ import annotations

from typing import Any, Iterator

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from ..errors import GanzooError
from ..hookspecs import hookimpl
from ..interfaces import Betas, StepContext, Variant, VariantOptions, eval_mode
from ..nets.cyclegan import PatchDiscriminator, ResnetGenerator
from ..nets.mlp import init_normal
from ..plugins import create_loss, get_registry
from ..schedules import linear_decay

DIRECTIONS = ("AtoB", "BtoA")


class CycleGANOptions(VariantOptions):
    ngf: int = Field(64, gt=0, description="generator width (64 in the paper)")
    ndf: int = Field(64, gt=0, description="discriminator width (64 in the paper)")
    n_blocks: int = Field(9, ge=0, description="residual blocks: 9 at 256 px, 6 at 128 px")
    n_layers_d: int = Field(3, gt=0, description="PatchGAN depth: 3 is the 70x70 PatchGAN")
    loss: str = Field("lsgan", description="adversarial loss: see 'ganzoo list losses'")
    lambda_A: float = Field(10.0, ge=0, description="weight of the cycle loss A -> B -> A")
    lambda_B: float = Field(10.0, ge=0, description="weight of the cycle loss B -> A -> B")
    lambda_identity: float = Field(0.5, ge=0, description="identity loss weight as a fraction of "
                                                          "lambda_A/lambda_B (0.5: effective 5)")
    pool_size: int = Field(50, ge=0, description="image pool of past fakes per direction (0: none)")
    lr_g: float = Field(2e-4, gt=0)
    lr_d: float = Field(2e-4, gt=0)
    betas: Betas = Field((0.5, 0.999), description="Adam betas")
    n_steps_constant: int | None = Field(None, ge=0, description="generator steps at the initial "
                                                                 "lr (default: half of train.steps)")
    n_steps_decay: int | None = Field(None, ge=0, description="generator steps of linear decay to 0 "
                                                              "(default: the rest of train.steps)")
    init_std: float = Field(0.02, gt=0, description="N(0, std) initialisation of conv weights")


class ImagePool:
    """The history of generated images that the discriminator sees (Shrivastava et al. 2017).

    Each incoming image fills the pool until it holds ``size``; after that, with probability 1/2
    it replaces a uniformly chosen stored image, which is returned instead, and otherwise it is
    returned itself. Random draws come from torch's global RNG, so a run's RNG state makes it
    reproducible; its contents are part of a checkpoint (:meth:`state`).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif float(torch.rand(())) > 0.5:
                i = int(torch.randint(0, self.size, ()))
                out.append(self.images[i])
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state(self) -> torch.Tensor | None:
        return torch.stack(self.images).cpu() if self.images else None

    def load(self, stacked: torch.Tensor | None, device: torch.device) -> None:
        self.images = [] if stacked is None else [img.to(device) for img in stacked]


class _Generators(nn.Module):
    """Both generators as one module (what EMA averages and ``generator_net`` returns)."""

    def __init__(self, G_A: nn.Module, G_B: nn.Module) -> None:
        super().__init__()
        self.G_A, self.G_B = G_A, G_B


class CycleGAN(Variant):
    """Unpaired translation with cycle consistency; batches are ``{"a", "b"}``."""

    Options = CycleGANOptions
    supports = ("unpaired",)
    supports_accumulation = True
    translates = True
    #: no latent codes: it maps images to images
    interpolation_space = None
    options: CycleGANOptions

    def __init__(self, options: CycleGANOptions, data) -> None:
        super().__init__(options, data)
        get_registry().entry("losses", options.loss)  # unknown loss -> error with suggestion
        self.loss = create_loss(options.loss)
        c, o = data.channels, options
        check_sizes(data.shape, o.n_layers_d)
        self.G_A = ResnetGenerator(c, c, o.ngf, o.n_blocks)
        self.G_B = ResnetGenerator(c, c, o.ngf, o.n_blocks)
        self.D_A = PatchDiscriminator(c, o.ndf, o.n_layers_d)
        self.D_B = PatchDiscriminator(c, o.ndf, o.n_layers_d)
        for net in (self.G_A, self.G_B, self.D_A, self.D_B):
            init_normal(net, o.init_std)
        # not a registered child: its modules are G_A and G_B already (no duplicate state keys)
        object.__setattr__(self, "_generators", _Generators(self.G_A, self.G_B))
        self.pool_A, self.pool_B = ImagePool(o.pool_size), ImagePool(o.pool_size)  # fake A / fake B

    # -- training --------------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        o = self.options
        g_params = list(self.G_A.parameters()) + list(self.G_B.parameters())
        d_params = list(self.D_A.parameters()) + list(self.D_B.parameters())
        return {"G": torch.optim.Adam(g_params, lr=o.lr_g, betas=o.betas),
                "D": torch.optim.Adam(d_params, lr=o.lr_d, betas=o.betas)}

    def lr_steps(self, total_steps: int) -> tuple[int, int]:
        """(constant, decay) generator steps of the schedule for a run of ``total_steps``."""
        o = self.options
        n_constant = o.n_steps_constant if o.n_steps_constant is not None else (
            total_steps // 2 if o.n_steps_decay is None else max(0, total_steps - o.n_steps_decay))
        n_decay = o.n_steps_decay if o.n_steps_decay is not None else max(0, total_steps - n_constant)
        return n_constant, n_decay

    def configure_schedulers(self, optimizers: dict[str, torch.optim.Optimizer],
                             total_steps: int) -> dict[str, Any]:
        n_constant, n_decay = self.lr_steps(total_steps)
        factor = linear_decay(n_constant - 1, n_constant + n_decay)  # the reference's epoch rule, per step
        return {name: torch.optim.lr_scheduler.LambdaLR(opt, factor) for name, opt in optimizers.items()}

    def _set_d_grad(self, flag: bool) -> None:
        for p in self._d_params:
            p.requires_grad_(flag)

    @property
    def _d_params(self) -> list[nn.Parameter]:
        return list(self.D_A.parameters()) + list(self.D_B.parameters())

    def generator_losses(self, real_A: torch.Tensor, real_B: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every generator loss term, already weighted, plus the fakes (for the D update).

        Calls of one network on independent inputs are batched into one call (three generator
        calls instead of the reference's six): every layer, InstanceNorm included, works per
        image, so the outputs and gradients are the same, with fewer, larger operations.
        """
        o, n = self.options, real_A.shape[0]
        idt = o.lambda_identity > 0
        out_A = self.G_A(torch.cat([real_A, real_B]) if idt else real_A)      # fake_B (, idt_A)
        fake_B = out_A[:n]
        out_B = self.G_B(torch.cat([real_B, fake_B, real_A] if idt else [real_B, fake_B]))
        fake_A, rec_A = out_B[:n], out_B[n:2 * n]                              # (, idt_B)
        rec_B = self.G_A(fake_A)
        terms = {"loss_g_a": self.loss.g_loss(self.D_A(fake_B), self.real_scores(self.D_A, real_B)),
                 "loss_g_b": self.loss.g_loss(self.D_B(fake_A), self.real_scores(self.D_B, real_A)),
                 "loss_cycle_a": F.l1_loss(rec_A, real_A) * o.lambda_A,
                 "loss_cycle_b": F.l1_loss(rec_B, real_B) * o.lambda_B}
        if idt:
            terms["loss_idt_a"] = F.l1_loss(out_A[n:], real_B) * (o.lambda_B * o.lambda_identity)
            terms["loss_idt_b"] = F.l1_loss(out_B[2 * n:], real_A) * (o.lambda_A * o.lambda_identity)
        return {**terms, "fake_A": fake_A, "fake_B": fake_B}

    def real_scores(self, D: nn.Module, real: torch.Tensor) -> torch.Tensor | None:
        """D's scores of real images for a loss that compares them in the generator step."""
        if not self.loss.uses_real_scores_in_g:
            return None
        with torch.no_grad():
            return D(real)

    def train_step(self, batches: Iterator[dict[str, torch.Tensor]], ctx: StepContext) -> dict[str, Any]:
        """The reference order: both generators, then both discriminators on pooled fakes.

        With gradient accumulation each update sums ``ctx.accumulate`` micro-batches; the
        discriminators then see each micro-batch's fakes through the pools in the same order.
        """
        opt_g, opt_d = self.optimizers["G"], self.optimizers["D"]

        # 1. both generators, with the discriminators frozen (no parameter gradients for them)
        self._set_d_grad(False)
        opt_g.zero_grad(set_to_none=True)
        sums: dict[str, torch.Tensor] = {}
        micro = []  # (real_A, real_B, fake_A, fake_B) per micro-batch, for the D update
        for _ in range(ctx.accumulate):
            batch = next(batches)
            real_A, real_B = batch["a"], batch["b"]
            with ctx.autocast():
                out = self.generator_losses(real_A, real_B)
                fake_A, fake_B = out.pop("fake_A"), out.pop("fake_B")
                loss_g = sum(out.values())
            ctx.backward(loss_g)
            for k, v in {**out, "loss_g": loss_g}.items():
                sums[k] = sums.get(k, 0.0) + v.detach()
            micro.append((real_A, real_B, fake_A.detach(), fake_B.detach()))
        ctx.step(opt_g, "G")
        self._set_d_grad(True)

        # 2. both discriminators: D_A (real B vs pooled fake B), then D_B (real A vs pooled fake A)
        opt_d.zero_grad(set_to_none=True)
        for real_A, real_B, fake_A, fake_B in micro:
            pooled_B = self.pool_B.query(fake_B)
            pooled_A = self.pool_A.query(fake_A)
            n = real_A.shape[0]
            with ctx.autocast():  # real and pooled fake in one call per D (per-image layers: same scores)
                scores_a = self.D_A(torch.cat([real_B, pooled_B]))
                scores_b = self.D_B(torch.cat([real_A, pooled_A]))
                loss_d_a = self.loss.d_loss(scores_a[:n], scores_a[n:])
                loss_d_b = self.loss.d_loss(scores_b[:n], scores_b[n:])
            ctx.backward(loss_d_a + loss_d_b)  # disjoint parameters: same gradients as two backward calls
            sums["loss_d_a"] = sums.get("loss_d_a", 0.0) + loss_d_a.detach()
            sums["loss_d_b"] = sums.get("loss_d_b", 0.0) + loss_d_b.detach()
        ctx.step(opt_d, "D")
        return {k: v / ctx.accumulate for k, v in sums.items()}

    # -- state -------------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        return {"pool_A": self.pool_A.state(), "pool_B": self.pool_B.state()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        device = self._device()
        self.pool_A.load(state.get("pool_A"), device)
        self.pool_B.load(state.get("pool_B"), device)

    def generator_net(self) -> nn.Module:
        return self._generators

    # -- inference ---------------------------------------------------------------------------
    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        raise GanzooError("cyclegan translates images and cannot sample from noise; use "
                          "'ganzoo translate RUN_DIR INPUT -o OUTPUT --direction AtoB|BtoA'")

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """``images`` (N, C, H, W) in [-1, 1] of the source domain, translated (eval mode).

        Any H and W divisible by 4 (and at least 8) work: the generator is fully convolutional.
        """
        if direction not in DIRECTIONS:
            raise GanzooError(f"direction must be AtoB or BtoA, not '{direction}'")
        check_translatable(images.shape)
        net = self.G_A if direction == "AtoB" else self.G_B
        with eval_mode(net):
            return net(images.to(self._device()))

    def fixed_inputs(self, n: int, generator: torch.Generator, examples: dict[str, torch.Tensor]) -> Any:
        """The first ``k = 4 m^2 <= n`` real A and B examples (all of them if n < 4), so the
        square grid holds whole rows of A, G_A(A), B, G_B(B) with 4m images each."""
        m = 1
        while 4 * (m + 1) ** 2 <= n:
            m += 1
        k = 4 * m * m if n >= 4 else n
        return {"a": examples["a"][:k], "b": examples["b"][:k], "row": 4 * m if n >= 4 else k}

    @torch.no_grad()
    def preview(self, fixed: Any) -> torch.Tensor:
        """Grid rows of real A, G_A(A), real B, G_B(B), repeated for each group of examples."""
        a, b, row = fixed["a"], fixed["b"], fixed["row"]
        fake_b, fake_a = self.translate(a, "AtoB"), self.translate(b, "BtoA")
        parts = []
        for start in range(0, a.shape[0], row):
            s = slice(start, start + row)
            parts += [a[s], fake_b[s], b[s], fake_a[s]]
        return torch.cat(parts)


def check_translatable(shape: tuple[int, ...] | torch.Size) -> None:
    """Refuse image sizes the ResNet generator cannot map back to themselves."""
    if len(shape) != 4:
        raise GanzooError(f"expected a batch of images (N, C, H, W), got shape {tuple(shape)}")
    h, w = shape[-2:]
    if h % 4 or w % 4 or h < 8 or w < 8:
        raise GanzooError(f"CycleGAN translates images whose sides are multiples of 4 and at least 8, "
                          f"got {h}x{w}; resize the input")


def check_sizes(shape: tuple[int, ...], n_layers_d: int) -> None:
    """Refuse image sizes the networks cannot train on, naming the option to change."""
    h, w = shape[-2:]
    if h % 4 or w % 4 or min(h, w) < 8:
        raise GanzooError(f"cyclegan needs image sides that are multiples of 4 and at least 8, got "
                          f"{h}x{w}; set data.image_size (e.g. 32, 128 or 256)")
    need = 3 * 2 ** min(n_layers_d, 40)  # the stride-1 layers need >= 3x3 after the strided ones
    if min(h, w) < need:
        shown = need if n_layers_d <= 40 else f"3 x 2^{n_layers_d}"
        raise GanzooError(f"variant.n_layers_d={n_layers_d} needs images of at least {shown} px, got "
                          f"{h}x{w}; lower variant.n_layers_d or raise data.image_size")


@hookimpl
def register_variants(register) -> None:
    register("cyclegan", CycleGAN)
