"""The pictures ganzoo draws: metric curves (PNG files) and 2-D scatter previews (arrays)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.errors import GanzooError
from ganzoo.images import render, save_png, scatter
from ganzoo.plots import Series, line_plot, scatter_plot


def red_mask(img: np.ndarray) -> np.ndarray:
    """Pixels of the mode-centre crosses' red."""
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return (r > 170) & (g < 90) & (b < 90)


def blue_mask(img: np.ndarray) -> np.ndarray:
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return (b > 150) & (r < 90)


def test_scatter_shows_generated_points_axes_and_centres_where_they_are():
    rng = np.random.default_rng(0)
    points = rng.normal(0, 0.05, (300, 2)) + [1.0, 1.0]  # all generated points near (1, 1)
    img = scatter_plot(points, centers=np.array([[-1.0, -1.0], [1.0, 1.0]]), size=400)
    assert img.shape == (400, 400, 3) and img.dtype == np.uint8
    ys, xs = np.nonzero(red_mask(img))
    # one cross lower left (-1, -1), one upper right (1, 1): y grows upwards, as on an axis
    assert ((xs < 200) & (ys > 200)).any() and ((xs > 200) & (ys < 200)).any()
    ys, xs = np.nonzero(blue_mask(img))
    assert len(xs) > 50 and xs.mean() > 200 and ys.mean() < 200
    # tick labels: dark text in the left margin, which a bare dot picture does not have
    assert (img[:, :30].max(axis=-1) < 80).sum() > 20
    assert not red_mask(scatter_plot(points, size=400)).any()  # no centres given, none drawn


def test_scatter_of_tensors_tolerates_non_finite_points_and_empty_centres():
    points = torch.randn(200, 2)
    points[0] = float("nan")
    points[1] = float("inf")
    img = scatter(points, real=torch.randn(500, 2), centers=[])
    assert img.shape == (512, 512, 3) and img.dtype == np.uint8 and blue_mask(img).any()
    assert scatter(torch.full((5, 2), float("nan")), size=128).shape == (128, 128, 3)
    assert render(points, "points", centers=[[0.0, 0.0]]).shape == (512, 512, 3)
    assert render(torch.zeros(4, 3, 8, 8), "images").shape == (2 * 10 + 2, 2 * 10 + 2, 3)


def test_save_png_is_atomic_and_refuses_a_path_under_a_file(tmp_path):
    img = scatter_plot(np.zeros((3, 2)), size=64)
    out = save_png(img, tmp_path / "a" / "p.png")
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), img)
    assert [p.name for p in out.parent.iterdir()] == ["p.png"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(GanzooError, match="file is a file, not a folder"):
        save_png(img, tmp_path / "file" / "p.png")


def series(n: int, label: str = "config") -> list[Series]:
    x = [0, 10, 20, 30]
    return [Series(f"{label}{i} (3 seeds)", x, [i, math.nan, i + 1, i + 2], [i - 0.5] * 4, [i + 0.5] * 4)
            for i in range(n)]


def test_line_plot_writes_a_png_whose_legend_grows_with_the_series(tmp_path):
    one = line_plot(series(1), tmp_path / "plots" / "one.png", title="t", xlabel="step", ylabel="fid", xmin=0)
    many = line_plot(series(12, "a-rather-long-config-name-"), tmp_path / "plots" / "many.png")
    with Image.open(one) as a, Image.open(many) as b:
        a.verify()
        assert a.size == (820, 480 + 22) and b.size[0] == 820 and b.size[1] > a.size[1]
    with Image.open(one) as a:
        assert len(a.convert("RGB").getcolors(1 << 20)) > 10  # lines, bands, text: not a blank page
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["many.png", "one.png"]
    assert Image.open(line_plot([], tmp_path / "empty.png", width=300, height=200)).size == (300, 200)
