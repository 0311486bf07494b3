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

    @property
    def filename(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


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

    root = Path(root) if root is not None else default_root(entry)
    if is_present(entry, root):
        return root
    root.mkdir(parents=True, exist_ok=True)
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
