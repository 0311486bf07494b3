"""The items of :mod:`ganzoo.data.degrade`: pairs derived from another data set's images.

Each batch is fetched from the inner data set in one call (its own batched fetch and seeded
transforms), then degraded as a whole. Randomness (inpainting masks) comes from the item seeds:
the training loader's per-item seeds ``(run seed, epoch, index)`` (a new mask every epoch, the
same ones after a resume), and for ``dataset[i]`` / ``__getitems__`` a seed fixed by the split and
the index, so the test split, and so every score on it, is the same at every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .batched import CollatedBatch, collate
from .transforms import item_seed


def fetch(dataset: Any, indices: Sequence[int], seeds: Sequence[int]) -> dict[str, torch.Tensor]:
    """A collated batch of ``indices`` from any map-style data set (seeded where it can be)."""
    if hasattr(dataset, "get_seeded"):
        return collate(dataset.get_seeded(list(indices), list(seeds)))
    if hasattr(dataset, "__getitems__"):
        return collate(dataset.__getitems__(list(indices)))
    return collate([dataset[i] for i in indices])


def downsample(images: torch.Tensor, scale: int, method: str = "bicubic", antialias: bool = True,
               quantize: bool = True) -> torch.Tensor:
    """(N, C, H, W) images in [-1, 1] shrunk ``scale`` times per side with ``method``; ``quantize``
    rounds to the 8-bit levels a stored image has."""
    h, w = images.shape[-2:]
    size = (h // scale, w // scale)
    if method in ("bicubic", "bilinear"):
        small = F.interpolate(images, size=size, mode=method, align_corners=False, antialias=antialias)
    else:
        small = F.interpolate(images, size=size, mode=method)
    small = small.clamp(-1.0, 1.0)
    if quantize:
        small = torch.round((small + 1.0) * 127.5) / 127.5 - 1.0
    return small


class _Derived(Dataset):
    """Items derived from ``inner``'s images by :meth:`derive` (a whole batch at a time)."""

    def __init__(self, inner: Any, seed: int = 0) -> None:
        self.inner = inner
        self.seed = seed

    @property
    def skipped(self) -> int:
        return getattr(self.inner, "skipped", 0)

    def __len__(self) -> int:
        return len(self.inner)

    def derive(self, images: torch.Tensor, seeds: Sequence[int]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def get_seeded(self, indices: Sequence[int], seeds: Sequence[int]) -> CollatedBatch:
        images = fetch(self.inner, indices, seeds)["x"]
        return CollatedBatch(self.derive(images, seeds))

    def __getitems__(self, indices: Sequence[int]) -> CollatedBatch:
        idx = [int(i) for i in indices]
        return self.get_seeded(idx, [item_seed(self.seed, 0, i) for i in idx])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        return self.__getitems__([index % len(self)])[0]


class SRPairsDataset(_Derived):
    """Items ``{"x": low-resolution image, "y": image}``."""

    def __init__(self, inner: Any, scale: int, method: str = "bicubic", antialias: bool = True,
                 quantize: bool = True) -> None:
        super().__init__(inner)
        self.scale, self.method, self.antialias, self.quantize = scale, method, antialias, quantize

    def derive(self, images: torch.Tensor, seeds: Sequence[int]) -> dict[str, torch.Tensor]:
        return {"x": downsample(images, self.scale, self.method, self.antialias, self.quantize),
                "y": images}


@dataclass(frozen=True)
class MaskSpec:
    """How holes are drawn (see :class:`ganzoo.data.degrade.InpaintOptions`)."""

    kind: str = "centre"
    hole: float = 0.5
    num_boxes: int = 2
    num_strokes: int = 4
    stroke_width: float = 0.1


def _centre(spec: MaskSpec, h: int, w: int, g: torch.Generator) -> torch.Tensor:
    m = torch.zeros(h, w)
    sh, sw = max(1, round(spec.hole * h)), max(1, round(spec.hole * w))
    top, left = (h - sh) // 2, (w - sw) // 2
    m[top:top + sh, left:left + sw] = 1.0
    return m


def _boxes(spec: MaskSpec, h: int, w: int, g: torch.Generator) -> torch.Tensor:
    m = torch.zeros(h, w)
    for _ in range(spec.num_boxes):
        u = torch.rand(4, generator=g).tolist()
        bh = max(1, round(spec.hole * h * (0.5 + 0.5 * u[0])))
        bw = max(1, round(spec.hole * w * (0.5 + 0.5 * u[1])))
        top, left = int(u[2] * (h - bh + 1)), int(u[3] * (w - bw + 1))
        m[top:top + bh, left:left + bw] = 1.0
    return m


def _free_form(spec: MaskSpec, h: int, w: int, g: torch.Generator) -> torch.Tensor:
    """Thick poly-line strokes (2 to 4 segments each, round joints), as in free-form inpainting."""
    import math

    import numpy as np
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    width = max(1, round(spec.stroke_width * min(h, w)))
    for _ in range(spec.num_strokes):
        u = torch.rand(2 + 2 * 4 + 1, generator=g).tolist()
        x, y = u[0] * w, u[1] * h
        points = [(x, y)]
        for k in range(2 + int(u[-1] * 3)):
            angle, length = 2 * math.pi * u[2 + 2 * k], (0.5 + 0.5 * u[3 + 2 * k]) * spec.hole * min(h, w) / 2
            x = min(max(x + length * math.cos(angle), 0), w - 1)
            y = min(max(y + length * math.sin(angle), 0), h - 1)
            points.append((x, y))
        draw.line(points, fill=255, width=width, joint="curve")
        r = width / 2
        for px, py in (points[0], points[-1]):
            draw.ellipse([px - r, py - r, px + r, py + r], fill=255)
    return torch.from_numpy((np.asarray(canvas) > 127).astype(np.float32))


MASKS = {"centre": _centre, "boxes": _boxes, "free_form": _free_form}


def make_mask(spec: MaskSpec, h: int, w: int, seed: int) -> torch.Tensor:
    """A ``(1, h, w)`` float mask, 1 inside the hole, drawn from ``seed``."""
    g = torch.Generator().manual_seed(item_seed(seed, -3, 0))
    m = MASKS[spec.kind](spec, h, w, g)
    if not m.any():  # keep at least one pixel in the hole: a score inside it must exist
        m[h // 2, w // 2] = 1.0
    return m.unsqueeze(0)


class InpaintDataset(_Derived):
    """Items ``{"x": image with the hole at 0 (mid grey), "mask": (1, H, W), "y": image}``."""

    def __init__(self, inner: Any, spec: MaskSpec, seed: int = 0) -> None:
        super().__init__(inner, seed)
        self.spec = spec

    def derive(self, images: torch.Tensor, seeds: Sequence[int]) -> dict[str, torch.Tensor]:
        h, w = images.shape[-2:]
        masks = torch.stack([make_mask(self.spec, h, w, int(s)) for s in seeds])
        return {"x": images * (1.0 - masks), "mask": masks, "y": images}
