"""Procedural image-to-image sets whose right answer is known (no download).

* ``shape_edges`` (paired, pix2pix): the input is the outline of one shape drawn in the shape's
  colour on black; the target is the same shape filled with that colour on a light grey
  background (RGB 220, 220, 220). The outline fixes the target exactly (a ring's two outlines
  leave its hole empty), so the ideal PSNR is unbounded; identity fails on the background and
  on every interior pixel.
* ``color_domains`` (multi_domain, StarGAN): domain ``k`` of ``D`` draws shapes in the hue
  ``360 k / D`` degrees on black; an item's test ground truth ``y_by_domain[j]`` is the same
  shape (same antialiased coverage) in domain ``j``'s colour.

Scenes come from :mod:`ganzoo.data.shape_render` (class, centre, size, a uniform draw), seeded
per item, so an item does not depend on the set's size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter
from torch.utils.data import Dataset

from .batched import CollatedBatch, as_index, uint8_to_float
from .shape_render import SUPERSAMPLE, Scenes, _draw_shape, composite, hsv_to_rgb, render_coverage, sample_scenes

STREAM_EDGES, STREAM_DOMAINS = 401, 402
SATURATION, VALUE = 0.85, 0.95
EDGE_BACKGROUND = (0, 0, 0)
FILL_BACKGROUND = (220, 220, 220)
DOMAIN_BACKGROUND = (0, 0, 0)


def render_outline(scenes: Scenes, image_size: int) -> np.ndarray:
    """uint8 ``(N, H, W)`` outlines about one pixel wide (dilation minus erosion of the shape on
    the 4x canvas, then box-downsampled like :func:`render_coverage`)."""
    big = image_size * SUPERSAMPLE
    grow, shrink = ImageFilter.MaxFilter(SUPERSAMPLE + 1), ImageFilter.MinFilter(SUPERSAMPLE + 1)
    out = np.empty((len(scenes), image_size, image_size), dtype=np.uint8)
    for i in range(len(scenes)):
        canvas = Image.new("L", (big, big), 0)
        _draw_shape(ImageDraw.Draw(canvas), int(scenes.cls[i]), float(scenes.cx[i]) * big,
                    float(scenes.cy[i]) * big, float(scenes.size[i]) * big)
        edge = np.asarray(canvas.filter(grow), np.int16) - np.asarray(canvas.filter(shrink), np.int16)
        out[i] = np.asarray(Image.fromarray(edge.clip(0, 255).astype(np.uint8)).reduce(SUPERSAMPLE))
    return out


class _ArrayItems(Dataset):
    """Items gathered from uint8 image tensors (and int64 labels) held in memory."""

    images: dict[str, torch.Tensor]
    labels: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return next(iter(self.images.values())).shape[0]

    def __getitems__(self, indices: Any) -> CollatedBatch:
        idx = as_index(indices)
        out = {k: uint8_to_float(v.index_select(0, idx)) for k, v in self.images.items()}
        out.update({k: v.index_select(0, idx) for k, v in self.labels.items()})
        return CollatedBatch(out)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        return self.__getitems__([index % len(self)])[0]


class ShapeEdgesDataset(_ArrayItems):
    """Items ``{"x": coloured outline, "y": filled shape}``, (3, H, W) in [-1, 1]."""

    def __init__(self, size: int, image_size: int, num_classes: int, seed: int, split: int) -> None:
        self.scenes = sample_scenes(seed, STREAM_EDGES, split, size, num_classes)
        fg = hsv_to_rgb(360.0 * self.scenes.u_hue, SATURATION, VALUE) * 255.0
        outline = composite(render_outline(self.scenes, image_size), fg, np.asarray(EDGE_BACKGROUND))
        filled = composite(render_coverage(self.scenes, image_size), fg, np.asarray(FILL_BACKGROUND))
        self.images = {"x": torch.from_numpy(outline), "y": torch.from_numpy(filled)}
        self.labels = {}


def domain_colours(num_domains: int) -> np.ndarray:
    """``(D, 3)`` foreground colours in 0..255: hue ``360 k / D`` at fixed saturation and value."""
    return hsv_to_rgb(360.0 * np.arange(num_domains) / num_domains, SATURATION, VALUE) * 255.0


class ColorDomainsDataset(_ArrayItems):
    """Items ``{"x": shape in its domain's colour, "labels": domain}``; with ``truth`` also
    ``"y_by_domain"``: (D, 3, H, W), the same shape in every domain's colour."""

    def __init__(self, size: int, image_size: int, num_classes: int, num_domains: int, seed: int,
                 split: int, truth: bool) -> None:
        self.scenes = sample_scenes(seed, STREAM_DOMAINS, split, size, num_classes)
        domain = np.minimum((self.scenes.u_hue * num_domains).astype(np.int64), num_domains - 1)
        coverage = render_coverage(self.scenes, image_size)
        colours = domain_colours(num_domains)
        bg = np.asarray(DOMAIN_BACKGROUND)
        self.images = {"x": torch.from_numpy(composite(coverage, colours[domain], bg))}
        self.labels = {"labels": torch.from_numpy(domain)}
        if truth:
            every = [composite(coverage, np.repeat(colours[j:j + 1], size, 0), bg) for j in range(num_domains)]
            self.images["y_by_domain"] = torch.from_numpy(np.stack(every, axis=1))
