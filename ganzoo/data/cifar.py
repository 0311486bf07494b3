"""CIFAR-10 and CIFAR-100 from their "python version" pickle batches: 32x32 RGB.

The batches are pickles, which can run code when loaded; they are read with an unpickler that
only accepts the few types they contain (dicts, lists, bytes, numpy arrays).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from ..errors import DataError
from .base import DataInfo
from .common import ImageOptions, ImageSource

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def load_batch(path: Path) -> dict[str, Any]:
    """One pickled batch as a dict with str keys."""
    try:
        with open(path, "rb") as fh:
            obj = _SafeUnpickler(fh, encoding="bytes").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError) as exc:
        raise DataError(f"cannot read CIFAR batch {path}: {exc}; delete it and download again") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path} is not a CIFAR batch (a {type(obj).__name__}, expected a dict)")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _names(values: Any) -> tuple[str, ...]:
    return tuple(v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values)


class CIFAR10Options(ImageOptions):
    download: bool = Field(False, description="fetch the archive (with its checksum) when missing")


class CIFAR100Options(CIFAR10Options):
    label: Literal["fine", "coarse"] = Field("fine", description="100 fine or 20 coarse classes")


class CIFAR10(ImageSource):
    """CIFAR-10; items ``{"x": (3, 32, 32), "y": label}`` before transforms."""

    Options = CIFAR10Options
    catalog_name: ClassVar[str] = "cifar10"
    default_folder = "cifar10"
    archive_folder: ClassVar[str] = "cifar-10-batches-py"  # the tarball's top folder
    splits: ClassVar[dict[str, tuple[str, ...]]] = {
        "train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
    meta_file: ClassVar[str] = "batches.meta"

    def _folder(self) -> Path:
        """The folder holding the batches: root, or root/<archive folder> if unpacked by hand."""
        root = self.root()
        needed = [*self.splits["train"], *self.splits["test"], self.meta_file]
        for folder in (root, root / self.archive_folder):
            if all((folder / f).is_file() for f in needed):
                return folder
        if self.options.download:
            from .catalog import fetch, get_entry

            fetch(get_entry(self.catalog_name), root)
            if all((root / f).is_file() for f in needed):
                return root
        missing = [f for f in needed if not (root / f).is_file()]
        raise DataError(f"{self.catalog_name} files missing in {root}: {', '.join(missing)}; run "
                        f"'ganzoo data download {self.catalog_name}' (or set data.download: true, or "
                        f"data.root to the folder holding the batches)")

    def _label_key(self) -> str:
        return "labels"

    def _class_names(self, folder: Path) -> tuple[str, ...]:
        return _names(load_batch(folder / self.meta_file)["label_names"])

    def info(self) -> DataInfo:
        folder = self._folder()
        names = self._class_names(folder)
        return self.make_info("images", (3, 32, 32), num_classes=len(names), class_names=names)

    def dataset(self, split: str = "train") -> Any:
        import numpy as np
        import torch

        from .datasets import ArrayImages

        self.check_split(split)
        folder = self._folder()
        xs, ys = [], []
        for name in self.splits[split]:
            batch = load_batch(folder / name)
            key = self._label_key()
            if "data" not in batch or key not in batch:
                raise DataError(f"{folder / name} has no 'data' or '{key}' entry; is it a "
                                f"{self.catalog_name} batch?")
            data = np.asarray(batch["data"], dtype=np.uint8)
            if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
                raise DataError(f"{folder / name}: images of shape {data.shape}, expected (N, 3072)")
            xs.append(data.reshape(-1, 3, 32, 32))
            ys.append(np.asarray(batch[key], dtype=np.int64))
        n = self.limited(sum(len(x) for x in xs))
        labels = np.concatenate(ys)
        self.check_limit_keeps_classes(labels, n)
        x = torch.from_numpy(np.concatenate(xs)[:n].copy())
        y = torch.from_numpy(labels[:n].copy())
        return ArrayImages(x, y, self.pipeline())


class CIFAR100(CIFAR10):
    """CIFAR-100 with fine (100) or coarse (20) labels."""

    Options = CIFAR100Options
    catalog_name = "cifar100"
    default_folder = "cifar100"
    archive_folder = "cifar-100-python"
    splits = {"train": ("train",), "test": ("test",)}
    meta_file = "meta"

    def _label_key(self) -> str:
        return f"{self.options.label}_labels"

    def _class_names(self, folder: Path) -> tuple[str, ...]:
        return _names(load_batch(folder / self.meta_file)[f"{self.options.label}_label_names"])
