"""The data-source interface: what a ``data:`` block in a run config builds.

A data source is registered by name through the ``register_datasets`` hook. It validates its own
options (a :class:`DataOptions` subclass), describes itself with a :class:`DataInfo` (kind, shape,
classes) that flows into the variant's config, and returns ``torch.utils.data.Dataset`` objects
whose items are dicts:

* ``{"x": tensor}`` for unlabelled data, ``{"x": tensor, "y": int64}`` for labelled data;
* ``{"a": tensor, "b": tensor}`` for unpaired two-domain data (CycleGAN).

Images are float32 ``(C, H, W)`` in [-1, 1]; 2-D points are float32 ``(2,)`` in data units.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


class DataOptions(BaseModel):
    """Base of every data source's options; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="registered data source name")


@dataclass(frozen=True)
class DataInfo:
    """What a variant needs to know about its data."""

    name: str
    kind: str                      # "points" | "images" | "unpaired"
    shape: tuple[int, ...]         # (2,) for points, (C, H, W) for images (each domain's, if unpaired)
    num_classes: int | None = None
    class_names: tuple[str, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def image_size(self) -> int:
        return self.shape[-1]


class DataSource(ABC):
    """A registered data set. Subclasses set ``Options`` and implement ``info`` and ``dataset``."""

    Options: ClassVar[type[DataOptions]] = DataOptions

    def __init__(self, options: DataOptions) -> None:
        self.options = options

    @abstractmethod
    def info(self) -> DataInfo:
        """Kind, shape and classes, cheap to compute (no full pass over the data)."""

    @abstractmethod
    def dataset(self, split: str = "train") -> Any:
        """A map-style ``torch.utils.data.Dataset`` of item dicts for ``split`` ("train"/"test")."""
