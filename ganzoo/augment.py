"""Adaptive discriminator augmentation (ADA, Karras et al. 2020b).

With little data D memorises the training set and G's training signal fades. ADA shows D
augmented images only, real and generated alike, each augmentation applied with probability
``p`` per operation per image; because G's images go through the same augmentations, and the ones
used here cannot be confused with real image content while ``p`` stays moderate, G still learns the
un-augmented distribution. ``p`` adapts to how much D overfits, measured by
``r_t = E[sign(D(x_real))]`` over the last ``interval`` D updates (0 for a D that cannot tell,
1 for one sure of every real image): every ``interval`` updates

    p += sign(r_t - target) * (images seen in the interval) / speed_images,   clipped to [0, 1]

so ``p`` can go from 0 to 1 in ``speed_images`` images.

The operations are a differentiable subset of ADA's pipeline, in its order: x-flip, rotation by
multiples of 90 degrees, integer translation (up to 1/8 of the side, mirrored edges), brightness,
contrast, saturation, cutout. They are tensor operations (index gathers, additions,
multiplications), so G's gradients flow through them. Random parameters come from torch's global
generator, which the trainer seeds and checkpoints; ``p`` and the running statistics are buffers,
so they are checkpointed with the variant and a resume continues exactly.

Any adversarial variant turns it on with ``variant.ada: {target: 0.6}``
(:class:`ganzoo.adversarial.AdversarialVariant`); it logs ``ada/p`` and ``ada/r_t``.
"""

from __future__ import annotations

import math

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from .errors import ConfigError

#: largest integer translation, as a fraction of the image side (ADA's xint_max)
TRANSLATE_MAX = 0.125
#: brightness: x + N(0, std^2)
BRIGHTNESS_STD = 0.2
#: contrast: x * lognormal(0, std^2) (around 0, mid-grey in [-1, 1])
CONTRAST_STD = 0.5 * math.log(2)
#: saturation: the colour part (x minus its channel mean) * lognormal(0, std^2)
SATURATION_STD = math.log(2)
#: cutout: a square of this fraction of the side, centred anywhere, set to 0
CUTOUT_SIZE = 0.5


class ADAOptions(BaseModel):
    """``variant.ada``: adaptive discriminator augmentation (null or absent: off)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: float = Field(0.6, gt=0, lt=1, description="the overfitting measure r_t = E[sign(D(real))] "
                                                       "that p is adjusted toward")
    interval: int = Field(4, gt=0, description="adjust p every this many discriminator updates")
    speed_images: int = Field(500_000, gt=0, description="images over which p can move from 0 to 1")
    p_init: float = Field(0.0, ge=0, le=1, description="augmentation probability at the start")


def build_augment(options: ADAOptions | None, data_kind: str) -> "AdaptiveAugment | None":
    """The run's augmentation module, or None when ``variant.ada`` is off."""
    if options is None:
        return None
    if data_kind != "images":
        raise ConfigError(f"variant.ada augments images, but this run's data are {data_kind}; "
                          f"remove variant.ada", key="variant.ada")
    return AdaptiveAugment(options.target, options.interval, options.speed_images, options.p_init)


class AdaptiveAugment(nn.Module):
    """Augments D's inputs with probability ``p`` per operation per image; ``observe`` adapts ``p``."""

    def __init__(self, target: float = 0.6, interval: int = 4, speed_images: int = 500_000,
                 p_init: float = 0.0) -> None:
        super().__init__()
        self.target, self.interval, self.speed_images = target, interval, speed_images
        self.register_buffer("p", torch.tensor(float(p_init)))
        self.register_buffer("r_t", torch.tensor(0.0))          # the last interval's measure (logged)
        # running sums over the current interval: signs of real scores, scores, images, D updates
        self.register_buffer("sign_sum", torch.tensor(0.0))
        self.register_buffer("score_count", torch.tensor(0.0))
        self.register_buffer("image_count", torch.tensor(0.0))
        self.register_buffer("updates", torch.tensor(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (N, C, H, W), each operation applied to each image with probability ``p``.

        Every draw is made whatever ``p`` is (so the random stream does not depend on it), and an
        image an operation skips is passed through unchanged: at p = 0 the output is ``x``."""
        x = flip_x(x, self._chosen(x))
        if x.shape[2] == x.shape[3]:
            x = rotate90(x, self._chosen(x))
        x = translate(x, self._chosen(x))
        x = brightness(x, self._chosen(x))
        x = contrast(x, self._chosen(x))
        if x.shape[1] > 1:
            x = saturation(x, self._chosen(x))
        return cutout(x, self._chosen(x))

    def _chosen(self, x: torch.Tensor) -> torch.Tensor:
        """Which images an operation applies to: (N,) booleans, each True with probability p."""
        return torch.rand(x.shape[0], device=x.device) < self.p

    @torch.no_grad()
    def observe(self, real_scores: torch.Tensor) -> None:
        """Record one D update's scores of real images; on every ``interval``-th update, set
        ``r_t`` and move ``p``. Tensor arithmetic only (no host sync); under torchrun the counts
        are summed over processes, so every process keeps the same ``p``."""
        scores = real_scores.detach().float()
        counts = torch.stack([scores.sign().sum(), scores.new_tensor(scores.numel()),
                              scores.new_tensor(scores.shape[0])])
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(counts)
        self.sign_sum += counts[0]
        self.score_count += counts[1]
        self.image_count += counts[2]
        self.updates += 1
        due = self.updates % self.interval == 0
        r_t = self.sign_sum / self.score_count.clamp(min=1)
        step = torch.sign(r_t - self.target) * self.image_count / self.speed_images
        self.p.copy_(torch.where(due, (self.p + step).clamp(0.0, 1.0), self.p))
        self.r_t.copy_(torch.where(due, r_t, self.r_t))
        for total in (self.sign_sum, self.score_count, self.image_count):
            total.masked_fill_(due, 0.0)

    def logs(self) -> dict[str, torch.Tensor]:
        return {"ada/p": self.p.detach().clone(), "ada/r_t": self.r_t.detach().clone()}


# -- the operations: each takes (N, C, H, W) images and an (N,) mask of images to change --------
def _per_image(values: torch.Tensor) -> torch.Tensor:
    return values.view(-1, 1, 1, 1)


def _where(chosen: torch.Tensor, changed: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.where(_per_image(chosen), changed, x)


def flip_x(x: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """A chosen image is mirrored left-right with probability 1/2 (ADA's xflip)."""
    heads = torch.rand(x.shape[0], device=x.device) < 0.5
    return _where(chosen & heads, x.flip(3), x)


def rotate90(x: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """A chosen image is rotated by 0, 90, 180 or 270 degrees (uniformly); square images only."""
    quarter_turns = torch.randint(0, 4, (x.shape[0],), device=x.device)
    out = x
    for k in (1, 2, 3):
        out = _where(chosen & (quarter_turns == k), torch.rot90(x, k, dims=(2, 3)), out)
    return out


def _mirror(index: torch.Tensor, size: int) -> torch.Tensor:
    """Indices outside [0, size) reflected back in, edge not repeated (-1 -> 1, size -> size - 2)."""
    if size == 1:
        return torch.zeros_like(index)
    period = 2 * (size - 1)
    index = index.remainder(period)
    return torch.where(index >= size, period - index, index)


def translate(x: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """A chosen image is shifted by whole pixels, up to ``TRANSLATE_MAX`` of each side, with
    mirrored edges (a gather, so gradients reach every source pixel)."""
    n, c, h, w = x.shape
    shift = (torch.rand(2, n, device=x.device) * 2 - 1) * TRANSLATE_MAX
    shift = shift * torch.tensor([h, w], device=x.device)[:, None]
    dy, dx = (shift.round().long() * chosen.long()[None]).unbind(0)
    rows = _mirror(torch.arange(h, device=x.device)[None] - dy[:, None], h)   # (N, H)
    cols = _mirror(torch.arange(w, device=x.device)[None] - dx[:, None], w)   # (N, W)
    images = torch.arange(n, device=x.device)[:, None, None, None]
    channels = torch.arange(c, device=x.device)[None, :, None, None]
    return x[images, channels, rows[:, None, :, None], cols[:, None, None, :]]


def brightness(x: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """Adds N(0, ``BRIGHTNESS_STD``^2) to every pixel of a chosen image."""
    offset = torch.randn(x.shape[0], device=x.device, dtype=x.dtype) * BRIGHTNESS_STD
    return x + _per_image(offset * chosen)


def contrast(x: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """Scales a chosen image by lognormal(0, ``CONTRAST_STD``^2) around 0 (mid-grey)."""
    factor = torch.exp(torch.randn(x.shape[0], device=x.device, dtype=x.dtype) * CONTRAST_STD)
    return x * _per_image(torch.where(chosen, factor, torch.ones_like(factor)))


def saturation(x: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """Scales a chosen image's colour (each pixel's offset from its grey level, the channel mean)
    by lognormal(0, ``SATURATION_STD``^2)."""
    factor = torch.exp(torch.randn(x.shape[0], device=x.device, dtype=x.dtype) * SATURATION_STD)
    grey = x.mean(dim=1, keepdim=True)
    return _where(chosen, grey + (x - grey) * _per_image(factor), x)


def cutout(x: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """Sets a square of ``CUTOUT_SIZE`` of the side, centred uniformly in a chosen image, to 0."""
    n, _, h, w = x.shape
    centre = torch.rand(2, n, 1, device=x.device)
    ys = (torch.arange(h, device=x.device, dtype=centre.dtype) + 0.5) / h
    xs = (torch.arange(w, device=x.device, dtype=centre.dtype) + 0.5) / w
    inside_rows = (ys[None] - centre[0]).abs() < CUTOUT_SIZE / 2           # (N, H)
    inside_cols = (xs[None] - centre[1]).abs() < CUTOUT_SIZE / 2           # (N, W)
    hole = inside_rows[:, :, None] & inside_cols[:, None, :] & chosen[:, None, None]
    return x * (~hole)[:, None].to(x.dtype)


class AugmentedDiscriminator(nn.Module):
    """D as the training sees it: augment, then score. Built per update around the variant's D
    (not stored, so D's weights are not listed twice in the variant's state), and handed to the
    regularizers too, so R1 and the like see what the loss sees."""

    def __init__(self, augment: AdaptiveAugment, D: nn.Module) -> None:
        super().__init__()
        self.augment, self.D = augment, D

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.D(self.augment(x), labels)
