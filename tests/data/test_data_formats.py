"""Every registered format loads real files with the right shapes, ranges and labels."""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.data.base import DataInfo
from ganzoo.errors import DataError
from ganzoo.plugins import get_dataset


def _source(name: str, **options):
    cls = get_dataset(name)
    return cls(cls.Options(name=name, **options))


def _u8(x: torch.Tensor) -> np.ndarray:
    """[-1, 1] floats back to the uint8 values they came from."""
    return np.round((x.numpy() + 1) * 127.5).astype(np.int64)


def test_all_formats_are_registered():
    from ganzoo.plugins import list_datasets

    assert {"image_folder", "class_folder", "unpaired_folders", "mnist", "fashion_mnist", "cifar10",
            "cifar100", "npz"} <= set(list_datasets())


def test_image_folder_any_extension_case(tmp_path, make):
    paths = make.write_images(tmp_path / "imgs", ["b.PNG", "a.png", "c.Bmp", "d.JPG"], size=(20, 16))
    (tmp_path / "imgs" / "notes.txt").write_text("not an image")
    src = _source("image_folder", root=str(tmp_path / "imgs"))
    info = src.info()
    assert isinstance(info, DataInfo) and info.kind == "images" and info.shape == (3, 16, 20)
    ds = src.dataset()
    assert len(ds) == 4
    item = ds[0]  # sorted: a.png first
    assert set(item) == {"x"} and item["x"].dtype == torch.float32 and item["x"].shape == (3, 16, 20)
    expected = np.asarray(Image.open(paths[1]).convert("RGB")).transpose(2, 0, 1)
    assert np.array_equal(_u8(item["x"]), expected)  # lossless PNG: exact pixels
    assert item["x"].min() >= -1 and item["x"].max() <= 1


def test_image_folder_info_reflects_transforms_and_channels(tmp_path, make):
    make.write_images(tmp_path / "imgs", [f"{i}.png" for i in range(3)], size=(40, 30))
    src = _source("image_folder", root=str(tmp_path / "imgs"), image_size=16, channels=1)
    assert src.info().shape == (1, 16, 16)
    batch = src.dataset().__getitems__([0, 1, 2])
    assert [tuple(it["x"].shape) for it in batch] == [(1, 16, 16)] * 3
    src2 = _source("image_folder", root=str(tmp_path / "imgs"),
                   transforms=[{"resize": [24, 36]}, {"random_crop": 20}, "hflip"])
    assert src2.info().shape == (3, 20, 20) and src2.dataset()[1]["x"].shape == (3, 20, 20)


def test_grayscale_folder_and_rgb_conversion(tmp_path, make):
    make.write_images(tmp_path / "g", ["a.png", "b.png"], mode="L")
    assert _source("image_folder", root=str(tmp_path / "g")).info().channels == 1
    src = _source("image_folder", root=str(tmp_path / "g"), channels=3)
    x = src.dataset()[0]["x"]
    assert x.shape[0] == 3 and torch.equal(x[0], x[1]) and torch.equal(x[1], x[2])


def test_mixed_sizes_need_image_size(tmp_path, make):
    make.write_images(tmp_path / "m", ["a.png"], size=(20, 16))
    make.write_images(tmp_path / "m", ["b.png"], size=(30, 16))
    ds = _source("image_folder", root=str(tmp_path / "m")).dataset()
    with pytest.raises(DataError, match=r"b\.png.*image_size"):
        ds[1]
    ds = _source("image_folder", root=str(tmp_path / "m"), image_size=8).dataset()
    assert ds.__getitems__([0, 1]).collated["x"].shape == (2, 3, 8, 8)


def test_missing_and_empty_folders_say_what_to_do(tmp_path):
    with pytest.raises(DataError, match=f"{tmp_path / 'nope'}.*does not exist"):
        _source("image_folder", root=str(tmp_path / "nope")).info()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="contains no images"):
        _source("image_folder", root=str(tmp_path / "empty")).info()
    with pytest.raises(DataError, match="class sub-folders"):
        _source("class_folder", root=str(tmp_path / "empty")).info()
    with pytest.raises(DataError, match="trainA"):
        _source("unpaired_folders", root=str(tmp_path / "empty")).info()
    with pytest.raises(DataError, match="ganzoo data download cifar10"):
        _source("cifar10", root=str(tmp_path / "empty")).info()
    with pytest.raises(DataError, match="ganzoo data download horse2zebra"):
        _source("unpaired_folders", dataset="horse2zebra", root=str(tmp_path / "empty")).info()


def test_corrupt_image_names_the_file_and_skip_bad_counts_it(tmp_path, make):
    make.write_images(tmp_path / "c", ["a.png", "b.png", "d.png"])
    (tmp_path / "c" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with pytest.raises(DataError, match=r"bad\.png.*skip_bad"):
        _source("image_folder", root=str(tmp_path / "c")).dataset().__getitems__([0, 1, 2, 3])
    src = _source("image_folder", root=str(tmp_path / "c"), skip_bad=True)
    ds = src.dataset()
    assert len(ds) == 3 and ds.skipped == 1 and ds.skipped_files[0].name == "bad.png"


def test_truncated_jpeg_is_caught_when_decoded_and_skipped(tmp_path, make):
    make.write_images(tmp_path / "t", ["a.jpg", "b.jpg", "c.jpg"], size=(64, 64))
    good = (tmp_path / "t" / "b.jpg").read_bytes()
    (tmp_path / "t" / "b.jpg").write_bytes(good[: len(good) // 2])  # header fine, data cut
    with pytest.raises(DataError, match=r"b\.jpg"):
        _source("image_folder", root=str(tmp_path / "t")).dataset()[1]
    ds = _source("image_folder", root=str(tmp_path / "t"), skip_bad=True).dataset()
    assert len(ds) == 3 and ds.skipped == 0
    with pytest.warns(UserWarning, match=r"b\.jpg"):
        batch = ds.__getitems__([0, 1, 2]).collated["x"]
    assert ds.skipped == 1
    assert torch.equal(batch[1], batch[2])  # item 1 was replaced by the next readable image


def test_class_folder_labels_from_sorted_names(tmp_path, make):
    for cls, n in (("zebra", 2), ("ant", 3), ("moose", 1)):
        make.write_images(tmp_path / "cf" / cls, [f"{i}.png" for i in range(n)])
    src = _source("class_folder", root=str(tmp_path / "cf"))
    info = src.info()
    assert info.num_classes == 3 and info.class_names == ("ant", "moose", "zebra")
    ds = src.dataset()
    batch = ds.__getitems__(list(range(6))).collated
    assert batch["y"].tolist() == [0, 0, 0, 1, 2, 2] and batch["y"].dtype == torch.int64
    assert _source("class_folder", root=str(tmp_path / "cf"), limit=4).dataset().__len__() == 4


def test_class_folder_skip_bad_keeps_labels_aligned(tmp_path, make):
    make.write_images(tmp_path / "cf" / "a", ["0.png"])
    make.write_images(tmp_path / "cf" / "b", ["0.png", "1.png"])
    (tmp_path / "cf" / "a" / "x.png").write_bytes(b"garbage")
    ds = _source("class_folder", root=str(tmp_path / "cf"), skip_bad=True).dataset()
    assert len(ds) == 3 and ds.skipped == 1
    assert ds.__getitems__([0, 1, 2]).collated["y"].tolist() == [0, 1, 1]


def test_unpaired_folders(tmp_path, make):
    from ganzoo.download import extract

    (tmp_path / "z.zip").write_bytes(make.cyclegan_zip("set", (5, 3, 2, 2)))
    extract(tmp_path / "z.zip", tmp_path)
    src = _source("unpaired_folders", root=str(tmp_path / "set"), image_size=16)
    info = src.info()
    assert info.kind == "unpaired" and info.shape == (3, 16, 16) and info.extras["sizes"] == (5, 3)
    ds = src.dataset("train")
    assert len(ds) == 5
    batch = ds.__getitems__(list(range(5))).collated
    assert set(batch) == {"a", "b"} and batch["a"].shape == batch["b"].shape == (5, 3, 16, 16)
    # domain A is red, domain B blue: the a/b assignment is right
    assert (batch["a"][:, 0].mean() > 0.5) and (batch["b"][:, 2].mean() > 0.5)
    assert (batch["a"][:, 2].mean() < -0.5) and (batch["b"][:, 0].mean() < -0.5)
    # a = A[i % len(A)]: item 0 and the first A image agree
    a_only = _source("image_folder", root=str(tmp_path / "set" / "trainA"), image_size=16).dataset()
    assert torch.equal(ds[0]["a"], a_only[0]["x"])
    assert len(src.dataset("test")) == 2
    # b is drawn from the item's seed: same seed -> same pairing, another seed -> another
    b_of = [ds.get_seeded(list(range(5)), [s * 7 + i for i in range(5)]).collated["b"] for s in (1, 1, 2)]
    assert torch.equal(b_of[0], b_of[1]) and not torch.equal(b_of[0], b_of[2])
    b_only = _source("image_folder", root=str(tmp_path / "set" / "trainB"), image_size=16).dataset()
    b_images = b_only.__getitems__([0, 1, 2]).collated["x"]
    assert all(any(torch.equal(b, ref) for ref in b_images) for b in b_of[2])  # each b is an image of B


def test_mnist_and_fashion_mnist(tmp_path, make):
    files = make.mnist_files(n_train=15, n_test=4, seed=3)
    for sub in ("mnist", "fashion"):
        (tmp_path / sub).mkdir()
        for name, (_, data) in files.items():
            (tmp_path / sub / name).write_bytes(data)
    # a plain (un-gzipped) IDX file is read too
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").unlink()
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte").write_bytes(
        gzip.decompress(files["t10k-images-idx3-ubyte.gz"][1]))
    src = _source("mnist", root=str(tmp_path / "mnist"))
    info = src.info()
    assert info.shape == (1, 28, 28) and info.num_classes == 10
    train, test = src.dataset("train"), src.dataset("test")
    assert len(train) == 15 and len(test) == 4
    batch = test.__getitems__([0, 1, 2, 3]).collated
    assert np.array_equal(_u8(batch["x"][:, 0]), files["t10k-images-idx3-ubyte.gz"][0])
    assert batch["y"].tolist() == files["t10k-labels-idx1-ubyte.gz"][0].tolist()
    fm = _source("fashion_mnist", root=str(tmp_path / "fashion"), image_size=32, channels=3, limit=5)
    assert fm.info().shape == (3, 32, 32) and fm.info().class_names[0] == "T-shirt/top"
    fds = fm.dataset()
    assert len(fds) == 5 and fds[4]["x"].shape == (3, 32, 32)
    (tmp_path / "mnist" / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01junk"))
    with pytest.raises(DataError, match="train-labels"):
        src.dataset("train")


def test_cifar10_and_cifar100(tmp_path, make):
    from ganzoo.download import extract

    for kind in ("cifar10", "cifar100"):
        data, batches = make.cifar_tar(kind, 4, seed=1)
        (tmp_path / f"{kind}.tar.gz").write_bytes(data)
        extract(tmp_path / f"{kind}.tar.gz", tmp_path / kind)  # unpacked by hand: top folder kept
    c10 = _source("cifar10", root=str(tmp_path / "cifar10"))
    info = c10.info()
    assert info.shape == (3, 32, 32) and info.num_classes == 10 and info.class_names[3] == "class3"
    train = c10.dataset("train")
    assert len(train) == 20
    _, batches = make.cifar_tar("cifar10", 4, seed=1)
    b2 = batches["data_batch_2"]
    item = train[5]  # the second batch's second image
    assert np.array_equal(_u8(item["x"]).reshape(-1), b2[b"data"][1]) and int(item["y"]) == b2[b"labels"][1]
    c100 = _source("cifar100", root=str(tmp_path / "cifar100"))
    _, batches100 = make.cifar_tar("cifar100", 4, seed=1)
    assert c100.info().num_classes == 100 and c100.info().class_names[7] == "fine7"
    assert c100.dataset("test").__getitems__([0, 1, 2, 3]).collated["y"].tolist() == batches100["test"][b"fine_labels"]
    coarse = _source("cifar100", root=str(tmp_path / "cifar100"), label="coarse")
    assert coarse.info().num_classes == 20
    assert coarse.dataset("train").__getitems__([0, 1, 2, 3]).collated["y"].tolist() == \
        batches100["train"][b"coarse_labels"]


def test_cifar_pickles_cannot_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    folder = tmp_path / "c"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (folder / name).write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(DataError, match="refusing to load builtins.print"):
        _source("cifar10", root=str(folder)).info()


@pytest.mark.parametrize("layout", ["NHWC", "NCHW", "NHW"])
def test_npz_uint8_layouts(tmp_path, layout):
    rng = np.random.default_rng(0)
    shape = {"NHWC": (6, 10, 12, 3), "NCHW": (6, 3, 10, 12), "NHW": (6, 10, 12)}[layout]
    arr = rng.integers(0, 256, shape, dtype=np.uint8)
    labels = rng.integers(0, 4, 6)
    np.savez(tmp_path / "d.npz", images=arr, labels=labels)
    src = _source("npz", root=str(tmp_path / "d.npz"), labels_key="labels")
    info = src.info()
    chw = {"NHWC": (3, 10, 12), "NCHW": (3, 10, 12), "NHW": (1, 10, 12)}[layout]
    assert info.shape == chw and info.num_classes == int(labels.max()) + 1
    batch = src.dataset().__getitems__([2, 5]).collated
    as_nchw = {"NHWC": lambda a: a.transpose(0, 3, 1, 2), "NCHW": lambda a: a,
               "NHW": lambda a: a[:, None]}[layout](arr)
    assert np.array_equal(_u8(batch["x"]), as_nchw[[2, 5]])
    assert batch["y"].tolist() == labels[[2, 5]].tolist()


def test_npz_float_ranges(tmp_path):
    rng = np.random.default_rng(1)
    unit = rng.random((4, 8, 8, 3)).astype(np.float32)
    np.savez(tmp_path / "f.npz", x=unit)
    with pytest.raises(DataError, match="data.range"):
        _source("npz", root=str(tmp_path / "f.npz")).dataset()
    x = _source("npz", root=str(tmp_path / "f.npz"), range=(0, 1)).dataset().__getitems__([0, 1, 2, 3]).collated["x"]
    assert torch.allclose(x, torch.from_numpy(unit.transpose(0, 3, 1, 2)) * 2 - 1, atol=1e-5)
    signed = unit * 2 - 1
    np.savez(tmp_path / "s.npz", x=signed)
    y = _source("npz", root=str(tmp_path / "s.npz"), range=(-1, 1)).dataset()[2]["x"]
    assert torch.allclose(y, torch.from_numpy(signed[2].transpose(2, 0, 1)), atol=1e-5)
    with pytest.raises(DataError, match="outside data.range"):
        _source("npz", root=str(tmp_path / "s.npz"), range=(0, 1)).dataset()
    with pytest.raises(DataError, match="no array 'nope'"):
        _source("npz", root=str(tmp_path / "s.npz"), images_key="nope").info()


def test_options_are_validated():
    from pydantic import ValidationError

    cls = get_dataset("image_folder")
    with pytest.raises(ValidationError, match="did you mean 'hflip'"):
        cls.Options(name="image_folder", transforms=[{"hflp": 0.5}])
    with pytest.raises(ValidationError):
        cls.Options(name="image_folder", channels=2)
    with pytest.raises(ValidationError):
        cls.Options(name="image_folder", limti=3)


def test_jpeg_draft_decodes_smaller_and_stays_close(tmp_path, make):
    from ganzoo.data.images import decode

    make.write_images(tmp_path / "big", ["a.jpg"], size=(256, 200))
    path = tmp_path / "big" / "a.jpg"
    assert decode(path, "RGB", (64, 64)).size == (128, 100)  # 1/2 scale keeps both sides >= 64
    assert decode(path, "RGB", None).size == (256, 200)
    fast = _source("image_folder", root=str(tmp_path / "big"), image_size=64).dataset()[0]["x"]
    exact = _source("image_folder", root=str(tmp_path / "big"), image_size=64, jpeg_draft=False).dataset()[0]["x"]
    assert fast.shape == exact.shape == (3, 64, 64)
    assert (fast - exact).abs().mean() < 0.1  # random pixels: the worst case for DCT scaling


def test_arrays_give_the_same_items_with_or_without_precomputing():
    from ganzoo.data.datasets import ArrayImages
    from ganzoo.data.transforms import build_transforms

    images = torch.randint(0, 256, (10, 1, 28, 28), dtype=torch.uint8)
    pipe = build_transforms([{"hflip": 0.5}], image_size=20, channels=3)
    pre = ArrayImages(images, None, build_transforms(None, image_size=20, channels=3))
    lazy = ArrayImages(images, None, build_transforms(None, image_size=20, channels=3), budget=0)
    assert pre.pre_applied and not lazy.pre_applied
    idx = list(range(10))
    assert torch.equal(pre.__getitems__(idx).collated["x"], lazy.__getitems__(idx).collated["x"])
    flipped = ArrayImages(images, None, pipe)
    assert flipped.__getitems__(idx).collated["x"].shape == (10, 3, 20, 20)
