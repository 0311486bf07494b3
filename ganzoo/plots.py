"""Every chart ganzoo draws, with matplotlib's Agg renderer.

* :func:`line_plot`: metric curves (lines with markers, optional shaded bands such as mean +-
  standard error, a legend under the plot) written to a PNG, e.g. ``ganzoo bench``'s plots;
* :func:`scatter_plot`: 2-D points (generated, real, known mode centres) with axes, as an
  ``(H, W, 3)`` uint8 array, e.g. the training previews of point data.

matplotlib is imported inside the functions, so that importing this module (and ``ganzoo --help``)
stays fast. Figures are built with ``matplotlib.figure.Figure`` and an Agg canvas, not pyplot: no
global state, no GUI backend, safe from any thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Colour-blind-friendly palette (Okabe-Ito, then a few extras), cycled for many series.
PALETTE = ((0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167), (230, 159, 0),
           (86, 180, 233), (120, 120, 120), (0, 0, 0), (170, 68, 153), (68, 119, 170))
_DPI = 100
#: Points drawn in a scatter plot: generated (blue), real (grey), mode centres (red crosses).
_GENERATED, _REAL, _CENTRE = (30, 80, 200), (170, 170, 170), (220, 30, 30)
#: The smallest scatter plot (pixels) drawn with axes and a legend.
_MIN_DECORATED = 200


@dataclass
class Series:
    """One line: points (x, y); ``lo``/``hi`` give an optional band around it; NaN breaks the line."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    lo: Sequence[float] | None = None
    hi: Sequence[float] | None = None
    color: tuple[int, int, int] | None = None
    extra: dict = field(default_factory=dict)


def _rgb(color: tuple[int, int, int]) -> tuple[float, float, float]:
    """matplotlib wants colours in [0, 1]."""
    return tuple(c / 255 for c in color)  # type: ignore[return-value]


def _figure(width: int, height: int, **kwargs) -> "Figure":
    """A ``width`` x ``height`` pixel figure on an Agg canvas (matplotlib's config and font cache
    in ganzoo's cache folder, not the home folder)."""
    from .download import point_library_cache

    point_library_cache("MPLCONFIGDIR", "matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI, **kwargs)
    FigureCanvasAgg(fig)
    return fig


def _legend_columns(labels: Sequence[str], width: int) -> int:
    """As many legend entries per row as fit in ``width`` pixels (about 7 px a character)."""
    entry = max((len(label) for label in labels), default=0) * 7 + 50
    return max(1, min(len(labels), (width - 40) // entry))


def _draw_series(ax, series: Sequence[Series]) -> None:
    """Bands first (translucent), then lines with markers; non-finite values break a line."""
    for i, se in enumerate(series):
        color = _rgb(se.color or PALETTE[i % len(PALETTE)])
        x = np.asarray(se.x, dtype=float)
        if se.lo is not None and se.hi is not None:
            lo, hi = np.asarray(se.lo, dtype=float), np.asarray(se.hi, dtype=float)
            ok = np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
            if ok.sum() >= 2:
                ax.fill_between(x[ok], lo[ok], hi[ok], color=color, alpha=0.19, linewidth=0)
        y = np.asarray(se.y, dtype=float)
        y = np.where(np.isfinite(x) & np.isfinite(y), y, np.nan)
        ax.plot(x, y, color=color, linewidth=2, marker="o", markersize=5, markeredgecolor="white",
                label=se.label)


def line_plot(series: Sequence[Series], path: str | Path, *, title: str = "", xlabel: str = "",
              ylabel: str = "", width: int = 820, height: int = 480, xmin: float | None = None) -> Path:
    """Draw ``series`` into a PNG at ``path`` (folders created, written atomically); returns the path.

    The image is ``width`` pixels wide and ``height`` tall plus a row of legend for every few
    series. ``xmin`` extends the x axis down to that value (e.g. 0 for training steps)."""
    from .fileio import atomic_write

    labels = [se.label for se in series]
    ncols = _legend_columns(labels, width)
    rows = math.ceil(len(labels) / ncols) if labels else 0
    fig = _figure(width, height + 22 * rows, layout="constrained")
    ax = fig.add_subplot()
    _draw_series(ax, series)
    if xmin is not None:
        left, right = ax.get_xlim()
        ax.set_xlim(min(left, xmin), max(right, xmin))
    ax.grid(True, color="0.88")
    ax.set_axisbelow(True)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if labels:
        fig.legend(loc="outside lower center", ncols=ncols, frameon=False)
    return atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=_DPI))


def _finite(points: np.ndarray | None) -> np.ndarray:
    """The rows of an (N, 2) array whose both coordinates are finite, as float64."""
    if points is None or len(points) == 0:
        return np.zeros((0, 2))
    arr = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return arr[np.isfinite(arr).all(axis=1)]


def _square_limits(*layers: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """Equal x and y spans (10 % margin) centred on everything drawn, so the picture is not skewed."""
    both = np.concatenate(layers)
    if not len(both):
        return (-1.0, 1.0), (-1.0, 1.0)
    lo, hi = both.min(axis=0), both.max(axis=0)
    span = float(max(hi - lo)) * 1.1
    half = span / 2 if math.isfinite(span) and span > 0 else 1.0
    mid = (lo + hi) / 2
    return (mid[0] - half, mid[0] + half), (mid[1] - half, mid[1] + half)


def scatter_plot(points: np.ndarray, real: np.ndarray | None = None, centers: np.ndarray | None = None,
                 size: int = 512) -> np.ndarray:
    """A ``size`` x ``size`` picture, as an (H, W, 3) uint8 array, of 2-D ``points`` (blue) over
    ``real`` points (grey) and the true mode ``centers`` (red crosses), with axes and a legend
    (from 200 pixels up; smaller ones show the points alone)."""
    gen, ref, cen = _finite(points), _finite(real), _finite(centers)
    decorated = size >= _MIN_DECORATED  # axes and legend need room; a thumbnail shows points only
    fig = _figure(size, size, layout="constrained" if decorated else None)
    ax = fig.add_subplot() if decorated else fig.add_axes((0, 0, 1, 1))
    if real is not None:
        ax.scatter(ref[:, 0], ref[:, 1], s=4, color=_rgb(_REAL), linewidths=0, label="real")
    ax.scatter(gen[:, 0], gen[:, 1], s=4, color=_rgb(_GENERATED), linewidths=0, label="generated")
    if centers is not None and len(cen):
        ax.scatter(cen[:, 0], cen[:, 1], s=60, marker="+", color=_rgb(_CENTRE), linewidths=1.5,
                   label="mode centres")
    xlim, ylim = _square_limits(gen, ref, cen)
    ax.set(xlim=xlim, ylim=ylim, aspect="equal")
    if decorated:
        ax.grid(True, color="0.92")
        ax.set_axisbelow(True)
        ax.tick_params(labelsize=8)
        ax.legend(loc="upper right", fontsize=8, markerscale=2, framealpha=0.8)
    else:
        ax.set_axis_off()
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
