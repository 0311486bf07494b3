"""MNIST and Fashion-MNIST from their IDX files (gzipped or not): 28x28 grayscale, 10 classes."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from ..errors import DataError
from .base import DataInfo
from .common import ImageOptions, ImageSource

#: IDX type codes (the third byte of the magic number) -> numpy dtype
_IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> Any:
    """An IDX file (as used by MNIST) as a numpy array; ``path`` may be gzipped."""
    import numpy as np

    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {path}: {exc}; delete it and download again") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number); delete it and download again")
    ndim = data[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = header + dtype.itemsize * int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        raise DataError(f"{path} is truncated or padded ({len(data)} bytes, expected {expected} for "
                        f"shape {dims}); delete it and download again")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)


class MNISTOptions(ImageOptions):
    download: bool = Field(False, description="fetch the files (with checksums) when missing")


_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


class MNIST(ImageSource):
    """MNIST digits; items ``{"x": (1, 28, 28), "y": label}`` before transforms."""

    Options = MNISTOptions
    catalog_name: ClassVar[str] = "mnist"
    default_folder = "mnist"
    class_names: ClassVar[tuple[str, ...]] = tuple(str(i) for i in range(10))

    def _file(self, root: Path, stem: str) -> Path | None:
        for name in (stem + ".gz", stem):
            if (root / name).is_file():
                return root / name
        return None

    def _files(self, split: str) -> tuple[Path, Path]:
        self.check_split(split)
        root = self.root()
        found = [self._file(root, s) for s in _FILES[split]]
        if any(f is None for f in found) and self.options.download:
            from .catalog import fetch, get_entry

            fetch(get_entry(self.catalog_name), root)
            found = [self._file(root, s) for s in _FILES[split]]
        if any(f is None for f in found):
            missing = [s + ".gz" for s, f in zip(_FILES[split], found) if f is None]
            raise DataError(f"{self.catalog_name} files missing in {root}: {', '.join(missing)}; run "
                            f"'ganzoo data download {self.catalog_name}' (or set data.download: true, "
                            f"or data.root to the folder holding them)")
        return found[0], found[1]  # type: ignore[return-value]

    def info(self) -> DataInfo:
        self._files("train")
        return self.make_info("images", (1, 28, 28), num_classes=10, class_names=self.class_names)

    def dataset(self, split: str = "train") -> Any:
        import torch

        from .datasets import ArrayImages

        images_path, labels_path = self._files(split)
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{images_path} and {labels_path} do not match: shapes {images.shape} and "
                            f"{labels.shape}")
        n = self.limited(len(images))
        self.check_limit_keeps_classes(labels, n, self.class_names)
        x = torch.from_numpy(images[:n].copy()).unsqueeze(1)
        y = torch.from_numpy(labels[:n].astype("int64"))
        return ArrayImages(x, y, self.pipeline())


class FashionMNIST(MNIST):
    """Fashion-MNIST: the MNIST layout with 10 clothing classes."""

    catalog_name = "fashion_mnist"
    default_folder = "fashion_mnist"
    class_names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
