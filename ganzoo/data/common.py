"""What the image formats share: their common options and a base data source.

Every format's options subclass :class:`ImageOptions` (``root``, ``image_size``, ``channels``,
``transforms``, ``limit``); file formats add ``skip_bad`` and ``jpeg_draft`` (:class:`FileOptions`),
standard sets add ``download``. The shape in :class:`~ganzoo.data.DataInfo` is the shape after
the transforms, so a variant builds its networks for what it will actually see.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ..errors import DataError
from .base import DataInfo, DataOptions, DataSource


class DataWarning(UserWarning):
    """Data that can be used but probably not as intended."""


class ImageOptions(DataOptions):
    root: str | None = Field(None, description="where the data lives (default: a folder under the "
                                               "data directory, $GANZOO_DATA)")
    image_size: int | None = Field(None, ge=1, description="resize the shorter side and centre-crop "
                                                          "to a square of this size")
    channels: Literal[1, 3] | None = Field(None, description="1: grayscale, 3: RGB (default: as stored)")
    transforms: list[Any] | None = Field(None, description="e.g. [{resize: 286}, {random_crop: 256}, "
                                                           "{hflip: 0.5}]")
    limit: int | None = Field(None, ge=1, description="use only the first N items")

    @field_validator("transforms", mode="before")
    @classmethod
    def _check_transforms(cls, v: Any) -> Any:
        from .transforms import validate_spec

        return validate_spec(v)


class FileOptions(ImageOptions):
    skip_bad: bool = Field(False, description="skip unreadable images (counted) instead of failing")
    jpeg_draft: bool = Field(True, description="let the JPEG decoder shrink by 1/2, 1/4 or 1/8 when "
                                               "the first resize allows (faster; pixels differ slightly)")
    recursive: bool = Field(False, description="also look for images in sub-folders")


class ImageSource(DataSource):
    """Base for the image formats: root resolution and the transform pipeline."""

    Options = ImageOptions
    #: folder under the data directory used when ``root`` is not set
    default_folder: str = "images"

    def root(self) -> Path:
        opts = self.options
        if getattr(opts, "root", None):
            return Path(opts.root).expanduser()
        from ..download import data_dir

        return data_dir() / self.default_folder

    def pipeline(self) -> Any:
        from .transforms import TransformError, build_transforms

        o = self.options
        try:
            return build_transforms(o.transforms, image_size=o.image_size, channels=o.channels)
        except TransformError as exc:  # already validated; kept for options built without validation
            raise DataError(str(exc)) from None

    def make_info(self, kind: str, source_shape: tuple[int, int, int], *, num_classes: int | None = None,
                  class_names: tuple[str, ...] = (), **extras: Any) -> DataInfo:
        shape = self.pipeline().out_shape(source_shape)
        if shape[1] is None or shape[2] is None:  # pragma: no cover - folders peek a real image
            raise DataError(f"data '{self.options.name}': set data.image_size so every image has one size")
        return DataInfo(name=self.options.name, kind=kind, shape=tuple(int(s) for s in shape),
                        num_classes=num_classes, class_names=tuple(class_names),
                        extras={"root": str(self.root()), **extras})

    def limited(self, n: int) -> int:
        limit = self.options.limit
        return n if limit is None else min(n, limit)

    def check_limit_keeps_classes(self, labels: Any, n: int, class_names: tuple[str, ...] = ()) -> None:
        """Warn when ``data.limit`` (keeping the first ``n`` of ``labels``) leaves a class without
        a single example: a conditional variant would still draw it, from untrained weights.
        A warning, not an error, since a limit is a quick experiment by design."""
        if self.options.limit is None or n >= len(labels):
            return
        every = set(map(int, labels))
        dropped = sorted(every - set(map(int, labels[:n])))
        if not dropped:
            return
        shown = [class_names[k] if k < len(class_names) else str(k) for k in dropped[:5]]
        more = f" and {len(dropped) - 5} more" if len(dropped) > 5 else ""
        warnings.warn(f"data.limit={self.options.limit} keeps no example of class(es) "
                      f"{', '.join(shown)}{more} (of {len(every)}); raise "
                      f"data.limit or leave it out to train on every class", DataWarning, stacklevel=2)

    @staticmethod
    def check_split(split: str, allowed: tuple[str, ...] = ("train", "test")) -> None:
        if split not in allowed:
            raise DataError(f"unknown split '{split}'; use one of: {', '.join(allowed)}")
