"""``shapes``: a procedural labelled image set of coloured shapes on a black background.

Each image shows one shape (circle, square, triangle, plus, ring; the first ``num_classes`` of
them) with a random centre, size and hue (saturation 0.85, value 0.95). The label is the class.
The whole set is rendered once into a uint8 tensor; items are converted to float [-1, 1] on fetch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from .batched import CollatedBatch, as_index, uint8_to_float
from .shape_render import (CLASS_NAMES, Scenes, composite, hsv_to_rgb, render_coverage,
                           sample_scenes, to_luminance, uniform_hue)

STREAM = 201
SATURATION, VALUE = 0.85, 0.95
BACKGROUND = (0, 0, 0)


def render_shapes(scenes: Scenes, image_size: int, channels: int = 3) -> np.ndarray:
    """uint8 ``(N, channels, H, W)`` images of ``scenes`` (hue uniform from ``u_hue``)."""
    fg = hsv_to_rgb(uniform_hue(scenes), SATURATION, VALUE) * 255.0
    images = composite(render_coverage(scenes, image_size), fg, np.asarray(BACKGROUND, dtype=np.float32))
    return to_luminance(images) if channels == 1 else images


class ShapesDataset(Dataset):
    """``size`` shapes rendered at ``image_size``; items ``{"x": (C, H, W) in [-1, 1], "y": int64}``."""

    def __init__(self, size: int, image_size: int = 32, channels: int = 3, num_classes: int = 5,
                 seed: int = 0, split: int = 0) -> None:
        self.image_size, self.channels, self.num_classes = image_size, channels, num_classes
        self.class_names = CLASS_NAMES[:num_classes]
        self.scenes = sample_scenes(seed, STREAM, split, size, num_classes)
        self.images = torch.from_numpy(render_shapes(self.scenes, image_size, channels))
        self.labels = torch.from_numpy(self.scenes.cls.copy())

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"x": uint8_to_float(self.images[index]), "y": self.labels[index].clone()}

    def __getitems__(self, indices: Any) -> CollatedBatch:
        idx = as_index(indices)
        return CollatedBatch({"x": uint8_to_float(self.images.index_select(0, idx)),
                              "y": self.labels.index_select(0, idx)})

    def param_arrays(self) -> dict[str, np.ndarray]:
        """Every item's parameters: ``class``, ``center_x``, ``center_y``, ``size`` (fractions of
        the image side, origin top-left) and ``hue`` (degrees)."""
        s = self.scenes
        return {"class": s.cls.copy(), "center_x": s.cx.copy(), "center_y": s.cy.copy(),
                "size": s.size.copy(), "hue": uniform_hue(s)}

    def params(self, index: int) -> dict[str, Any]:
        """Item ``index``'s parameters (units as in :meth:`param_arrays`), plus its class name."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        s = self.scenes
        cls = int(s.cls[index])
        return {"class": cls, "class_name": self.class_names[cls],
                "center": (float(s.cx[index]), float(s.cy[index])),
                "size": float(s.size[index]), "hue": float(360.0 * s.u_hue[index])}
