"""Procedural scenes of one coloured shape: parameters, antialiased rendering, colours.

A scene is (class, centre, size, hue draw). Geometry is in fractions of the image side, so the
same scene renders at any size. Shapes are drawn with Pillow on a canvas 4x larger than the
image and box-downsampled (``Image.reduce``), so each pixel holds its exact area coverage in
1/16 steps: clean antialiased edges and a coverage map that doubles as a soft foreground mask.

Item ``i``'s parameters come from numpy's PCG64 seeded with ``(seed, stream, split, i)``: an item
does not depend on the set's size or on any other item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

CLASS_NAMES: tuple[str, ...] = ("circle", "square", "triangle", "plus", "ring")
#: nominal extent of a shape (circle diameter, triangle base and height) as a fraction of the side
SIZE_RANGE = (0.4, 0.75)
#: the shape keeps this fraction of the side free to each border
MARGIN = 0.03
SUPERSAMPLE = 4
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 16, 128


@dataclass(frozen=True)
class Scenes:
    """Parameters of ``N`` scenes (numpy arrays of length N).

    ``cx``, ``cy``: shape centre as a fraction of the side, (0, 0) the top-left corner;
    ``size``: nominal extent as a fraction of the side; ``u_hue``: a uniform [0, 1) draw that each
    data source maps to a hue (see :func:`uniform_hue`).
    """

    cls: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    size: np.ndarray
    u_hue: np.ndarray

    def __len__(self) -> int:
        return len(self.cls)

    def take(self, index: np.ndarray | slice) -> "Scenes":
        return Scenes(self.cls[index], self.cx[index], self.cy[index], self.size[index], self.u_hue[index])


def sample_scenes(seed: int, stream: int, split: int, n: int, num_classes: int,
                  start: int = 0) -> Scenes:
    """Scenes ``start .. start+n-1``, each from its own generator seeded ``(seed, stream, split, i)``."""
    u = np.empty((n, 5), dtype=np.float64)
    for k in range(n):
        u[k] = np.random.default_rng([seed, stream, split, start + k]).random(5)
    cls = np.minimum((u[:, 0] * num_classes).astype(np.int64), num_classes - 1)
    size = SIZE_RANGE[0] + (SIZE_RANGE[1] - SIZE_RANGE[0]) * u[:, 1]
    lo = size / 2 + MARGIN
    cx = lo + (1.0 - 2.0 * lo) * u[:, 2]
    cy = lo + (1.0 - 2.0 * lo) * u[:, 3]
    return Scenes(cls, cx, cy, size, u[:, 4].copy())


def uniform_hue(scenes: Scenes) -> np.ndarray:
    """Hue in degrees, uniform on [0, 360) and independent of the class."""
    return 360.0 * scenes.u_hue


def _draw_shape(draw: ImageDraw.ImageDraw, cls: int, cx: float, cy: float, s: float) -> None:
    """Draw class ``cls`` centred at (cx, cy) with nominal extent ``s`` (canvas pixels)."""
    h = s / 2
    if cls == 0:    # circle, diameter s
        draw.ellipse([cx - h, cy - h, cx + h, cy + h], fill=255)
    elif cls == 1:  # square, side 0.85 s (about the circle's area)
        a = 0.85 * h
        draw.polygon([(cx - a, cy - a), (cx + a, cy - a), (cx + a, cy + a), (cx - a, cy + a)], fill=255)
    elif cls == 2:  # triangle pointing up, base and height s
        draw.polygon([(cx, cy - h), (cx + h, cy + h), (cx - h, cy + h)], fill=255)
    elif cls == 3:  # plus: two bars of length s and width s/3
        t = s / 6
        draw.polygon([(cx - h, cy - t), (cx + h, cy - t), (cx + h, cy + t), (cx - h, cy + t)], fill=255)
        draw.polygon([(cx - t, cy - h), (cx + t, cy - h), (cx + t, cy + h), (cx - t, cy + h)], fill=255)
    elif cls == 4:  # ring: outer diameter s, hole diameter s/2
        draw.ellipse([cx - h, cy - h, cx + h, cy + h], fill=255)
        r = 0.5 * h
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=0)
    else:
        raise ValueError(f"unknown shape class {cls}")


def render_coverage(scenes: Scenes, image_size: int, classes: np.ndarray | None = None) -> np.ndarray:
    """Area coverage of each scene's shape, uint8 ``(N, H, W)`` (0 = background, 255 = inside).

    ``classes`` overrides the scenes' classes (used to draw templates at a known pose).
    """
    big = image_size * SUPERSAMPLE
    out = np.empty((len(scenes), image_size, image_size), dtype=np.uint8)
    cls = scenes.cls if classes is None else classes
    for i in range(len(scenes)):
        canvas = Image.new("L", (big, big), 0)
        _draw_shape(ImageDraw.Draw(canvas), int(cls[i]), float(scenes.cx[i]) * big,
                    float(scenes.cy[i]) * big, float(scenes.size[i]) * big)
        out[i] = np.asarray(canvas.reduce(SUPERSAMPLE))
    return out


def hsv_to_rgb(hue_deg: np.ndarray, saturation: float, value: float) -> np.ndarray:
    """Colours ``(N, 3)`` in [0, 1] for hues in degrees at a fixed saturation and value."""
    h = (np.asarray(hue_deg, dtype=np.float64) % 360.0) / 60.0
    c = value * saturation
    x = c * (1.0 - np.abs(h % 2.0 - 1.0))
    m = value - c
    sector = np.floor(h).astype(np.int64) % 6
    zeros = np.zeros_like(h)
    table = np.stack([
        np.stack([np.full_like(h, c), x, zeros], 1),
        np.stack([x, np.full_like(h, c), zeros], 1),
        np.stack([zeros, np.full_like(h, c), x], 1),
        np.stack([zeros, x, np.full_like(h, c)], 1),
        np.stack([x, zeros, np.full_like(h, c)], 1),
        np.stack([np.full_like(h, c), zeros, x], 1),
    ], 0)
    return table[sector, np.arange(len(h))] + m


def composite(coverage: np.ndarray, foreground: np.ndarray, background: np.ndarray,
              chunk: int = 2048) -> np.ndarray:
    """Blend per-image foreground colours over a plain background by coverage.

    ``coverage`` uint8 ``(N, H, W)``; ``foreground`` ``(N, 3)`` and ``background`` ``(3,)`` in
    0..255. Returns uint8 ``(N, 3, H, W)``.
    """
    n, hgt, wid = coverage.shape
    out = np.empty((n, 3, hgt, wid), dtype=np.uint8)
    bg = np.asarray(background, dtype=np.float32).reshape(1, 3, 1, 1)
    fg = np.asarray(foreground, dtype=np.float32)
    for s in range(0, n, chunk):
        alpha = coverage[s:s + chunk, None].astype(np.float32) / 255.0
        mix = bg + (fg[s:s + chunk, :, None, None] - bg) * alpha
        out[s:s + chunk] = np.clip(np.rint(mix), 0, 255).astype(np.uint8)
    return out


def to_luminance(images: np.ndarray) -> np.ndarray:
    """uint8 ``(N, 3, H, W)`` RGB -> uint8 ``(N, 1, H, W)`` luma (ITU-R 601 weights)."""
    w = np.array([0.299, 0.587, 0.114], dtype=np.float32).reshape(1, 3, 1, 1)
    return np.clip(np.rint((images.astype(np.float32) * w).sum(1, keepdims=True)), 0, 255).astype(np.uint8)
