"""The catalogue of downloadable data sets: where they come from, their checksums, their folders.

Checksums are the ones the data sets' distributors publish (and torchvision uses). The CycleGAN
sets have no published checksum; for them the zip's own CRC-32s are checked (``testzip``) and the
trainA/trainB/testA/testB layout is verified after extraction.

``$GANZOO_DATA_MIRROR`` replaces the hosts: files are then fetched from
``MIRROR/<set name>/<file name>`` (for clusters without internet access, or tests).

Only the standard library is imported at module level (``ganzoo data list`` must be fast and
work offline).
"""

from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError, DownloadError


@dataclass(frozen=True)
class RemoteFile:
    url: str
    md5: str | None = None
    sha256: str | None = None
    archive: bool = False
    #: the file's name when the URL does not end with it (e.g. a Google Drive link)
    name: str | None = None

    @property
    def filename(self) -> str:
        return self.name or self.url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    title: str
    format: str                      # the registered data source that reads it
    folder: str                      # default folder under the data directory
    files: tuple[RemoteFile, ...]
    markers: tuple[str, ...]         # paths under the folder that exist once it is in place
    note: str = ""
    options: dict = field(default_factory=dict)  # extra data options to select it

    def url(self, f: RemoteFile) -> str:
        mirror = os.environ.get("GANZOO_DATA_MIRROR", "").strip()
        if mirror:
            return f"{mirror.rstrip('/')}/{self.name}/{f.filename}"
        return f.url


_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_IDX = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
_CYCLEGAN = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/"
_DIV2K = "https://data.vision.ee.ethz.ch/cvl/DIV2K/"
_CELEBA = "https://drive.google.com/uc?export=download&id=0B7EVK8r0v71pZjFTYXZWM3FlRnM"
_PIX2PIX = "https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/"
#: pix2pix sets: catalogue name -> (archive name, the folders it unpacks to); facades: 400 train /
#: 106 test / 100 val ("pix2pix_facades": "facades" is CycleGAN's unpaired version); edges2shoes:
#: 49825 train / 200 val
PIX2PIX_SETS = {"pix2pix_facades": ("facades", ("train", "test", "val")),
                "edges2shoes": ("edges2shoes", ("train", "val"))}
CYCLEGAN_SETS = ("horse2zebra", "apple2orange", "summer2winter_yosemite", "monet2photo",
                 "cezanne2photo", "ukiyoe2photo", "vangogh2photo", "maps", "facades",
                 "iphone2dslr_flower")

_entries = [
    CatalogEntry(
        "mnist", "MNIST", "mnist", "mnist",
        tuple(RemoteFile(_MNIST + n, md5=m) for n, m in zip(_IDX, (
            "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
            "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"))),
        _IDX, note="md5s as published with torchvision's mirror"),
    CatalogEntry(
        "fashion_mnist", "Fashion-MNIST", "fashion_mnist", "fashion_mnist",
        tuple(RemoteFile(_FASHION + n, md5=m) for n, m in zip(_IDX, (
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
            "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"))),
        _IDX, note="md5s as published by Zalando Research"),
    CatalogEntry(
        "cifar10", "CIFAR-10", "cifar10", "cifar10",
        (RemoteFile("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                    md5="c58f30108f718f92721af3b95e74349a", archive=True),),
        ("data_batch_1", "data_batch_5", "test_batch", "batches.meta"),
        note="md5 as published on the CIFAR page"),
    CatalogEntry(
        "cifar100", "CIFAR-100", "cifar100", "cifar100",
        (RemoteFile("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                    md5="eb9058c3a382ffc7106e4002c42a8d85", archive=True),),
        ("train", "test", "meta"),
        note="md5 as published on the CIFAR page"),
    *(CatalogEntry(
        name, f"CycleGAN {name}", "unpaired_folders", f"cyclegan/{name}",
        # no checksum is published for these zips: the zip's CRCs are checked instead
        (RemoteFile(f"{_CYCLEGAN}{name}.zip", archive=True),),
        ("trainA", "trainB", "testA", "testB"),
        note="no published checksum; zip CRCs and layout are checked",
        options={"dataset": name}) for name in CYCLEGAN_SETS),
    # pix2pix's paired sets (zoo_configs/real/pix2pix_*.yaml): side-by-side A|B images in train/,
    # test/ or val/; no checksum is published: gzip's CRC-32 is checked when unpacking
    *(CatalogEntry(
        name, f"pix2pix {stem} (paired)", "paired_folders", f"pix2pix/{stem}",
        (RemoteFile(f"{_PIX2PIX}{stem}.tar.gz", archive=True),), markers,
        note="no published checksum; gzip CRC and layout are checked",
        options={"dataset": name}) for name, (stem, markers) in PIX2PIX_SETS.items()),
    # StarGAN's CelebA domains (zoo_configs/real/stargan_celeba.yaml): the attribute table that
    # celeba_domains reads next to the 'celeba' images
    CatalogEntry(
        "celeba_attributes", "CelebA attributes (list_attr_celeba.txt)", "celeba_domains",
        "celeba_attributes",
        (RemoteFile("https://drive.google.com/uc?export=download&id=0B7EVK8r0v71pblRyaVFSWGxPY0U",
                    md5="75e246fa4810816ffd6ee81facbd244c", name="list_attr_celeba.txt"),),
        ("list_attr_celeba.txt",),
        note="md5 as published with torchvision; if Google Drive refuses the scripted download, fetch "
             "it by hand and serve it through $GANZOO_DATA_MIRROR (MIRROR/celeba_attributes/...)"),
    # super-resolution and inpainting (zoo_configs/real/srgan_div2k.yaml, inpaint_celeba.yaml):
    # read by image_folder inside sr_pairs / inpaint_masks; one entry per split, so each unpacks
    # into its own folder (each archive's single top folder is dropped)
    CatalogEntry(
        "div2k", "DIV2K train HR (800 images)", "image_folder", "div2k",
        (RemoteFile(_DIV2K + "DIV2K_train_HR.zip", md5="bdc2d9338d4e574fe81bf7d158758658", archive=True),),
        ("0001.png", "0800.png"),
        note="the DIV2K site publishes no checksum; md5 as used by public DIV2K loaders"),
    CatalogEntry(
        "div2k_valid", "DIV2K validation HR (100 images)", "image_folder", "div2k_valid",
        (RemoteFile(_DIV2K + "DIV2K_valid_HR.zip", md5="9fcdda83005c5e5997799b69f955ff88", archive=True),),
        ("0801.png", "0900.png"),
        note="the DIV2K site publishes no checksum; md5 as used by public DIV2K loaders"),
    CatalogEntry(
        "celeba", "CelebA aligned faces (202,599 images)", "image_folder", "celeba",
        (RemoteFile(_CELEBA, md5="00d2c5bc6d35e252742224ab0c1e8fcb", archive=True,
                    name="img_align_celeba.zip"),),
        ("000001.jpg", "202599.jpg"),
        note="md5 as published with torchvision; Google Drive may refuse a scripted download of "
             "this 1.4 GB file: fetch img_align_celeba.zip by hand and serve it through "
             "$GANZOO_DATA_MIRROR (MIRROR/celeba/img_align_celeba.zip)"),
]

CATALOG: dict[str, CatalogEntry] = {e.name: e for e in _entries}


def get_entry(name: str) -> CatalogEntry:
    if name not in CATALOG:
        import difflib

        close = difflib.get_close_matches(name, list(CATALOG), n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise DataError(f"unknown data set '{name}'{hint}; see 'ganzoo data list' for the known ones")
    return CATALOG[name]


def default_root(entry: CatalogEntry) -> Path:
    from ..download import data_dir

    return data_dir() / entry.folder


def is_present(entry: CatalogEntry, root: Path | None = None) -> bool:
    root = Path(root) if root is not None else default_root(entry)
    return all((root / m).exists() for m in entry.markers)


def _move_contents(staging: Path, root: Path) -> None:
    """Move what an archive unpacked into ``root``, without its single top-level folder."""
    children = [c for c in staging.iterdir() if not c.name.startswith("__MACOSX")]
    if len(children) == 1 and children[0].is_dir():
        children = list(children[0].iterdir())
    for child in children:
        dest = root / child.name
        if dest.exists():
            shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
        shutil.move(str(child), str(dest))


def fetch(entry: CatalogEntry, root: Path | None = None, *, progress: bool = True,
          timeout: float = 60.0) -> Path:
    """Download, verify and unpack ``entry`` into ``root`` (default: its folder under the data
    directory) unless it is already there; returns the folder."""
    from ..download import download, extract

    from ..download import usable_dir

    root = Path(root) if root is not None else default_root(entry)
    if is_present(entry, root):
        return root
    usable_dir(root, f"folder for {entry.title}", "--root (or data.root)")
    for f in entry.files:
        dest = root / f.filename
        download(entry.url(f), dest, md5=f.md5, sha256=f.sha256, progress=progress, timeout=timeout,
                 what=f"{entry.title} {f.filename}")
        if not f.archive:
            continue
        if f.filename.endswith(".zip"):
            try:
                with zipfile.ZipFile(dest) as zf:
                    bad = zf.testzip()
            except zipfile.BadZipFile as exc:
                dest.unlink()
                raise DownloadError(f"{entry.url(f)} did not give a valid zip ({exc}); it was deleted, "
                                    f"try again") from None
            if bad is not None:
                dest.unlink()
                raise DownloadError(f"{entry.url(f)}: member '{bad}' fails its CRC check; the download "
                                    f"is corrupt and was deleted, try again")
        staging = root / ".extracting"
        if staging.exists():
            shutil.rmtree(staging)
        try:
            extract(dest, staging)
            _move_contents(staging, root)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
        dest.unlink()  # the unpacked files are what is used; the markers say the set is present
    if not is_present(entry, root):
        missing = [m for m in entry.markers if not (root / m).exists()]
        raise DownloadError(f"{entry.title} in {root} is incomplete after download: missing "
                            f"{', '.join(missing)}; delete the folder and run 'ganzoo data download "
                            f"{entry.name}' again")
    return root
