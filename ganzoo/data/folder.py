"""Folders of image files: ``image_folder`` (flat, unlabelled) and ``class_folder`` (one
sub-folder per class, labels from the sorted folder names)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from ..errors import DataError
from .base import DataInfo
from .common import FileOptions, ImageSource
from .images import IMAGE_EXTENSIONS, BadImage, header_ok, list_images, peek_mode_size

_EXTS = ", ".join(sorted(IMAGE_EXTENSIONS))


def scan(files: list[Path], skip_bad: bool) -> tuple[list[Path], list[Path]]:
    """(usable files, skipped files): with ``skip_bad``, files whose header Pillow cannot parse
    are set aside now (cheap); damage deeper in a file is caught when it is decoded."""
    if not skip_bad:
        return files, []
    good, bad = [], []
    for f in files:
        (good if header_ok(f) else bad).append(f)
    return good, bad


def source_shape(files: list[Path], pipeline: Any, skip_bad: bool) -> tuple[tuple[int, int, int], str]:
    """((C, H, W) of the stored images, decode mode) from the first readable file's header."""
    for f in files:
        try:
            mode, h, w = peek_mode_size(f)
        except BadImage:
            if skip_bad:
                continue
            raise
        decode_mode = pipeline.pil_mode(mode)
        return (1 if decode_mode == "L" else 3, h, w), decode_mode
    raise DataError(f"no readable image among the {len(files)} files starting with {files[0]}")


class FolderOptions(FileOptions):
    test_root: str | None = Field(None, description="folder of the test split (default: none)")


class ImageFolder(ImageSource):
    """A flat folder of images (any of the usual extensions, any case); items ``{"x"}``."""

    Options = FolderOptions
    default_folder = "images"

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self._cache: dict[str, Any] = {}

    def split_root(self, split: str) -> Path:
        self.check_split(split)
        if split == "train":
            return self.root()
        if not self.options.test_root:
            raise DataError(f"data '{self.options.name}' has no test split; set data.test_root to a "
                            f"folder laid out like {self.root()}")
        return Path(self.options.test_root).expanduser()

    def _list(self, split: str) -> tuple[list[Path], list[int] | None, tuple[str, ...], list[Path]]:
        """(files, labels or None, class names, skipped files) for ``split``, cached."""
        if split not in self._cache:
            root = self.split_root(split)
            if not root.is_dir():
                raise DataError(f"image folder {root} does not exist; create it and put images in it "
                                f"(or set data.root)")
            files = list_images(root, self.options.recursive)
            if not files:
                raise DataError(f"image folder {root} contains no images (looked for {_EXTS}"
                                f"{' in sub-folders too' if self.options.recursive else ''}); put images "
                                f"there or set data.root")
            files = files[:self.limited(len(files))]
            files, bad = scan(files, self.options.skip_bad)
            self._cache[split] = (files, None, (), bad)
        return self._cache[split]

    def _make(self, split: str) -> Any:
        files, labels, names, bad = self._list(split)
        if not files:
            raise DataError(f"no readable images in {self.split_root(split)}: all {len(bad)} were skipped")
        shape, mode = source_shape(files, self.pipeline(), self.options.skip_bad)
        return files, labels, names, bad, shape, mode

    def info(self) -> DataInfo:
        files, _, names, _, shape, _ = self._make("train")
        kw: dict[str, Any] = {"num_classes": len(names), "class_names": names} if names else {}
        return self.make_info("images", shape, num_items=len(files), **kw)

    def dataset(self, split: str = "train") -> Any:
        import torch

        from .datasets import FileImages

        files, labels, _, bad, shape, mode = self._make(split)
        pipeline = self.pipeline()
        y = torch.tensor(labels, dtype=torch.long) if labels is not None else None
        return FileImages(files, y, pipeline, pipeline.out_shape(shape), mode,
                          skip_bad=self.options.skip_bad, draft=self.options.jpeg_draft,
                          pre_skipped=bad)


class ClassFolder(ImageFolder):
    """``root/CLASS/*.jpg``: labels are the indices of the sorted class-folder names."""

    default_folder = "classes"
    #: what one sub-folder is, in messages ("domain" for multi-domain data)
    member = "class"

    def _list(self, split: str) -> tuple[list[Path], list[int] | None, tuple[str, ...], list[Path]]:
        if split not in self._cache:
            root = self.split_root(split)
            if not root.is_dir():
                raise DataError(f"{self.member} folder {root} does not exist; create it with one sub-folder "
                                f"of images per class (root/CLASS/image.jpg) or set data.root")
            classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
            if not classes:
                raise DataError(f"{self.member} folder {root} has no {self.member} sub-folders; expected "
                                f"{root}/CLASS/image.jpg, one sub-folder per class")
            if split != "train":
                train_classes = self._list("train")[2]
                if tuple(classes) != train_classes:
                    raise DataError(f"the classes in {root} ({', '.join(classes)}) differ from the "
                                    f"training classes ({', '.join(train_classes)})")
            files: list[Path] = []
            labels: list[int] = []
            for k, name in enumerate(classes):
                found = list_images(root / name, self.options.recursive)
                if not found:
                    raise DataError(f"{self.member} folder {root / name} contains no images (looked for "
                                    f"{_EXTS}); add images or remove the folder")
                files += found
                labels += [k] * len(found)
            n = self.limited(len(files))
            if split == "train":
                self.check_limit_keeps_classes(labels, n, tuple(classes))
            files, labels = files[:n], labels[:n]
            if self.options.skip_bad:
                ok = [header_ok(f) for f in files]
                bad = [f for f, g in zip(files, ok) if not g]
                files = [f for f, g in zip(files, ok) if g]
                labels = [lab for lab, g in zip(labels, ok) if g]
            else:
                bad = []
            self._cache[split] = (files, labels, tuple(classes), bad)
        return self._cache[split]
