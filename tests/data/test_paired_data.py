"""Paired and multi-domain data: the built-in sets with a known answer, paired_folders (side by
side and A/ + B/), multi_domain_folder, and their bad inputs (one line, exit 2, no run folder)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.cli import main as cli
from ganzoo.data.batched import take
from ganzoo.errors import DataError
from ganzoo.plugins import get_registry
from ganzoo.testing import tiny_config

pytestmark = pytest.mark.usefixtures("one_thread")


def source(**options):
    cls = get_registry().get("datasets", options["name"])
    return cls(cls.Options(**options))


def test_shape_edges_target_is_the_outline_colour_filled_on_grey():
    src = source(name="shape_edges", image_size=16, size=6, test_size=4)
    info = src.info()
    assert info.kind == "paired" and info.extras["baseline"] == "identity" and info.extras["input_shape"] == [3, 16, 16]
    batch = take(src.dataset("train"), 6)
    x, y = batch["x"], batch["y"]
    for i in range(6):
        u, v = (x[i] + 1) / 2, (y[i] + 1) / 2
        edge = u.flatten(1)[:, u.sum(0).flatten().argmax()]  # outline on black: colour times coverage
        fill = v.flatten(1)[:, (v - 220 / 255).abs().sum(0).flatten().argmax()]  # an inside pixel
        assert torch.cosine_similarity(edge, fill, dim=0) > 0.999  # the same colour
        assert torch.allclose(y[i][:, 0, 0], torch.full((3,), 220 / 127.5 - 1))  # the grey corner
    assert not torch.equal(take(src.dataset("test"), 1)["x"], x[:1])  # another sample


def test_color_domains_truth_in_the_own_domain_is_the_input():
    src = source(name="color_domains", image_size=16, size=8, test_size=8, num_domains=3)
    info = src.info()
    assert info.kind == "multi_domain" and info.num_classes == 3 and len(info.class_names) == 3
    assert "y_by_domain" not in take(src.dataset("train"), 2)
    batch = take(src.dataset("test"), 8)
    own = batch["y_by_domain"][torch.arange(8), batch["labels"]]
    assert torch.equal(own, batch["x"])
    other = batch["y_by_domain"][torch.arange(8), (batch["labels"] + 1) % 3]
    assert not torch.equal(other, batch["x"]) and torch.equal(other[:, :, 0, 0], batch["x"][:, :, 0, 0])


def _side_by_side(folder, n=3, width=16):
    folder.mkdir(parents=True)
    for i in range(n):
        img = np.zeros((8, width, 3), np.uint8)
        img[:, :width // 2] = (200, 0, 0)
        img[:, width // 2:] = (0, 0, 200)
        img[0, 0] = (i, i, i)
        Image.fromarray(img).save(folder / f"{i}.png")


def test_side_by_side_halves_and_direction(tmp_path):
    _side_by_side(tmp_path / "train")
    _side_by_side(tmp_path / "val", n=2)
    src = source(name="paired_folders", root=str(tmp_path))
    info = src.info()
    assert info.kind == "paired" and info.shape == (3, 8, 8) and info.extras["baseline"] == "identity"
    batch = take(src.dataset("train"), 3)
    assert batch["x"][:, 0, 4, 4].gt(0.5).all() and batch["y"][:, 2, 4, 4].gt(0.5).all()
    assert len(src.dataset("test")) == 2  # val/ stands in for a missing test/
    flipped = take(source(name="paired_folders", root=str(tmp_path), direction="BtoA").dataset("train"), 1)
    assert torch.equal(flipped["x"], batch["y"][:1])


def test_folders_layout_matches_names_and_random_ops_keep_pairs_aligned(tmp_path):
    rng = np.random.default_rng(0)
    for side in ("A", "B"):
        (tmp_path / "train" / side).mkdir(parents=True)
    for i in range(4):
        img = Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8))
        img.save(tmp_path / "train" / "A" / f"im{i}.png")
        img.save(tmp_path / "train" / "B" / f"im{i}.bmp")  # same name, other extension
    src = source(name="paired_folders", root=str(tmp_path),
                 transforms=[{"random_crop": 8}, {"hflip": 0.5}])
    batch = take(src.dataset("train"), 4)
    assert batch["x"].shape == (4, 3, 8, 8) and torch.equal(batch["x"], batch["y"])


def test_multi_domain_folder_labels_by_sorted_folder(tmp_path):
    for k, name in enumerate(("blond", "black")):
        (tmp_path / name).mkdir()
        for i in range(2):
            Image.new("RGB", (8, 8), (k * 100, 0, 0)).save(tmp_path / name / f"{i}.png")
    src = source(name="multi_domain_folder", root=str(tmp_path))
    info = src.info()
    assert info.kind == "multi_domain" and info.class_names == ("black", "blond")
    batch = take(src.dataset("train"), 4)
    assert set(batch) == {"x", "labels"} and batch["labels"].tolist() == [0, 0, 1, 1]


def test_bad_pairs_are_one_line_exit_2_and_nothing_is_written(tmp_path, capsys):
    odd = tmp_path / "odd"
    _side_by_side(odd / "train", width=15)
    unmatched = tmp_path / "unmatched" / "train"
    for side, names in (("A", ("a", "b")), ("B", ("a", "c"))):
        (unmatched / side).mkdir(parents=True)
        for n in names:
            Image.new("RGB", (8, 8)).save(unmatched / side / f"{n}.png")
    empty = tmp_path / "domains"
    (empty / "one").mkdir(parents=True)
    (empty / "two").mkdir()
    Image.new("RGB", (8, 8)).save(empty / "one" / "x.png")
    cases = [({"name": "paired_folders", "root": str(odd)}, "even width"),
             ({"name": "paired_folders", "root": str(tmp_path / "unmatched")}, "only in A/ (e.g. 'b')"),
             ({"name": "multi_domain_folder", "root": str(empty)}, "two")]
    for data, words in cases:
        path = tmp_path / "c.yaml"
        path.write_text(json.dumps(tiny_config({"name": "pix2pix", "ngf": 4, "ndf": 4}, data, tmp_path / "runs")))
        capsys.readouterr()
        assert cli(["run", str(path)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and words in err, err
        assert not (tmp_path / "runs").exists()
    with pytest.raises(DataError, match="only in B/"):
        source(name="paired_folders", root=str(tmp_path / "unmatched")).info()


def test_celeba_domains_keeps_faces_with_exactly_one_domain_attribute(tmp_path):
    names = ["Bald", "Black_Hair", "Blond_Hair", "Brown_Hair"]
    (tmp_path / "img").mkdir()
    rows = []
    for i in range(9):
        name = f"{i + 1:06d}.jpg"
        Image.new("RGB", (12, 14), (i * 20, 0, 0)).save(tmp_path / "img" / name)
        flags = ["-1"] * 4
        flags[1 + i % 3] = "1"
        if i == 4:
            flags[1] = "1"  # two hair colours: left out
        rows.append(" ".join([name, *flags]))
    attrs = tmp_path / "list_attr_celeba.txt"
    attrs.write_text("9\n" + " ".join(names) + "\n" + "\n".join(rows) + "\n")
    src = source(name="celeba_domains", root=str(tmp_path / "img"), attributes=str(attrs), test_size=3,
                 image_size=8)
    info = src.info()
    assert info.kind == "multi_domain" and info.class_names == ("Black_Hair", "Blond_Hair", "Brown_Hair")
    assert info.extras["num_items"] == 5  # 9 faces, one with two colours, 3 for the test split
    test = take(src.dataset("test"), 3)
    assert test["labels"].tolist() == [0, 1, 2] and test["x"].shape == (3, 3, 8, 8)
    with pytest.raises(DataError, match="Gray_Hair not among"):
        source(name="celeba_domains", root=str(tmp_path / "img"), attributes=str(attrs),
               domains=["Black_Hair", "Gray_Hair"]).info()


def test_pix2pix_facades_downloads_unpacks_and_loads_through_the_catalogue(server, tmp_path, monkeypatch):
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for split, n in (("train", 2), ("test", 1), ("val", 1)):
            for i in range(n):
                png = io.BytesIO()
                Image.new("RGB", (16, 8), (40 * i, 0, 0)).save(png, format="PNG")
                info = tarfile.TarInfo(f"facades/{split}/{i}.png")
                info.size = len(png.getvalue())
                tar.addfile(info, io.BytesIO(png.getvalue()))
    server.files["/pix2pix_facades/facades.tar.gz"] = buf.getvalue()
    monkeypatch.setenv("GANZOO_DATA_MIRROR", server.url)
    src = source(name="paired_folders", dataset="pix2pix_facades", download=True, direction="BtoA",
                 root=str(tmp_path / "facades"))
    assert src.info().shape == (3, 8, 8)
    assert sorted(p.name for p in (tmp_path / "facades").iterdir()) == ["test", "train", "val"]
    assert take(src.dataset("test"), 1)["x"].shape == (1, 3, 8, 8)
