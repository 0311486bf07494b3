"""The ``torch.utils.data.Dataset`` classes behind the file and array formats.

Items are dicts (``{"x"}``, ``{"x", "y"}`` or ``{"a", "b"}``) of float32 ``(C, H, W)`` images in
[-1, 1]. Every class here also has:

* ``get_seeded(indices, seeds)``: a batch of items whose random transforms draw from one
  generator per item seeded with ``seeds[i]`` (the loader's per-item seeds);
* ``__getitems__(indices)``: the same with seeds from ``(self.seed, self.epoch, index)``.

Both return a :class:`~ganzoo.data.batched.CollatedBatch`: a sequence of item dicts (so torch's
default collation works) that also carries the batch already collated, which
:func:`ganzoo.data.batched.collate` hands on without stacking again. Images are put into one
preallocated batch tensor (in shared memory inside a worker, as torch's own collation does) and
converted to [-1, 1] once per batch.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from pathlib import Path
from typing import Iterator, Sequence

import torch
from torch.utils.data import Dataset

from ..errors import DataError
from .batched import CollatedBatch
from .images import BadImage, decode
from .transforms import Pipeline, item_seed, pil_to_tensor


def new_batch(shape: Sequence[int], dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised tensor; in a DataLoader worker it lives in shared memory so sending it
    to the main process costs no copy."""
    if torch.utils.data.get_worker_info() is not None:
        proto = torch.empty(0, dtype=dtype)
        storage = proto._typed_storage()._new_shared(math.prod(shape), device=proto.device)
        return proto.new(storage).view(*shape)
    return torch.empty(*shape, dtype=dtype)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run per-item work on one thread in the main process.

    DataLoader workers already run single-threaded; in the main process (``num_workers=0``)
    torch would spread small per-image ops and the batch conversion over its OpenMP threads,
    whose spin-waiting about doubled the CPU time per image in our measurements for no speed-up.
    Results do not depend on the thread count.
    """
    n = torch.get_num_threads()
    if n == 1 or torch.utils.data.get_worker_info() is not None:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def assemble(images: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-item (C, H, W) uint8 or 0..255 float tensors -> one float32 batch in [-1, 1]."""
    c, h, w = images[0].shape
    out = new_batch((len(images), c, h, w), torch.float32)
    for i, img in enumerate(images):
        out[i].copy_(img)  # casts and un-permutes (HWC views) in one pass
    if all(img.dtype == torch.uint8 for img in images):
        return out.div_(127.5).sub_(1.0)
    return out.div_(127.5).sub_(1.0).clamp_(-1.0, 1.0)


class ImageItems(Dataset):
    """Base: one image per index (``load_one``), optional integer labels, a transform pipeline."""

    def __init__(self, pipeline: Pipeline, shape: tuple[int, int, int],
                 labels: torch.Tensor | None = None, seed: int = 0) -> None:
        self.pipeline = pipeline
        self.shape = tuple(shape)
        self.labels = labels
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Epoch used for the seeds of ``dataset[i]`` outside the loader."""
        self.epoch = epoch

    def __len__(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def load_one(self, index: int, g: torch.Generator | None) -> torch.Tensor:  # pragma: no cover
        """Image ``index`` after the pipeline: (C, H, W), uint8 or float in 0..255."""
        raise NotImplementedError

    def load_used(self, index: int, g: torch.Generator | None) -> tuple[torch.Tensor, int]:
        """``load_one`` and the index actually loaded (another one when a bad file was skipped)."""
        return self.load_one(index, g), index

    def _generator(self, seed: int) -> torch.Generator | None:
        return torch.Generator().manual_seed(seed) if self.pipeline.random else None

    def get_seeded(self, indices: Sequence[int], seeds: Sequence[int]) -> CollatedBatch:
        with one_thread():
            loaded = [self.load_used(int(i), self._generator(s)) for i, s in zip(indices, seeds)]
            batch = {"x": assemble([img for img, _ in loaded])}
        if self.labels is not None:
            batch["y"] = self.labels[torch.as_tensor([u for _, u in loaded], dtype=torch.long)]
        return CollatedBatch(batch)

    def __getitems__(self, indices: Sequence[int]) -> CollatedBatch:
        return self.get_seeded(indices, [item_seed(self.seed, self.epoch, int(i)) for i in indices])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        return self.__getitems__([index % len(self)])[0]


class ArrayImages(ImageItems):
    """Images held in memory as an (N, C, H, W) uint8 (or 0..255 float) tensor.

    The leading deterministic ops (resize, centre crop, channels) are applied once to the whole
    array when the result fits ``budget`` bytes (otherwise per item, with the same result);
    batches without random ops are then a single gather.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None, pipeline: Pipeline,
                 seed: int = 0, budget: int = 1 << 30) -> None:
        if images.ndim != 4:
            raise DataError(f"expected images of shape (N, C, H, W), got {tuple(images.shape)}")
        src = tuple(images.shape[1:])
        shape = pipeline.out_shape(src)
        super().__init__(pipeline, shape, labels, seed)
        self.fixed, self.rest = pipeline.split_deterministic()
        self.images = images
        self.pre_applied = False
        n = images.shape[0]
        out_c, out_h, out_w = self.fixed.out_shape(src)
        if len(self.fixed) and n * out_c * out_h * out_w * images.element_size() <= budget:
            try:
                chunks = [self._fixed(images[i:i + 1024]) for i in range(0, n, 1024)]
            except ValueError as exc:
                raise DataError(f"cannot transform the images: {exc}") from None
            self.images = torch.cat(chunks) if chunks else images
            self.pre_applied = True

    def _fixed(self, x: torch.Tensor) -> torch.Tensor:
        if not len(self.fixed):
            return x
        return self.fixed.apply_tensor(x).contiguous()

    def __len__(self) -> int:
        return self.images.shape[0]

    def load_one(self, index: int, g: torch.Generator | None) -> torch.Tensor:
        x = self.images[index]
        try:
            if not self.pre_applied:
                x = self._fixed(x)
            return self.rest.apply_tensor(x, g)
        except ValueError as exc:
            raise DataError(f"cannot transform item {index}: {exc}") from None

    def get_seeded(self, indices: Sequence[int], seeds: Sequence[int]) -> CollatedBatch:
        if len(self.rest) or not self.pre_applied and len(self.fixed):
            return super().get_seeded(indices, seeds)
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        gathered = self.images.index_select(0, idx)
        out = new_batch(gathered.shape, torch.float32)
        if gathered.dtype == torch.uint8:
            torch.div(gathered, 127.5, out=out).sub_(1.0)
        else:
            torch.div(gathered, 127.5, out=out).sub_(1.0).clamp_(-1.0, 1.0)
        batch = {"x": out}
        if self.labels is not None:
            batch["y"] = self.labels.index_select(0, idx)
        return CollatedBatch(batch)


class FileImages(ImageItems):
    """Image files decoded with Pillow on demand.

    With ``skip_bad`` an unreadable file is replaced by the next readable one and counted in
    ``skipped`` (this process only: DataLoader workers keep their own counts); without it,
    it raises :class:`~ganzoo.errors.DataError` naming the file. Files already known to be bad
    (a header check when the folder was listed) come in through ``pre_skipped``.
    """

    def __init__(self, paths: Sequence[Path], labels: torch.Tensor | None, pipeline: Pipeline,
                 shape: tuple[int, int, int], mode: str, *, skip_bad: bool = False,
                 draft: bool = True, seed: int = 0, pre_skipped: Sequence[Path] = ()) -> None:
        super().__init__(pipeline, shape, labels, seed)
        self.paths = list(paths)
        self.mode = mode
        self.skip_bad = skip_bad
        self.draft_size = pipeline.draft_size() if draft else None
        self.skipped_files: list[Path] = list(pre_skipped)
        self._bad: set[int] = set()

    @property
    def skipped(self) -> int:
        """How many unreadable files were skipped (listing plus loads in this process)."""
        return len(self.skipped_files)

    def __len__(self) -> int:
        return len(self.paths)

    def _load_path(self, path: Path, g: torch.Generator | None) -> torch.Tensor:
        img = decode(path, self.mode, self.draft_size)
        try:
            out = self.pipeline.apply_pil(img, g)
        except ValueError as exc:
            raise DataError(f"cannot transform image {path}: {exc}") from None
        x = pil_to_tensor(out) if not isinstance(out, torch.Tensor) else out
        if tuple(x.shape) != self.shape:
            raise DataError(f"image {path} comes out {tuple(x.shape)} but the data set's images are "
                            f"{self.shape}; set data.image_size (or a resize/crop transform) so all "
                            f"images get one size")
        return x

    def load_one(self, index: int, g: torch.Generator | None) -> torch.Tensor:
        return self.load_used(index, g)[0]

    def load_used(self, index: int, g: torch.Generator | None) -> tuple[torch.Tensor, int]:
        n = len(self.paths)
        for k in range(n):
            i = (index + k) % n
            if i in self._bad:
                continue
            try:
                return self._load_path(self.paths[i], g), i
            except BadImage as exc:
                if not self.skip_bad:
                    raise
                self._bad.add(i)
                self.skipped_files.append(exc.path)
                warnings.warn(f"skipping unreadable image {exc.path}", stacklevel=2)
        raise DataError(f"no readable images among the {n} files starting with {self.paths[0]}")


class UnpairedImages(Dataset):
    """Two unaligned image domains (CycleGAN): item i is ``a = A[i % len(A)]`` and ``b`` a
    random image of B drawn from the item's generator, so it is fixed by the seed."""

    def __init__(self, a: ImageItems, b: ImageItems, seed: int = 0) -> None:
        if not len(a) or not len(b):
            raise DataError("both domains of an unpaired data set need at least one image")
        self.a, self.b = a, b
        self.seed = seed
        self.epoch = 0

    @property
    def skipped(self) -> int:
        return getattr(self.a, "skipped", 0) + getattr(self.b, "skipped", 0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def get_seeded(self, indices: Sequence[int], seeds: Sequence[int]) -> CollatedBatch:
        xa, xb = [], []
        with one_thread():
            for i, s in zip(indices, seeds):
                g = torch.Generator().manual_seed(s)
                j = int(torch.randint(0, len(self.b), (1,), generator=g))
                xa.append(self.a.load_one(int(i) % len(self.a), g))
                xb.append(self.b.load_one(j, g))
            return CollatedBatch({"a": assemble(xa), "b": assemble(xb)})

    def __getitems__(self, indices: Sequence[int]) -> CollatedBatch:
        return self.get_seeded(indices, [item_seed(self.seed, self.epoch, int(i)) for i in indices])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        return self.__getitems__([index % len(self)])[0]
