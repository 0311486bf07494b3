"""Saving samples as pictures: image grids (Pillow) and 2-D scatter plots (matplotlib, drawn on use)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from .fileio import atomic_write
from .plots import scatter_plot


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (N, H, W, C) uint8."""
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def make_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile (N, C, H, W) images in [-1, 1] into one (H', W', 3) uint8 array, ``nrow`` per row."""
    arr = to_uint8(images)
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    n, h, w, c = arr.shape
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    rows = int(math.ceil(n / nrow))
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), 255, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + col * (w + pad):pad + col * (w + pad) + w] = arr[i]
    return grid


def scatter(points: torch.Tensor, real: torch.Tensor | None = None,
            centers: Sequence[Sequence[float]] | None = None, size: int = 512) -> np.ndarray:
    """A ``size`` x ``size`` scatter plot (H, W, 3 uint8) of 2-D samples (blue) over real data
    (grey) and the true mode centres (red crosses), with axes: see :func:`ganzoo.plots.scatter_plot`."""
    def numpy(x: torch.Tensor | None) -> np.ndarray | None:
        return None if x is None else x.detach().float().cpu().numpy()

    return scatter_plot(numpy(points), numpy(real),
                        None if centers is None else np.asarray(centers, dtype=np.float64), size)


def render(samples: torch.Tensor, kind: str, *, real: torch.Tensor | None = None,
           centers=None, nrow: int | None = None) -> np.ndarray:
    """A picture of samples of either kind: a grid for images, a scatter plot for points."""
    if kind == "points" or samples.dim() == 2:
        return scatter(samples, real=real, centers=centers)
    return make_grid(samples, nrow=nrow)


def png_writer(array: np.ndarray):
    """A writer for :func:`ganzoo.fileio.atomic_write` that saves an (H, W, 3) uint8 array as PNG."""
    image = Image.fromarray(array)
    return lambda f: image.save(f, format="PNG")


def save_png(array: np.ndarray, path: str | Path) -> Path:
    """Write an (H, W, 3) uint8 array as PNG, atomically (a reader never sees half a picture); no
    fsync: a preview lost in a power cut is drawn again. For the run's own previews; commands
    write their outputs with :func:`ganzoo.outputs.write_output`."""
    return atomic_write(path, png_writer(array), durable=False)
