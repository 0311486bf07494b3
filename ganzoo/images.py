"""Saving samples as pictures: image grids and 2-D scatter plots, with Pillow only."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw


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
    """A scatter plot of 2-D samples (blue) over real data (grey) and mode centres (red)."""
    pts = [p.detach().float().cpu().numpy() for p in ([real] if real is not None else []) + [points]]
    allp = np.concatenate(pts + ([np.asarray(centers, dtype=np.float32)] if centers else []))
    allp = allp[np.isfinite(allp).all(axis=1)]
    lo, hi = (allp.min(0), allp.max(0)) if len(allp) else (np.array([-1, -1]), np.array([1, 1]))
    span = float(max(hi - lo)) * 1.1 or 1.0
    mid = (lo + hi) / 2
    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)

    def px(p: np.ndarray) -> np.ndarray:
        return (p - mid) / span * (size - 1) * np.array([1, -1]) + (size - 1) / 2

    def dots(arr: np.ndarray, colour: tuple[int, int, int], r: float) -> None:
        for x, y in px(arr[np.isfinite(arr).all(axis=1)]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)

    if real is not None:
        dots(pts[0], (190, 190, 190), 1.5)
    dots(pts[-1], (30, 80, 200), 1.5)
    if centers:
        for x, y in px(np.asarray(centers, dtype=np.float32)):
            draw.line((x - 5, y, x + 5, y), fill=(220, 30, 30), width=2)
            draw.line((x, y - 5, x, y + 5), fill=(220, 30, 30), width=2)
    return np.asarray(img)


def render(samples: torch.Tensor, kind: str, *, real: torch.Tensor | None = None,
           centers=None, nrow: int | None = None) -> np.ndarray:
    """A picture of samples of either kind: a grid for images, a scatter plot for points."""
    if kind == "points" or samples.dim() == 2:
        return scatter(samples, real=real, centers=centers)
    return make_grid(samples, nrow=nrow)


def save_png(array: np.ndarray, path: str | Path) -> Path:
    """Write an (H, W, 3) uint8 array as PNG, atomically (temporary file, then rename)."""
    from .errors import GanzooError

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(tmp, format="PNG")
        tmp.replace(path)
    except OSError as exc:  # a file where a folder should be, no permission, disk full...
        if tmp.is_file():
            tmp.unlink()
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        reason = f"{blocker} is a file, not a folder" if blocker else (exc.strerror or str(exc))
        raise GanzooError(f"cannot write {path}: {reason}; choose another path") from None
    return path
