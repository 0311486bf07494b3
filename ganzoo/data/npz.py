"""Images from a NumPy ``.npz`` file: uint8 (0..255) or float arrays (with their value range),
laid out NHW, NHWC or NCHW; optional integer labels from a second key."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ..errors import DataError
from .base import DataInfo
from .common import ImageOptions, ImageSource

_IMAGE_KEYS = ("images", "x", "arr_0", "data")
#: Most classes a labels array may imply (labels are 0..K-1): a conditional variant allocates an
#: embedding row per class, so one stray huge label must not size the networks.
MAX_CLASSES = 100_000


class NpzOptions(ImageOptions):
    root: str | None = Field(None, description="the .npz file")
    test_root: str | None = Field(None, description=".npz file of the test split (default: none)")
    images_key: str | None = Field(None, description="array holding the images (default: the only "
                                                     "array, or one of images/x/arr_0/data)")
    labels_key: str | None = Field(None, description="array of integer labels (default: none)")
    layout: Literal["auto", "NHW", "NHWC", "NCHW"] = "auto"
    range: tuple[float, float] | None = Field(None, description="value range of float arrays, e.g. "
                                                               "[0, 1] or [-1, 1] (uint8 is 0..255)")

    @field_validator("range")
    @classmethod
    def _check_range(cls, v: Any) -> Any:
        if v is not None and not v[0] < v[1]:
            raise ValueError("range is [low, high] with low < high")
        return v


def _headers(path: Path) -> dict[str, tuple[tuple[int, ...], Any]]:
    """{key: (shape, dtype)} of every array in the .npz, from the headers only."""
    import numpy as np

    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if not name.endswith(".npy"):
                    continue
                with zf.open(name) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                out[name[:-4]] = (tuple(shape), dtype)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise DataError(f"cannot read {path} as an .npz file: {exc}; set data.root to a file made "
                        f"with numpy.savez") from None
    return out


def read_member(npz: Any, key: str, path: Path) -> Any:
    """One array of an open .npz; a damaged member (bad CRC, cut short, not a .npy inside)
    becomes one line naming the file and the array."""
    import zlib

    try:
        return npz[key]
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path}: its array '{key}' is damaged ({str(exc).splitlines()[0][:120]}); "
                        f"write the file again with numpy.savez") from None


def _layout(shape: tuple[int, ...], layout: str, path: Path) -> str:
    if layout != "auto":
        want = len(layout)
        if len(shape) != want:
            raise DataError(f"{path}: images of shape {shape} do not match layout {layout}")
        return layout
    if len(shape) == 3:
        return "NHW"
    if len(shape) == 4:
        if shape[3] in (1, 3) and shape[1] not in (1, 3):
            return "NHWC"
        if shape[1] in (1, 3) and shape[3] not in (1, 3):
            return "NCHW"
        if shape[3] in (1, 3):
            return "NHWC"
    raise DataError(f"{path}: cannot tell the layout of images of shape {shape}; set data.layout to "
                    f"NHW, NHWC or NCHW")


def _check_finite(arr: Any, path: Path) -> None:
    """NaN or infinite pixels would surface much later as a NaN loss blamed on the learning rate."""
    import numpy as np

    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.complexfloating):
        return
    bad = ~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}: {int(bad.sum())} of {len(arr)} images hold NaN or infinite values "
                        f"(the first is image {first}); fix or drop them")


class Npz(ImageSource):
    """Arrays from an .npz file; items ``{"x"}`` or ``{"x", "y"}``."""

    Options = NpzOptions
    default_folder = "npz"

    def _path(self, split: str) -> Path:
        self.check_split(split)
        o = self.options
        if split == "test":
            if not o.test_root:
                raise DataError(f"data '{o.name}' has no test split; set data.test_root to an .npz file")
            path = Path(o.test_root).expanduser()
        else:
            if not o.root:
                raise DataError(f"data '{o.name}' needs data.root, the path of an .npz file")
            path = self.root()
        if not path.is_file():
            raise DataError(f"npz file {path} does not exist; check data.root")
        return path

    def _images_key(self, keys: list[str], path: Path) -> str:
        o = self.options
        if o.images_key:
            if o.images_key not in keys:
                raise DataError(f"{path} has no array '{o.images_key}' (it has: {', '.join(keys)}); "
                                f"fix data.images_key")
            return o.images_key
        candidates = [k for k in keys if k != o.labels_key]
        if len(candidates) == 1:
            return candidates[0]
        for k in _IMAGE_KEYS:
            if k in candidates:
                return k
        raise DataError(f"{path} holds several arrays ({', '.join(keys)}); set data.images_key")

    def _source_shape(self, path: Path) -> tuple[tuple[int, int, int], str, Any]:
        headers = _headers(path)
        key = self._images_key(sorted(headers), path)
        shape, dtype = headers[key]
        layout = _layout(shape, self.options.layout, path)
        if layout == "NHW":
            chw = (1, shape[1], shape[2])
        elif layout == "NHWC":
            chw = (shape[3], shape[1], shape[2])
        else:
            chw = (shape[1], shape[2], shape[3])
        if chw[0] not in (1, 3) and self.options.channels is None:
            raise DataError(f"{path}: images have {chw[0]} channels; set data.channels to 1 or 3")
        return chw, layout, dtype

    def info(self) -> DataInfo:
        path = self._path("train")
        chw, _, _ = self._source_shape(path)
        num_classes = None
        if self.options.labels_key:
            num_classes = int(self._labels(path).max()) + 1
        return self.make_info("images", chw, num_classes=num_classes)

    def _labels(self, path: Path) -> Any:
        import numpy as np

        key = self.options.labels_key
        with np.load(path, allow_pickle=False) as npz:
            if key not in npz.files:
                raise DataError(f"{path} has no array '{key}' (it has: {', '.join(npz.files)}); "
                                f"fix data.labels_key")
            labels = read_member(npz, key, path)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or labels.size == 0 \
                or labels.min() < 0:
            raise DataError(f"{path}: '{key}' must be a non-empty 1-D array of non-negative integers, "
                            f"got {labels.dtype} of shape {labels.shape}")
        top = int(labels.max())
        if top >= MAX_CLASSES:
            at = int(labels.argmax())
            raise DataError(f"{path}: '{key}'[{at}] is {top}, so there would be {top + 1} classes; "
                            f"labels must be 0..K-1 with K at most {MAX_CLASSES} (renumber them)")
        return labels

    def dataset(self, split: str = "train") -> Any:
        import numpy as np
        import torch

        from .datasets import ArrayImages

        path = self._path(split)
        _, layout, _ = self._source_shape(path)
        with np.load(path, allow_pickle=False) as npz:
            arr = read_member(npz, self._images_key(sorted(npz.files), path), path)
        labels = self._labels(path) if self.options.labels_key else None
        if labels is not None and len(labels) != len(arr):
            raise DataError(f"{path}: {len(arr)} images but {len(labels)} labels")
        n = self.limited(len(arr))
        if n == 0:
            raise DataError(f"{path}: the images array is empty")
        arr = arr[:n]
        if layout == "NHW":
            arr = arr[:, None]
        elif layout == "NHWC":
            arr = arr.transpose(0, 3, 1, 2)
        arr = np.ascontiguousarray(arr)
        _check_finite(arr, path)
        lo_hi = self.options.range
        if arr.dtype == np.uint8 and lo_hi is None:
            x = torch.from_numpy(arr)
        elif lo_hi is None and np.issubdtype(arr.dtype, np.integer) and arr.min(initial=0) >= 0 \
                and arr.max(initial=0) <= 255:
            x = torch.from_numpy(arr.astype(np.uint8))
        elif lo_hi is None:
            raise DataError(f"{path}: {arr.dtype} images need data.range, their value range, e.g. "
                            f"[0, 1] or [-1, 1] (uint8 images are read as 0..255)")
        else:
            lo, hi = lo_hi
            amin, amax = float(arr.min()), float(arr.max())
            tol = 1e-3 * (hi - lo)
            if amin < lo - tol or amax > hi + tol:
                raise DataError(f"{path}: values span [{amin:g}, {amax:g}], outside data.range "
                                f"[{lo:g}, {hi:g}]; fix data.range")
            x = torch.from_numpy(((arr.astype(np.float32) - lo) * (255.0 / (hi - lo))).clip(0, 255))
        if labels is not None:
            self.check_limit_keeps_classes(labels, n)
        y = torch.from_numpy(labels[:n].astype(np.int64)) if labels is not None else None
        return ArrayImages(x, y, self.pipeline())
