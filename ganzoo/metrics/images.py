"""Image-folder input for FID, decoded exactly as pytorch-fid decodes it.

Files with the extensions below, in any case (pytorch-fid only matches lowercase), directly in the
folder (not in subfolders), sorted; Pillow ``.convert("RGB")`` -> float32 CHW in [0, 1]. Batches
keep every image (no drop_last). Images of mixed sizes are resized one by one in the loader with
the same resize the network applies to batches, which gives identical values.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from ..errors import DataError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = ("bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp")


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside ``folder``, any extension case, sorted like pytorch-fid."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist or is not a folder")
    from ..data.walk import list_files

    files = list_files(folder, lambda name: Path(name).suffix[1:].lower() in IMAGE_EXTENSIONS)
    upper = [p for p in files if p.suffix[1:] != p.suffix[1:].lower()]
    if upper:
        log.warning("%s: %d image(s) with a non-lowercase extension (e.g. %s) are included; pytorch-fid "
                    "only matches lowercase extensions and would skip them", folder, len(upper), upper[0].name)
    if not files:
        raise DataError(f"no images in {folder} (looked for {', '.join(IMAGE_EXTENSIONS)} in any case, "
                        f"not in subfolders)")
    return files


def load_image(path: Path) -> torch.Tensor:
    """float32 (3, H, W) in [0, 1], as torchvision's ToTensor gives for ``.convert("RGB")``."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            arr = np.asarray(img.convert("RGB"))
    except Exception as exc:
        raise DataError(f"cannot decode image {path}: {type(exc).__name__}: {exc}; remove or "
                        f"re-save it") from None
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous().float().div(255)


class ImageFiles(torch.utils.data.Dataset):
    """A list of image paths as a map-style data set of [0, 1] tensors."""

    def __init__(self, files: list[Path]) -> None:
        self.files = list(files)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        return load_image(self.files[i])


def _collate(batch: list[torch.Tensor]) -> torch.Tensor:
    shapes = {tuple(t.shape) for t in batch}
    if len(shapes) == 1:
        return torch.stack(batch)
    from .inception import resize_for_inception

    return torch.cat([resize_for_inception(t[None]) for t in batch])


def default_num_workers() -> int:
    """pytorch-fid's choice: one worker per CPU, at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return min(n, 8)


def image_batches(files: list[Path], batch_size: int = 50, num_workers: int | None = None,
                  pin_memory: bool = False) -> Iterator[torch.Tensor]:
    """Batches (B, 3, H, W) in [0, 1] of ``files`` in order; the last batch may be smaller."""
    if batch_size < 1:
        raise DataError(f"batch size must be at least 1, got {batch_size}")
    workers = default_num_workers() if num_workers is None else num_workers
    loader = torch.utils.data.DataLoader(ImageFiles(files), batch_size=batch_size, shuffle=False,
                                         drop_last=False, num_workers=workers, collate_fn=_collate,
                                         pin_memory=pin_memory)
    yield from loader
