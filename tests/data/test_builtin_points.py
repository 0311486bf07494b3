"""The 2-D mode-collapse sets: exact centres and std, seeding, batching."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from pydantic import ValidationError
from torch.utils.data import DataLoader

from ganzoo.data.batched import CollatedBatch, collate
from ganzoo.data.builtin import (Grid, Grid25WGANGP, MixtureOptions, PointsOptions, Ring,
                                 Ring8WGANGP, SwissRoll)
from ganzoo.errors import DataError


pytestmark = pytest.mark.usefixtures("one_thread")


def make(cls, **kw):
    name = kw.pop("name", "x")
    return cls(cls.Options(name=name, **kw))


def per_mode_stats(points: torch.Tensor, centres: np.ndarray):
    p = points.numpy().astype(np.float64)
    nearest = ((p[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
    counts = np.bincount(nearest, minlength=len(centres))
    stds = np.array([(p[nearest == k] - centres[k]).std(0) for k in range(len(centres))])
    means = np.array([p[nearest == k].mean(0) for k in range(len(centres))])
    return counts, stds, means


def test_ring_pacgan_centres_and_std_exact():
    info = make(Ring, name="ring").info()
    assert info.kind == "points" and info.shape == (2,)
    centres = np.array(info.extras["centers"])
    assert centres.shape == (8, 2)
    angles = np.sort(np.mod(np.arctan2(centres[:, 1], centres[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-9)
    np.testing.assert_allclose(np.hypot(*centres.T), 1.0, atol=1e-12)
    assert len({tuple(np.round(c, 6)) for c in centres}) == 8      # no repeated centre
    assert info.extras["std"] == 0.01


def test_ring_points_have_spec_std_and_equal_weights():
    src = make(Ring, size=40_000)
    pts = src.dataset().points
    assert pts.dtype == torch.float32 and pts.shape == (40_000, 2)
    centres = np.array(src.info().extras["centers"])
    counts, stds, means = per_mode_stats(pts, centres)
    assert np.all(np.abs(counts - 5000) < 5 * math.sqrt(5000))
    np.testing.assert_allclose(stds, 0.01, rtol=0.05)
    np.testing.assert_allclose(means, centres, atol=0.001)


def test_grid_centres_and_std():
    src = make(Grid, size=50_000)
    info = src.info()
    centres = np.array(info.extras["centers"])
    assert {tuple(c) for c in centres.tolist()} == {(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}
    assert info.extras["std"] == 0.05
    counts, stds, means = per_mode_stats(src.dataset().points, centres)
    assert np.all(np.abs(counts - 2000) < 5 * math.sqrt(2000))
    np.testing.assert_allclose(stds, 0.05, rtol=0.06)
    np.testing.assert_allclose(means, centres, atol=0.005)


@pytest.mark.parametrize("cls,preset_cls,div,std", [
    (Ring8WGANGP, Ring, 1.414, 0.02 / 1.414), (Grid25WGANGP, Grid, 2.828, 0.05 / 2.828)])
def test_wgangp_presets_and_aliases(cls, preset_cls, div, std):
    alias = make(cls, size=20_000)
    preset = make(preset_cls, size=20_000, preset="wgangp")
    base = np.array(make(preset_cls).info().extras["centers"])
    for src in (alias, preset):
        info = src.info()
        assert info.extras["preset"] == "wgangp"
        assert info.extras["std"] == pytest.approx(std)
        scale = 2.0 if preset_cls is Ring else 1.0
        np.testing.assert_allclose(np.array(info.extras["centers"]), base * scale / div, atol=1e-12)
    assert torch.equal(alias.dataset().points, preset.dataset().points)
    centres = np.array(alias.info().extras["centers"])
    _, stds, _ = per_mode_stats(alias.dataset().points, centres)
    np.testing.assert_allclose(stds, std, rtol=0.1)
    with pytest.raises(ValidationError):
        cls.Options(name="x", preset="pacgan")   # the alias fixes the preset


def test_swiss_roll_follows_the_formula():
    src = make(SwissRoll, size=20_000)
    assert src.info().extras == {}
    p = src.dataset().points.numpy().astype(np.float64) * 7.5   # back to sklearn units (x, z)
    r = np.hypot(p[:, 0], p[:, 1])
    angle = np.mod(np.arctan2(p[:, 1], p[:, 0]), 2 * np.pi)
    # t with angle t = angle (mod 2 pi) closest to the radius: x = t cos t, z = t sin t
    cands = angle[:, None] + 2 * np.pi * np.arange(0, 3)[None]
    t = cands[np.arange(len(r)), np.abs(cands - r[:, None]).argmin(1)]
    resid = r - t
    assert 0.23 < resid.std() < 0.28                 # noise 0.25 per coordinate
    assert abs(resid.mean()) < 0.02
    assert t.min() > 1.5 * np.pi - 0.5 and t.max() < 4.5 * np.pi + 0.5
    assert abs(np.mean(t) - 3 * np.pi) < 0.1         # t uniform on [1.5 pi, 4.5 pi]


def test_seed_and_split_determinism():
    a = make(Ring, size=1000, seed=3).dataset().points
    b = make(Ring, size=1000, seed=3).dataset().points
    c = make(Ring, size=1000, seed=4).dataset().points
    test = make(Ring, size=1000, seed=3).dataset("test").points
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    assert not torch.allclose(a, test)
    assert make(Ring, size=1000, test_size=300).dataset("test").points.shape == (300, 2)
    # different sets with the same seed are independent draws
    assert not torch.allclose(make(Grid, size=1000).dataset().points, make(Grid, size=1000, seed=1).dataset().points)
    with pytest.raises(DataError, match="split 'val'"):
        make(Ring, size=10).dataset("val")


def test_items_and_batched_fetch():
    ds = make(Grid, size=500).dataset()
    assert len(ds) == 500
    item = ds[7]
    assert set(item) == {"x"} and item["x"].shape == (2,) and item["x"].dtype == torch.float32
    batch = ds.__getitems__([3, 7, 9])
    assert isinstance(batch, CollatedBatch) and len(batch) == 3
    assert torch.equal(batch.collated["x"], ds.points[[3, 7, 9]])
    assert torch.equal(batch[1]["x"], item["x"])


@pytest.mark.parametrize("collate_fn", [None, collate])
def test_dataloader_batches(collate_fn):
    ds = make(Ring, size=1000).dataset()
    kw = {} if collate_fn is None else {"collate_fn": collate_fn}
    loader = DataLoader(ds, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0), **kw)
    batches = list(loader)
    assert len(batches) == 16
    assert all(isinstance(b, dict) and set(b) == {"x"} for b in batches)
    assert batches[0]["x"].shape == (64, 2) and batches[-1]["x"].shape == (1000 - 15 * 64, 2)
    # every point exactly once
    seen = torch.cat([b["x"] for b in batches])
    assert torch.equal(seen[seen[:, 0].argsort()], ds.points[ds.points[:, 0].argsort()])


def test_options_validation():
    with pytest.raises(ValidationError):
        MixtureOptions(name="ring", preset="veegan")
    with pytest.raises(ValidationError):
        PointsOptions(name="ring", size=0)
    with pytest.raises(ValidationError):
        PointsOptions(name="ring", colour="red")
