"""A small line-plot helper drawn with Pillow (matplotlib is not a dependency).

One chart: lines with markers, optional shaded bands (e.g. mean +- standard error), "nice" axis
ticks, grid lines, axis labels, a title and a legend under the plot. It is drawn at twice the
size and scaled down, which smooths the lines without an anti-aliasing renderer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

#: Colour-blind-friendly palette (Okabe-Ito, then a few extras), cycled for many series.
PALETTE = ((0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167), (230, 159, 0),
           (86, 180, 233), (120, 120, 120), (0, 0, 0), (170, 68, 153), (68, 119, 170))
_SCALE = 2


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


def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(target - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw - 1e-12 * power)
    start = math.floor(lo / step + 1e-9) * step
    ticks, v = [], start
    while v < hi + step * (1 - 1e-9):
        ticks.append(round(v, 12))
        v += step
    if len(ticks) < 2:
        ticks.append(ticks[-1] + step)
    return ticks


def format_tick(v: float, step: float) -> str:
    """Just enough decimals to tell neighbouring ticks apart."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    if not math.isclose(step * 10 ** decimals, round(step * 10 ** decimals), abs_tol=1e-9):
        decimals += 1  # steps like 2.5 x 10^k
    text = f"{v:.{decimals}f}"
    return "0" if float(text) == 0 else text


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed bitmap font
        return ImageFont.load_default()


def _text_size(draw, text: str, font) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return right - left, bottom - top


def _segments(xs: list[float], ys: list[float]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive finite points (NaN/inf break the line)."""
    out: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(xs, ys):
        if math.isfinite(x) and math.isfinite(y):
            out[-1].append((x, y))
        elif out[-1]:
            out.append([])
    return [s for s in out if s]


def line_plot(series: Sequence[Series], path: str | Path, *, title: str = "", xlabel: str = "",
              ylabel: str = "", width: int = 820, height: int = 480, xmin: float | None = None) -> Path:
    """Draw ``series`` into a PNG at ``path`` (folders created); returns the path.

    ``xmin`` extends the x axis down to that value (e.g. 0 for training steps)."""
    from PIL import Image, ImageDraw

    s = _SCALE
    W, H = width * s, height * s
    font, small, big = _font(13 * s), _font(11 * s), _font(15 * s)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    # legend layout: entries in rows under the plot
    entry_w = [_text_size(probe, se.label, small)[0] + 34 * s for se in series]
    rows: list[list[int]] = [[]]
    row_w = 0
    for i, w in enumerate(entry_w):
        if rows[-1] and row_w + w > W - 100 * s:
            rows.append([])
            row_w = 0
        rows[-1].append(i)
        row_w += w + 14 * s
    legend_h = (len(rows) * 20 + 10) * s if series else 0

    img = Image.new("RGB", (W, H + legend_h), "white")
    draw = ImageDraw.Draw(img)

    xs_all = [float(v) for se in series for v in se.x if math.isfinite(float(v))]
    ys_all = [float(v) for se in series for arr in (se.y, se.lo or [], se.hi or [])
              for v in arr if math.isfinite(float(v))]
    if xmin is not None:
        xs_all.append(float(xmin))
    xt = nice_ticks(min(xs_all, default=0.0), max(xs_all, default=1.0), 7)
    yt = nice_ticks(min(ys_all, default=0.0), max(ys_all, default=1.0), 6)
    x0, x1, y0, y1 = xt[0], xt[-1], yt[0], yt[-1]
    xstep = xt[1] - xt[0]
    ystep = yt[1] - yt[0]
    ylabels = [format_tick(v, ystep) for v in yt]
    left = max(_text_size(probe, t, small)[0] for t in ylabels) + 44 * s
    top, right, bottom = (40 if title else 16) * s, 24 * s, 56 * s
    pw, ph = W - left - right, H - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * ph

    grey, dark = (225, 225, 225), (60, 60, 60)
    for v, lab in zip(yt, ylabels):
        yy = py(v)
        draw.line([(left, yy), (left + pw, yy)], fill=grey, width=s)
        tw, th = _text_size(draw, lab, small)
        draw.text((left - 8 * s - tw, yy - th / 2 - 2 * s), lab, fill=dark, font=small)
    for v in xt:
        xx = px(v)
        draw.line([(xx, top), (xx, top + ph)], fill=grey, width=s)
        lab = format_tick(v, xstep)
        tw, _ = _text_size(draw, lab, small)
        draw.line([(xx, top + ph), (xx, top + ph + 5 * s)], fill=dark, width=s)
        draw.text((xx - tw / 2, top + ph + 8 * s), lab, fill=dark, font=small)
    draw.rectangle([left, top, left + pw, top + ph], outline=dark, width=s)

    # bands first (translucent), then lines and markers on top
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    odraw = ImageDraw.Draw(overlay)
    colors = [se.color or PALETTE[i % len(PALETTE)] for i, se in enumerate(series)]
    for se, color in zip(series, colors):
        if se.lo is None or se.hi is None:
            continue
        pts = [(float(x), float(lo), float(hi)) for x, lo, hi in zip(se.x, se.lo, se.hi)
               if all(math.isfinite(float(v)) for v in (x, lo, hi))]
        if len(pts) >= 2:
            poly = [(px(x), py(hi)) for x, _, hi in pts] + [(px(x), py(lo)) for x, lo, _ in reversed(pts)]
            odraw.polygon(poly, fill=color + (48,))
    img = Image.alpha_composite(img.convert("RGBA"), overlay).convert("RGB")
    draw = ImageDraw.Draw(img)
    for se, color in zip(series, colors):
        for seg in _segments([float(v) for v in se.x], [float(v) for v in se.y]):
            pts = [(px(x), py(y)) for x, y in seg]
            if len(pts) > 1:
                draw.line(pts, fill=color, width=3 * s, joint="curve")
            for x, y in pts:
                r = 4 * s
                draw.ellipse([x - r, y - r, x + r, y + r], fill=color, outline="white", width=s)

    if title:
        tw, _ = _text_size(draw, title, big)
        draw.text((left + pw / 2 - tw / 2, 12 * s), title, fill=(0, 0, 0), font=big)
    if xlabel:
        tw, _ = _text_size(draw, xlabel, font)
        draw.text((left + pw / 2 - tw / 2, top + ph + 30 * s), xlabel, fill=(0, 0, 0), font=font)
    if ylabel:
        tw, th = _text_size(draw, ylabel, font)
        label = Image.new("RGBA", (tw + 4 * s, th + 8 * s), (255, 255, 255, 0))
        ImageDraw.Draw(label).text((2 * s, 0), ylabel, fill=(0, 0, 0), font=font)
        label = label.rotate(90, expand=True)
        img.paste(label, (8 * s, int(top + ph / 2 - label.size[1] / 2)), label)
        draw = ImageDraw.Draw(img)

    y = H + 2 * s
    for row in rows:
        x = left
        for i in row:
            color = colors[i]
            draw.line([(x, y + 8 * s), (x + 24 * s, y + 8 * s)], fill=color, width=3 * s)
            draw.ellipse([x + 8 * s, y + 4 * s, x + 16 * s, y + 12 * s], fill=color)
            draw.text((x + 30 * s, y), series[i].label, fill=(0, 0, 0), font=small)
            x += entry_w[i] + 14 * s
        y += 20 * s

    out = img.resize((width, (H + legend_h) // s), resample=3)  # 3 = LANCZOS
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path, format="PNG")
    return path
