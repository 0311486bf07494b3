"""The procedural ``shapes`` set: layout, labels, parameters that match the pixels, seeding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import ValidationError
from torch.utils.data import DataLoader

from ganzoo.data.builtin import Shapes, ShapesOptions
from ganzoo.data.two_domain_eval import dominant_hue, hue_distance


pytestmark = pytest.mark.usefixtures("one_thread")


def shapes(**kw):
    return Shapes(ShapesOptions(name="shapes", **kw))


@pytest.fixture(scope="module")
def ds32():
    return shapes(size=600, seed=1).dataset()


def test_info():
    info = shapes(image_size=48, num_classes=4).info()
    assert info.kind == "images" and info.shape == (3, 48, 48)
    assert info.num_classes == 4 and info.class_names == ("circle", "square", "triangle", "plus")
    assert shapes(channels=1).info().shape == (1, 32, 32)


def test_items_range_labels_and_balance(ds32):
    assert len(ds32) == 600
    item = ds32[5]
    assert set(item) == {"x", "y"}
    assert item["x"].shape == (3, 32, 32) and item["x"].dtype == torch.float32
    assert item["y"].dtype == torch.int64 and item["y"].ndim == 0
    x = ds32.__getitems__(range(600)).collated["x"]
    assert x.min() == -1.0 and x.max() <= 1.0
    assert torch.all(x[:, :, 0, 0] == -1.0)               # plain black background
    counts = torch.bincount(ds32.labels, minlength=5)
    assert counts.sum() == 600 and counts.min() > 80       # ~120 each
    assert torch.all(shapes(size=200, num_classes=3).dataset().labels < 3)


def test_parameters_match_pixels(ds32):
    p = ds32.param_arrays()
    x = ds32.__getitems__(range(len(ds32))).collated["x"]
    mask = (x + 1).amax(1) > 1.0                           # lit pixels, coverage >~ 1/2
    ys, xs = torch.meshgrid(torch.arange(32) + 0.5, torch.arange(32) + 0.5, indexing="ij")
    area = mask.flatten(1).sum(1).double()
    cx = (mask * xs).flatten(1).sum(1) / area / 32
    cy = (mask * ys).flatten(1).sum(1) / area / 32
    sym = torch.from_numpy(p["class"] != 2)                # the triangle's centroid is lower
    assert torch.all((cx - torch.from_numpy(p["center_x"]))[sym].abs() < 0.6 / 32)
    assert torch.all((cy - torch.from_numpy(p["center_y"]))[sym].abs() < 0.6 / 32)
    circles = torch.from_numpy(p["class"] == 0)
    expected = torch.from_numpy(np.pi * (p["size"] * 32 / 2) ** 2)
    assert torch.all(((area - expected) / expected)[circles].abs() < 0.1)
    hue, valid = dominant_hue(x, mask)
    assert valid.all()
    assert hue_distance(hue, torch.from_numpy(p["hue"])).max() < 2.0
    one = ds32.params(3)
    assert one["class"] == int(p["class"][3]) and one["class_name"] == ds32.class_names[one["class"]]
    assert one["center"] == (p["center_x"][3], p["center_y"][3]) and one["hue"] == pytest.approx(p["hue"][3])


def test_classes_look_different(ds32):
    """The centre pixel is lit for a circle/square/plus and dark for a ring (its hole)."""
    p = ds32.param_arrays()
    x = ds32.__getitems__(range(len(ds32))).collated["x"]
    i = np.arange(len(ds32))
    cx = np.clip((p["center_x"] * 32).astype(int), 0, 31)
    cy = np.clip((p["center_y"] * 32).astype(int), 0, 31)
    lit = (x[i, :, cy, cx].amax(1) > 0).numpy()
    assert lit[p["class"] == 0].all() and lit[p["class"] == 1].all() and lit[p["class"] == 3].all()
    assert not lit[p["class"] == 4].any()


def test_determinism_by_seed_and_index():
    a = shapes(size=40, seed=2).dataset()
    b = shapes(size=40, seed=2).dataset()
    c = shapes(size=40, seed=3).dataset()
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)
    # item i depends only on (seed, i): a smaller set is a prefix
    assert torch.equal(shapes(size=15, seed=2).dataset().images, a.images[:15])
    test = shapes(size=40, seed=2).dataset("test")
    assert not torch.equal(test.images, a.images)
    assert len(shapes(size=40, test_size=7).dataset("test")) == 7


@pytest.mark.parametrize("size", [16, 128])
def test_sizes_and_grey(size):
    ds = shapes(size=4, image_size=size).dataset()
    assert ds[0]["x"].shape == (3, size, size)
    grey = shapes(size=4, image_size=size, channels=1).dataset()
    assert grey[0]["x"].shape == (1, size, size)
    # luma of the same scenes
    w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    luma = (ds.images.float() * w).sum(1, keepdim=True).round()
    assert (luma - grey.images.float()).abs().max() <= 1


def test_dataloader_batch_of_64(ds32):
    loader = DataLoader(ds32, batch_size=64, shuffle=True)
    batch = next(iter(loader))
    assert set(batch) == {"x", "y"}
    assert batch["x"].shape == (64, 3, 32, 32) and batch["y"].shape == (64,)
    assert batch["y"].dtype == torch.int64


def test_options_validation():
    for bad in ({"image_size": 8}, {"image_size": 256}, {"channels": 2}, {"num_classes": 9}):
        with pytest.raises(ValidationError):
            ShapesOptions(name="shapes", **bad)
