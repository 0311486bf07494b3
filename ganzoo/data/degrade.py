"""Paired data made on the fly from ANY image source: super-resolution and inpainting.

=================  ======  ==================================================================
name               kind    what
=================  ======  ==================================================================
``sr_pairs``       paired  ``x``: the image down-sampled ``lr_scale`` times, ``y``: the image
``inpaint_masks``  paired  ``x``: the image with a hole, ``mask``: the hole, ``y``: the image
=================  ======  ==================================================================

Both wrap another data source named by ``source:``, a complete ``data:`` block of its own
(validated by that source's schema), so every image set ganzoo reads (built-in, folders, MNIST,
CIFAR, npz, a plugin's) becomes a super-resolution or inpainting task without a new format::

    data: {name: sr_pairs, lr_scale: 4, source: {name: image_folder, root: photos, image_size: 128}}

The default source is the built-in ``shapes`` set at 32 px, so ``{name: sr_pairs}`` alone is a
task whose right answer is known exactly (the full-resolution shape), as is ``{name:
inpaint_masks}`` (the shape behind the hole). The inner set's labels are dropped. Only pydantic
is imported here; the items (:mod:`ganzoo.data.degrade_items`) load torch on use.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from ..errors import DataError
from ..hookspecs import hookimpl
from .base import DataInfo, DataOptions, DataSource

DEFAULT_SOURCE = {"name": "shapes", "image_size": 32}
#: per split, so the test holes are not the training ones
SPLIT_STREAM = {"train": 0, "test": 1}


def validate_source(value: Any) -> dict[str, Any]:
    """The inner ``data:`` block, checked against its own source's schema (one-line errors).
    While plugins are still registering (a check of the defaults) the registry cannot be asked;
    the block is then checked when the source is built."""
    from pydantic import ValidationError

    from ..plugins import loaded_registry

    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        raise ValueError("source must be a data block with a name, e.g. {name: shapes, image_size: 32}")
    registry = loaded_registry()
    if registry is None:
        return dict(value)
    try:
        cls = registry.get("datasets", value["name"])
    except Exception as exc:
        raise ValueError(str(exc)) from None
    try:
        opts = cls.Options.model_validate(value)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise ValueError(f"unknown key '{where}' for source '{value['name']}'; valid keys: "
                             f"{', '.join(cls.Options.model_fields)}") from None
        got = err.get("input")
        shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
        raise ValueError(f"{where}: {err['msg'].removeprefix('Value error, ')}{shown}") from None
    return opts.model_dump(mode="json")


class WrappedOptions(DataOptions):
    """Options of a source that derives pairs from an inner image source."""

    source: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_SOURCE),
                                   description="the image source: a data block of its own (any "
                                               "registered set of single images)")

    @field_validator("source", mode="before")
    @classmethod
    def _check_source(cls, v: Any) -> dict[str, Any]:
        return validate_source(v)


class SRPairsOptions(WrappedOptions):
    lr_scale: int = Field(4, ge=2, le=16, description="down-sampling factor: the input is 1/lr_scale "
                                                      "of the image's side; it must divide the image size")
    method: Literal["bicubic", "bilinear", "area", "nearest"] = Field(
        "bicubic", description="how the low-resolution input is made from the image")
    antialias: bool = Field(True, description="low-pass before down-sampling (bicubic/bilinear), as "
                                              "MATLAB's imresize and Pillow do")
    quantize: bool = Field(True, description="round the input to 8 bits, as a stored image would be")

    @field_validator("lr_scale")
    @classmethod
    def _scale_divides(cls, v: int, info: ValidationInfo) -> int:
        size = (info.data.get("source") or {}).get("image_size")
        if isinstance(size, int) and size % v:
            raise ValueError(f"{v} does not divide source.image_size {size}; pick a scale that "
                             f"divides it (e.g. {divisor_hint(size)}) or change the image size")
        return v


class InpaintOptions(WrappedOptions):
    seed: int = Field(0, ge=0, description="seed of the test split's holes (training holes follow the run's seed)")
    mask: Literal["centre", "boxes", "free_form"] = Field(
        "centre", description="centre: one square in the middle (Pathak et al.); boxes: random "
                              "rectangles; free_form: random thick strokes")
    hole: float = Field(0.5, gt=0, le=1, description="centre: side of the square; boxes: largest box "
                                                     "side; free_form: stroke length (fractions of the side)")
    num_boxes: int = Field(2, ge=1, le=16, description="boxes per image (mask: boxes)")
    num_strokes: int = Field(4, ge=1, le=32, description="strokes per image (mask: free_form)")
    stroke_width: float = Field(0.1, gt=0, le=0.5, description="stroke width as a fraction of the side")


def divisor_hint(size: int) -> str:
    found = [str(k) for k in (2, 3, 4, 8) if size % k == 0]
    return " or ".join(found) if found else "resize the images so a scale divides them"


class _Wrapped(DataSource):
    """Builds the inner source once; checks it gives single images."""

    task = ""
    baseline = ""

    def __init__(self, options: WrappedOptions) -> None:
        super().__init__(options)
        from ..plugins import get_registry

        inner = options.source
        cls = get_registry().get("datasets", inner["name"])
        self.inner = cls(cls.Options.model_validate(inner))

    def inner_shape(self) -> tuple[int, int, int]:
        info = self.inner.info()
        if info.kind != "images":
            raise DataError(f"data '{self.options.name}': source '{info.name}' is {info.kind} data; "
                            f"source must be a set of single images (e.g. shapes, image_folder)")
        return tuple(int(s) for s in info.shape)  # type: ignore[return-value]

    def input_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        return shape

    def info(self) -> DataInfo:
        shape = self.inner_shape()
        extras = {"input_shape": list(self.input_shape(shape)), "baseline": self.baseline,
                  "task": self.task, "source": self.options.source["name"]}
        return DataInfo(name=self.options.name, kind="paired", shape=shape, extras=extras)


class SRPairs(_Wrapped):
    """Low-resolution input -> full image (see the module docs)."""

    Options = SRPairsOptions
    task = "super_resolution"
    baseline = "bicubic"

    def input_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        c, h, w = shape
        s = self.options.lr_scale
        if h % s or w % s:
            raise DataError(f"data.lr_scale {s} does not divide the image size {h}x{w} of source "
                            f"'{self.inner.options.name}'; pick a scale that divides it (e.g. "
                            f"{divisor_hint(h)}) or set the source's image_size")
        return c, h // s, w // s

    def dataset(self, split: str = "train") -> Any:
        from .degrade_items import SRPairsDataset

        self.info()  # refuses a scale that does not divide the size before anything is made
        o = self.options
        return SRPairsDataset(self.inner.dataset(split), o.lr_scale, o.method, o.antialias, o.quantize)


class InpaintMasks(_Wrapped):
    """Image with a hole (and the hole's mask) -> full image (see the module docs)."""

    Options = InpaintOptions
    task = "inpainting"
    baseline = "mean_fill"

    def split_seed(self, split: str) -> int:
        """The seed of ``split``'s fixed holes (``dataset[i]``, evaluation)."""
        from .transforms import item_seed

        return item_seed(self.options.seed, SPLIT_STREAM.get(split, 2), -17)

    def dataset(self, split: str = "train") -> Any:
        from .degrade_items import InpaintDataset, MaskSpec

        self.info()
        o = self.options
        spec = MaskSpec(o.mask, o.hole, o.num_boxes, o.num_strokes, o.stroke_width)
        return InpaintDataset(self.inner.dataset(split), spec, self.split_seed(split))


@hookimpl
def register_datasets(register: Any) -> None:
    register("sr_pairs", SRPairs)
    register("inpaint_masks", InpaintMasks)
