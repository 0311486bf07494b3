"""Two unaligned image domains in the CycleGAN layout: ``root/trainA trainB testA testB``.

Item ``i`` of a split pairs ``A[i % len(A)]`` with an image of B chosen at random from the item's
seeded generator (CycleGAN's "unaligned" mode), so the pairing is fixed by the run's seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from ..errors import DataError
from .base import DataInfo
from .common import FileOptions, ImageSource
from .folder import _EXTS, scan, source_shape
from .images import list_images


class UnpairedOptions(FileOptions):
    dataset: str | None = Field(None, description="a CycleGAN set from the catalogue (horse2zebra, ...): "
                                                  "sets the default root and what download fetches")
    download: bool = Field(False, description="fetch the catalogue set named by 'dataset' when missing")


class UnpairedFolders(ImageSource):
    """Items ``{"a": image of domain A, "b": image of domain B}``; DataInfo.kind is "unpaired"."""

    Options = UnpairedOptions
    default_folder = "unpaired"

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self._cache: dict[str, Any] = {}

    def root(self) -> Path:
        opts = self.options
        if not opts.root and opts.dataset:
            from .catalog import default_root, get_entry

            return default_root(get_entry(opts.dataset))
        return super().root()

    def _ensure(self) -> Path:
        root = self.root()
        if self.options.download and not (root / "trainA").is_dir():
            if not self.options.dataset:
                raise DataError("data.download needs data.dataset, the name of a CycleGAN set "
                                "(see 'ganzoo data list')")
            from .catalog import fetch, get_entry

            fetch(get_entry(self.options.dataset), root)
        return root

    def _domain(self, split: str, side: str) -> tuple[list[Path], list[Path]]:
        key = f"{split}{side}"
        if key not in self._cache:
            root = self._ensure()
            folder = root / key
            hint = (f"run 'ganzoo data download {self.options.dataset}'" if self.options.dataset
                    else "expected root/trainA, trainB, testA, testB")
            if not folder.is_dir():
                raise DataError(f"unpaired data folder {folder} does not exist; {hint}")
            files = list_images(folder, self.options.recursive)
            if not files:
                raise DataError(f"unpaired data folder {folder} contains no images (looked for {_EXTS}); "
                                f"{hint}")
            files = files[:self.limited(len(files))]
            good, bad = scan(files, self.options.skip_bad)
            if not good:
                raise DataError(f"no readable images in {folder}: all {len(bad)} were skipped")
            self._cache[key] = (good, bad)
        return self._cache[key]

    def _split(self, split: str) -> str:
        self.check_split(split)
        return split

    def info(self) -> DataInfo:
        a, _ = self._domain("train", "A")
        b, _ = self._domain("train", "B")
        shape, _ = source_shape(a, self.pipeline(), self.options.skip_bad)
        return self.make_info("unpaired", shape, domains=("A", "B"), sizes=(len(a), len(b)))

    def dataset(self, split: str = "train") -> Any:
        from .datasets import FileImages, UnpairedImages

        split = self._split(split)
        pipeline = self.pipeline()
        a_files, a_bad = self._domain(split, "A")
        b_files, b_bad = self._domain(split, "B")
        # both domains are decoded to the channel count of A's first image unless channels is set
        shape, mode = source_shape(a_files, pipeline, self.options.skip_bad)
        out = pipeline.out_shape(shape)
        _, bh, bw = source_shape(b_files, pipeline, self.options.skip_bad)[0]
        b_out = pipeline.out_shape((shape[0], bh, bw))
        if tuple(b_out) != tuple(out):
            raise DataError(f"domain B of {self.root()} comes out {b_out}, domain A {out}; set "
                            f"data.image_size so both domains have one size")
        common = dict(skip_bad=self.options.skip_bad, draft=self.options.jpeg_draft)
        a = FileImages(a_files, None, pipeline, out, mode, pre_skipped=a_bad, **common)
        b = FileImages(b_files, None, pipeline, out, mode, pre_skipped=b_bad, **common)
        return UnpairedImages(a, b)
