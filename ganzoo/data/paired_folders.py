"""Folders of image pairs (``paired_folders``) and of domains (``multi_domain_folder``).

``paired_folders`` reads ``root/train`` and ``root/test`` (``root/val`` when there is no test
folder), each in one of two layouts (``layout: auto`` picks per folder):

* side by side (pix2pix's sets): every image is A|B, A the left half, B the right half; the
  width must be even;
* folders: ``A/`` and ``B/`` with one image of the same name (extension aside) in each.

``direction: AtoB`` makes A the input and B the target (``BtoA`` the reverse). The transforms
run on both halves with the same random draws, so a random crop or flip keeps them aligned.

``multi_domain_folder`` is ``root/DOMAIN/*.png``, one sub-folder per domain (sorted names are
the domain indices), ``test_root`` likewise; items ``{"x", "labels"}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Sequence

from pydantic import Field

from ..errors import DataError
from .base import DataInfo
from .common import ImageOptions, ImageSource
from .folder import _EXTS, ClassFolder
from .images import list_images, peek_mode_size


class PairedFolderOptions(ImageOptions):
    layout: Literal["auto", "side_by_side", "folders"] = Field(
        "auto", description="side_by_side: A|B images; folders: A/ and B/ with matching names; auto: "
                            "folders when A/ and B/ exist")
    direction: Literal["AtoB", "BtoA"] = Field("AtoB", description="AtoB: A is the input, B the target")
    recursive: bool = Field(False, description="also look for images in sub-folders")
    dataset: str | None = Field(None, description="a pix2pix set from the catalogue (pix2pix_facades, "
                                                  "edges2shoes): sets the default root and what "
                                                  "download fetches")
    download: bool = Field(False, description="fetch the catalogue set named by 'dataset' when missing")


def paired_info(name: str, shape: tuple[int, ...], input_shape: tuple[int, ...], baseline: str | None,
                task: str, **extras: Any) -> DataInfo:
    """DataInfo of a "paired" source: target ``shape``; ``extras`` say the input shape, the trivial
    baseline (None: none fits) and the task, as :mod:`ganzoo.data.paired` describes."""
    return DataInfo(name=name, kind="paired", shape=tuple(shape),
                    extras={"input_shape": list(input_shape), "baseline": baseline, "task": task, **extras})


def match_names(folder: Path, a: list[Path], b: list[Path]) -> list[tuple[Path, Path]]:
    """A and B files paired by name without extension; any name on one side only is an error."""
    by_a = {p.relative_to(folder / "A").with_suffix("").as_posix(): p for p in a}
    by_b = {p.relative_to(folder / "B").with_suffix("").as_posix(): p for p in b}
    only_a, only_b = sorted(set(by_a) - set(by_b)), sorted(set(by_b) - set(by_a))
    if only_a or only_b:
        side = f"{len(only_a)} only in A/ (e.g. '{only_a[0]}')" if only_a else ""
        other = f"{len(only_b)} only in B/ (e.g. '{only_b[0]}')" if only_b else ""
        raise DataError(f"paired folders {folder}/A and {folder}/B do not match: "
                        f"{', '.join(s for s in (side, other) if s)}; every input needs a target of the "
                        f"same name")
    return [(by_a[k], by_b[k]) for k in sorted(by_a)]


def check_side_by_side(files: list[Path]) -> tuple[str, int, int]:
    """(mode, height, width of one half) of side-by-side files; an odd or unequal width is an error."""
    first = None
    for f in files:
        mode, h, w = peek_mode_size(f)
        if w % 2:
            raise DataError(f"image {f} is {w} px wide: a side-by-side A|B image needs an even width "
                            f"(A the left half, B the right); fix the file or use A/ and B/ folders")
        first = first or (mode, h, w // 2)
    assert first is not None
    return first


class PairedFiles:
    """Pairs of images decoded on demand: items ``{"x": input, "y": target}``. Each pair is
    ``(path_a, path_b)``, or ``(path, None)`` for a side-by-side image."""

    def __init__(self, pairs: Sequence[tuple[Path, Path | None]], pipeline: Any, modes: tuple[str, str],
                 shapes: tuple[tuple[int, ...], tuple[int, ...]], a_is_input: bool, seed: int = 0) -> None:
        self.pairs, self.pipeline, self.modes, self.shapes = list(pairs), pipeline, modes, shapes
        self.a_is_input, self.seed, self.epoch = a_is_input, seed, 0

    def __len__(self) -> int:
        return len(self.pairs)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _halves(self, index: int) -> tuple[Any, Any]:
        from .images import decode

        a_path, b_path = self.pairs[index]
        if b_path is not None:
            return decode(a_path, self.modes[0]), decode(b_path, self.modes[1])
        img = decode(a_path, self.modes[0])
        if img.width % 2:
            raise DataError(f"image {a_path} is {img.width} px wide: a side-by-side A|B image needs an even width")
        half = img.width // 2
        return img.crop((0, 0, half, img.height)), img.crop((half, 0, img.width, img.height))

    def _one(self, index: int, seed: int) -> tuple[Any, Any]:
        """(input, target) of pair ``index``, both transformed with the same random draws."""
        import torch

        from .transforms import pil_to_tensor

        out = []
        for img, shape in zip(self._halves(index), self.shapes):
            g = torch.Generator().manual_seed(seed) if self.pipeline.random else None
            x = self.pipeline.apply_pil(img, g)
            x = pil_to_tensor(x) if not isinstance(x, torch.Tensor) else x
            if tuple(x.shape) != tuple(shape):
                raise DataError(f"pair {self.pairs[index][0]} comes out {tuple(x.shape)}, expected "
                                f"{tuple(shape)}; set data.image_size so all images get one size")
            out.append(x)
        a, b = out
        return (a, b) if self.a_is_input else (b, a)

    def get_seeded(self, indices: Sequence[int], seeds: Sequence[int]) -> Any:
        from .batched import CollatedBatch
        from .datasets import assemble, one_thread

        with one_thread():
            items = [self._one(int(i), int(s)) for i, s in zip(indices, seeds)]
            return CollatedBatch({"x": assemble([x for x, _ in items]), "y": assemble([y for _, y in items])})

    def __getitems__(self, indices: Sequence[int]) -> Any:
        from .transforms import item_seed

        return self.get_seeded(indices, [item_seed(self.seed, self.epoch, int(i)) for i in indices])

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        return self.__getitems__([index % len(self)])[0]


class PairedFolders(ImageSource):
    """Aligned image pairs (pix2pix); DataInfo.kind is "paired"."""

    Options = PairedFolderOptions
    default_folder = "paired"

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self._cache: dict[str, Any] = {}

    def root(self) -> Path:
        o = self.options
        if not o.root and o.dataset:
            from .catalog import default_root, get_entry

            return default_root(get_entry(o.dataset))
        return super().root()

    def _split_dir(self, split: str) -> Path:
        self.check_split(split)
        root = self.root()
        if self.options.download and not (root / "train").is_dir():
            if not self.options.dataset:
                raise DataError("data.download needs data.dataset, the name of a pix2pix set (see "
                                "'ganzoo data list')")
            from .catalog import fetch, get_entry

            fetch(get_entry(self.options.dataset), root)
        for name in (("train",) if split == "train" else ("test", "val")):
            if (root / name).is_dir():
                return root / name
        raise DataError(f"paired data folder {root / split} does not exist; expected {root}/train and "
                        f"{root}/test (or val), each of side-by-side A|B images or A/ and B/ folders")

    def _list(self, split: str) -> dict[str, Any]:
        """Pairs, decode modes and stored (C, H, W) of input and target for ``split``, cached."""
        if split in self._cache:
            return self._cache[split]
        folder = self._split_dir(split)
        layout = self.options.layout
        if layout == "auto":
            layout = "folders" if (folder / "A").is_dir() and (folder / "B").is_dir() else "side_by_side"
        rec = self.options.recursive
        if layout == "folders":
            pairs: list[tuple[Path, Path | None]] = list(match_names(
                folder, list_images(folder / "A", rec), list_images(folder / "B", rec)))
        else:
            pairs = [(p, None) for p in list_images(folder, rec)]
        if not pairs:
            raise DataError(f"paired data folder {folder} contains no images (looked for {_EXTS}); put "
                            f"side-by-side A|B images there, or A/ and B/ folders with matching names")
        pairs = pairs[:self.limited(len(pairs))]
        if layout == "folders":
            (ma, ha, wa), (mb, hb, wb) = peek_mode_size(pairs[0][0]), peek_mode_size(pairs[0][1])
        else:
            ma, ha, wa = mb, hb, wb = check_side_by_side([p for p, _ in pairs])
        pipe = self.pipeline()
        modes = (pipe.pil_mode(ma), pipe.pil_mode(mb))
        stored = tuple((1 if m == "L" else 3, h, w) for m, h, w in ((modes[0], ha, wa), (modes[1], hb, wb)))
        self._cache[split] = {"pairs": pairs, "modes": modes, "stored": stored}
        return self._cache[split]

    def _shapes(self, split: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Input and target (C, H, W) after the transforms."""
        pipe, stored = self.pipeline(), self._list(split)["stored"]
        a, b = (tuple(pipe.out_shape(s)) for s in stored)
        return (a, b) if self.options.direction == "AtoB" else (b, a)

    def info(self) -> DataInfo:
        x_shape, y_shape = self._shapes("train")
        if None in x_shape or None in y_shape:
            raise DataError(f"data '{self.options.name}': set data.image_size so every image has one size")
        baseline = "identity" if x_shape == y_shape else ("bicubic" if x_shape[0] == y_shape[0] else None)
        return paired_info(self.options.name, y_shape, x_shape, baseline, "translation",
                           root=str(self.root()), num_items=len(self._list("train")["pairs"]))

    def dataset(self, split: str = "train") -> Any:
        listing = self._list(split)
        a_first = self.options.direction == "AtoB"
        x_shape, y_shape = self._shapes(split)
        shapes = (x_shape, y_shape) if a_first else (y_shape, x_shape)
        return PairedFiles(listing["pairs"], self.pipeline(), listing["modes"], shapes, a_first)


class DomainItems:
    """A labelled image data set whose labels are domains: items ``{"x", "labels"}``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __len__(self) -> int:
        return len(self.inner)

    def set_epoch(self, epoch: int) -> None:
        self.inner.set_epoch(epoch)

    @staticmethod
    def _rename(batch: Any) -> Any:
        from .batched import CollatedBatch

        got = dict(batch.collated)
        return CollatedBatch({"x": got["x"], "labels": got["y"]})

    def get_seeded(self, indices: Sequence[int], seeds: Sequence[int]) -> Any:
        return self._rename(self.inner.get_seeded(indices, seeds))

    def __getitems__(self, indices: Sequence[int]) -> Any:
        return self._rename(self.inner.__getitems__(indices))

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        return self.__getitems__([index % len(self)])[0]


class MultiDomainFolder(ClassFolder):
    """``root/DOMAIN/*.jpg``: one sub-folder per domain; DataInfo.kind is "multi_domain"."""

    default_folder = "domains"
    member = "domain"

    def info(self) -> DataInfo:
        files, _, names, _, shape, _ = self._make("train")
        return self.make_info("multi_domain", shape, num_classes=len(names), class_names=names,
                              num_items=len(files), baseline="identity", task="translation")

    def dataset(self, split: str = "train") -> Any:
        return DomainItems(super().dataset(split))
