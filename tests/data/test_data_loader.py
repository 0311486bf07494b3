"""The training loader: determinism across workers, exact resume, distributed sharding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from ganzoo.data.datasets import ArrayImages
from ganzoo.data.loader import make_loader, rank_indices
from ganzoo.data.transforms import build_transforms
from ganzoo.errors import DataError


def _arrays(n: int = 50) -> ArrayImages:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 12, 12), dtype=torch.uint8, generator=g)
    return ArrayImages(images, torch.arange(n), build_transforms([{"random_crop": 8}, {"hflip": 0.5}]))


def _take(ds, k: int, **kw) -> list[dict]:
    it = make_loader(ds, **kw)
    try:
        return [next(it) for _ in range(k)]
    finally:
        it.close()


def _same(a: list[dict], b: list[dict]) -> bool:
    return len(a) == len(b) and all(x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
                                    for x, y in zip(a, b))


def test_epochs_are_permutations_and_batches_have_the_right_shape():
    ds = _arrays(50)
    batches = _take(ds, 12, batch_size=8, seed=1)  # 6 batches per epoch (drop_last), 2 epochs
    assert all(b["x"].shape == (8, 3, 8, 8) and b["x"].dtype == torch.float32 for b in batches)
    assert all(b["x"].min() >= -1 and b["x"].max() <= 1 for b in batches)
    first = torch.cat([b["y"] for b in batches[:6]])
    assert len(set(first.tolist())) == 48  # no repeats inside an epoch
    second = torch.cat([b["y"] for b in batches[6:]])
    assert not torch.equal(first, second)  # a new order each epoch
    assert not _same(batches[:1], _take(ds, 1, batch_size=8, seed=2))  # the seed matters


def test_same_batches_for_any_number_of_workers(tmp_path, make):
    ds = _arrays(40)
    a = _take(ds, 7, batch_size=8, seed=3, num_workers=0)
    b = _take(ds, 7, batch_size=8, seed=3, num_workers=2)
    assert _same(a, b)
    # files decoded in worker processes, with random crops and flips
    make.write_images(tmp_path / "f", [f"{i:02d}.png" for i in range(12)], size=(14, 10))
    from ganzoo.plugins import get_dataset

    cls = get_dataset("image_folder")
    files = cls(cls.Options(name="image_folder", root=str(tmp_path / "f"),
                            transforms=[{"random_crop": 8}, {"hflip": 0.5}])).dataset()
    c = _take(files, 5, batch_size=4, seed=9, num_workers=0)
    d = _take(files, 5, batch_size=4, seed=9, num_workers=2)
    assert _same(c, d)


def test_resume_at_start_batch_gives_the_same_batches_without_loading_the_skipped():
    class Counting(Dataset):
        def __init__(self, inner):
            self.inner, self.loaded = inner, 0

        def __len__(self):
            return len(self.inner)

        def get_seeded(self, indices, seeds):
            self.loaded += len(indices)
            return self.inner.get_seeded(indices, seeds)

    ds = _arrays(30)
    full = _take(ds, 10, batch_size=7, seed=5)  # 4 batches per epoch: crosses two epochs
    counting = Counting(ds)
    it = make_loader(counting, batch_size=7, seed=5, start_batch=6)
    assert it.batches == 6 and it.epoch == 1
    resumed = [next(it) for _ in range(4)]
    assert _same(full[6:], resumed)
    assert counting.loaded == 4 * 7 and it.batches == 10 and it.state_dict()["batches"] == 10


def test_distributed_shards_are_disjoint_and_cover_the_epoch():
    n, world = 23, 2
    for epoch in range(3):
        r0, r1 = (rank_indices(n, 11, epoch, r, world) for r in range(world))
        assert len(r0) == len(r1) == 12
        assert set(r0) | set(r1) == set(range(n))
        assert len(set(r0) & set(r1)) <= 1  # only the padding item (23 -> 24) repeats
    even0, even1 = (rank_indices(20, 11, 0, r, 2) for r in range(2))
    assert not set(even0) & set(even1) and sorted(even0 + even1) == list(range(20))
    ds = _arrays(20)
    ranks = [_take(ds, 2, batch_size=5, seed=11, rank=r, world_size=2) for r in range(2)]
    labels = [torch.cat([b["y"] for b in r]).tolist() for r in ranks]
    assert not set(labels[0]) & set(labels[1]) and sorted(labels[0] + labels[1]) == list(range(20))


def test_plain_datasets_and_drop_last():
    class Plain(Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return {"x": torch.full((2,), float(i)), "y": i}

    batches = _take(Plain(), 6, batch_size=4, seed=0, drop_last=False)
    assert [len(b["y"]) for b in batches] == [4, 4, 2, 4, 4, 2]
    assert sorted(torch.cat([b["y"] for b in batches[:3]]).tolist()) == list(range(10))
    with pytest.raises(DataError, match="fewer than batch_size"):
        make_loader(Plain(), batch_size=16, seed=0)


def test_seeded_getitems_of_the_dataset_matches_the_loader():
    ds = _arrays(16)
    batch = _take(ds, 1, batch_size=16, seed=0)[0]
    from ganzoo.data.transforms import item_seed

    idx = batch["y"].tolist()
    direct = ds.get_seeded(idx, [item_seed(0, 0, i) for i in idx]).collated
    assert torch.equal(direct["x"], batch["x"])
    assert np.array_equal(direct["y"].numpy(), batch["y"].numpy())
