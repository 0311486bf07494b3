"""Image transforms without torchvision: resize, crops, flips and channel conversion.

A pipeline is built from a YAML list such as ``[{resize: 286}, {random_crop: 256}, {hflip: 0.5}]``
and validated with pydantic. Ops work on ``(C, H, W)`` tensors; most also on Pillow images, and a
decoded file stays a Pillow image until the first op without a Pillow form (resize).

Random ops draw only from the ``torch.Generator`` they are handed; the loader seeds one per item
from ``(seed, epoch, index)`` (see :func:`item_seed`), so batches do not depend on the number of
workers and a resumed run sees the same augmentations as an uninterrupted one.

Pixels stay uint8 (as decoded) through the ops; float arrays stay float. The final step to
float32 in [-1, 1] is not an op: every data set applies it (see
:func:`to_signed_unit`), once per batch where it can.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any, Literal, Union

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Size = Union[int, tuple[int, int]]
Shape = tuple[int, "int | None", "int | None"]  # (C, H, W); H and W None when they vary per image

_MASK63 = (1 << 63) - 1


def item_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed for one item of one epoch, well mixed so neighbours are unrelated."""
    digest = hashlib.blake2b(struct.pack("<qqq", seed & _MASK63, epoch, index), digest_size=8).digest()
    return int.from_bytes(digest, "little") & _MASK63


def item_generator(seed: int, epoch: int = 0, index: int = 0) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with :func:`item_seed`."""
    return torch.Generator().manual_seed(item_seed(seed, epoch, index))


def to_signed_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 (or float in 0..255) images to float32 in [-1, 1]."""
    if x.dtype == torch.uint8:
        return x.to(torch.float32).div_(127.5).sub_(1.0)
    return x.to(torch.float32).div(127.5).sub_(1.0).clamp_(-1.0, 1.0)


# ----------------------------------------------------------------------------------------------
# the ops


class Op:
    """One transform. ``pil`` may be None when the op has no Pillow form (then tensors are used)."""

    random: bool = False
    has_pil: bool = True

    def out_shape(self, shape: Shape) -> Shape:
        return shape

    def pil(self, img: Any, g: torch.Generator | None) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def tensor(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


def _pair(size: Size) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _short_side(h: int, w: int, size: int) -> tuple[int, int]:
    """(H, W) with the shorter side scaled to ``size`` and the aspect ratio kept."""
    if h <= w:
        return size, max(1, int(size * w / h))
    return max(1, int(size * h / w)), size


def _round_u8(y: torch.Tensor) -> torch.Tensor:
    return y.round_().clamp_(0.0, 255.0).to(torch.uint8)


class Resize(Op):
    """Resize: an int scales the shorter side (aspect kept), ``[h, w]`` resizes exactly.

    Runs on tensors only: torch's uint8 antialiased bilinear kernel is about twice as fast as
    Pillow's and agrees with it to within one grey level. uint8 in, uint8 out (rounded, as a
    decoded image would be); float in, float out.
    """

    has_pil = False

    def __init__(self, size: Size, interpolation: str = "bilinear", antialias: bool = True) -> None:
        self.size = size
        self.interpolation = interpolation
        self.antialias = antialias

    def target(self, h: int, w: int) -> tuple[int, int]:
        if isinstance(self.size, int):
            return _short_side(h, w, self.size)
        return _pair(self.size)

    def out_shape(self, shape: Shape) -> Shape:
        c, h, w = shape
        if not isinstance(self.size, int):
            return (c, *_pair(self.size))
        if h is None or w is None:
            return (c, None, None)
        return (c, *self.target(h, w))

    def tensor(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        h, w = x.shape[-2:]
        th, tw = self.target(h, w)
        if (th, tw) == (h, w):
            return x
        lead = x.shape[:-3]
        y = x.reshape(-1, *x.shape[-3:])
        u8 = x.dtype == torch.uint8
        # torch's uint8 kernels match float-then-round except bicubic without antialias
        native = u8 and (self.interpolation != "bicubic" or self.antialias)
        if not native:
            y = y.to(torch.float32)
        if self.interpolation == "nearest":
            y = F.interpolate(y, size=(th, tw), mode="nearest-exact")
        else:
            y = F.interpolate(y, size=(th, tw), mode=self.interpolation, align_corners=False,
                              antialias=self.antialias)
            if self.interpolation == "bicubic" and not native:
                y = y.clamp_(0.0, 255.0)
        if u8 and not native:
            y = _round_u8(y)
        return y.reshape(*lead, y.shape[-3], th, tw)


def _crop_check(h: int, w: int, th: int, tw: int, what: str) -> None:
    if th > h or tw > w:
        raise ValueError(f"{what} of {th}x{tw} does not fit an image of {h}x{w}; "
                         f"add a larger 'resize' before it")


class CenterCrop(Op):
    def __init__(self, size: Size) -> None:
        self.size = _pair(size)

    def out_shape(self, shape: Shape) -> Shape:
        return (shape[0], *self.size)

    def box(self, h: int, w: int) -> tuple[int, int]:
        th, tw = self.size
        _crop_check(h, w, th, tw, "center_crop")
        return (h - th) // 2, (w - tw) // 2

    def pil(self, img: Any, g: torch.Generator | None) -> Any:
        th, tw = self.size
        if (img.height, img.width) == (th, tw):
            return img
        top, left = self.box(img.height, img.width)
        return img.crop((left, top, left + tw, top + th))

    def tensor(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        th, tw = self.size
        top, left = self.box(x.shape[-2], x.shape[-1])
        return x[..., top:top + th, left:left + tw]


class RandomCrop(Op):
    random = True

    def __init__(self, size: Size) -> None:
        self.size = _pair(size)

    def out_shape(self, shape: Shape) -> Shape:
        return (shape[0], *self.size)

    def box(self, h: int, w: int, g: torch.Generator | None) -> tuple[int, int]:
        th, tw = self.size
        _crop_check(h, w, th, tw, "random_crop")
        top = int(torch.randint(0, h - th + 1, (1,), generator=g))
        left = int(torch.randint(0, w - tw + 1, (1,), generator=g))
        return top, left

    def pil(self, img: Any, g: torch.Generator | None) -> Any:
        th, tw = self.size
        top, left = self.box(img.height, img.width, g)
        if (img.height, img.width) == (th, tw):
            return img
        return img.crop((left, top, left + tw, top + th))

    def tensor(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        th, tw = self.size
        top, left = self.box(x.shape[-2], x.shape[-1], g)
        return x[..., top:top + th, left:left + tw]


class HFlip(Op):
    """Mirror left-right with probability ``p`` (one draw per item, whatever ``p``)."""

    random = True

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def _flip(self, g: torch.Generator | None) -> bool:
        return bool(torch.rand((), generator=g) < self.p)

    def pil(self, img: Any, g: torch.Generator | None) -> Any:
        return img.transpose(0) if self._flip(g) else img  # Image.Transpose.FLIP_LEFT_RIGHT

    def tensor(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        return x.flip(-1) if self._flip(g) else x


#: ITU-R 601-2 luma, the weights Pillow's convert("L") uses
LUMA = (0.299, 0.587, 0.114)


class Grayscale(Op):
    def out_shape(self, shape: Shape) -> Shape:
        return (1, shape[1], shape[2])

    def pil(self, img: Any, g: torch.Generator | None) -> Any:
        return img if img.mode == "L" else img.convert("L")

    def tensor(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        if x.shape[-3] == 1:
            return x
        w = torch.tensor(LUMA, dtype=torch.float32).view(3, 1, 1)
        y = (x[..., :3, :, :].to(torch.float32) * w).sum(-3, keepdim=True)
        return _round_u8(y) if x.dtype == torch.uint8 else y


class RGB(Op):
    def out_shape(self, shape: Shape) -> Shape:
        return (3, shape[1], shape[2])

    def pil(self, img: Any, g: torch.Generator | None) -> Any:
        return img if img.mode == "RGB" else img.convert("RGB")

    def tensor(self, x: torch.Tensor, g: torch.Generator | None) -> torch.Tensor:
        if x.shape[-3] == 3:
            return x
        if x.shape[-3] == 1:
            return x.expand(*x.shape[:-3], 3, *x.shape[-2:])
        return x[..., :3, :, :]


# ----------------------------------------------------------------------------------------------
# YAML specs, validated with pydantic


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _size_ok(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise ValueError("a size is an int or [height, width]")
        v = tuple(v)
        if any(int(s) < 1 for s in v):
            raise ValueError("sizes must be positive")
    elif isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError("a size is a positive int or [height, width]")
    return v


class ResizeSpec(_Spec):
    size: Size = Field(description="int: shorter side (aspect kept); [h, w]: exact")
    interpolation: Literal["nearest", "bilinear", "bicubic"] = "bilinear"
    antialias: bool = Field(True, description="low-pass filter when shrinking (Pillow always does)")

    @field_validator("size", mode="before")
    @classmethod
    def _check_size(cls, v: Any) -> Any:
        return _size_ok(v)

    def build(self) -> Op:
        return Resize(self.size, self.interpolation, self.antialias)


class CropSpec(_Spec):
    size: Size

    @field_validator("size", mode="before")
    @classmethod
    def _check_size(cls, v: Any) -> Any:
        return _size_ok(v)


class CenterCropSpec(CropSpec):
    def build(self) -> Op:
        return CenterCrop(self.size)


class RandomCropSpec(CropSpec):
    def build(self) -> Op:
        return RandomCrop(self.size)


class HFlipSpec(_Spec):
    p: float = Field(0.5, ge=0.0, le=1.0, description="probability of a flip")

    def build(self) -> Op:
        return HFlip(self.p)


class GrayscaleSpec(_Spec):
    def build(self) -> Op:
        return Grayscale()


class RGBSpec(_Spec):
    def build(self) -> Op:
        return RGB()


#: name -> (spec model, name of the field a bare value fills)
TRANSFORMS: dict[str, tuple[type[_Spec], str | None]] = {
    "resize": (ResizeSpec, "size"),
    "center_crop": (CenterCropSpec, "size"),
    "random_crop": (RandomCropSpec, "size"),
    "hflip": (HFlipSpec, "p"),
    "grayscale": (GrayscaleSpec, None),
    "rgb": (RGBSpec, None),
}


class TransformError(ValueError):
    """A transform list that cannot be built; the message names the entry."""


def parse_transform(entry: Any, where: str = "transforms[0]") -> Op:
    """One op from a YAML entry: ``"hflip"``, ``{hflip: 0.5}`` or ``{resize: {size: 64, ...}}``."""
    from ..plugins import suggest

    if isinstance(entry, str):
        name, value = entry, None
    elif isinstance(entry, dict) and len(entry) == 1:
        name, value = next(iter(entry.items()))
    else:
        raise TransformError(f"{where}: a transform is a name or a one-key mapping such as "
                             f"{{resize: 64}}, got {entry!r}")
    if name not in TRANSFORMS:
        raise TransformError(f"{where}: unknown transform '{name}'{suggest(str(name), list(TRANSFORMS))}; "
                             f"known: {', '.join(TRANSFORMS)}")
    model, bare = TRANSFORMS[name]
    if value is None or value is True:
        kwargs: dict[str, Any] = {}
    elif isinstance(value, dict):
        kwargs = value
    elif bare is not None:
        kwargs = {bare: value}
    else:
        raise TransformError(f"{where}: '{name}' takes no value, write just '{name}'")
    try:
        spec = model.model_validate(kwargs)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or name}: {e['msg']}"
                             for e in exc.errors())
        raise TransformError(f"{where} ({name}): {problems}") from None
    return spec.build()


class Pipeline:
    """A sequence of ops with its output shape, Pillow/tensor split and randomness."""

    def __init__(self, ops: list[Op]) -> None:
        self.ops = list(ops)
        # ops[:pil_count] run on Pillow images, the rest on tensors
        self.pil_count = next((i for i, op in enumerate(self.ops) if not op.has_pil), len(self.ops))
        #: True when some op draws from the item's generator
        self.random = any(op.random for op in self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def out_shape(self, shape: Shape) -> Shape:
        for op in self.ops:
            shape = op.out_shape(shape)
        return shape

    def pil_mode(self, src_mode: str) -> str:
        """The Pillow mode to decode to: the last channel op among the Pillow ops decides."""
        mode = "L" if src_mode in ("L", "1", "I", "I;16", "F", "LA") else "RGB"
        for op in self.ops[:self.pil_count]:
            if isinstance(op, Grayscale):
                mode = "L"
            elif isinstance(op, RGB):
                mode = "RGB"
        return mode

    def draft_size(self) -> tuple[int, int] | None:
        """(width, height) the JPEG decoder may shrink to (DCT scaling) without changing the
        output size: when the first geometric op is a resize and the output size is fixed (a
        shrunk image can round one side differently). Pillow's draft keeps each side at least as
        large as asked, so a shorter-side resize to s asks for (s, s)."""
        if self.out_shape((3, None, None))[1] is None:
            return None
        for op in self.ops:
            if isinstance(op, (Grayscale, RGB)):
                continue
            if isinstance(op, Resize) and op.interpolation != "nearest":
                h, w = _pair(op.size)
                return (w, h)
            return None
        return None

    def split_deterministic(self) -> tuple["Pipeline", "Pipeline"]:
        """(leading ops without randomness, the rest): the first part can be applied once."""
        k = next((i for i, op in enumerate(self.ops) if op.random), len(self.ops))
        return Pipeline(self.ops[:k]), Pipeline(self.ops[k:])

    def apply_pil(self, img: Any, g: torch.Generator | None = None) -> Any:
        """Run the ops on a Pillow image; returns a Pillow image, or a tensor (C, H, W) when
        some op has no Pillow form."""
        for op in self.ops[:self.pil_count]:
            img = op.pil(img, g)
        if self.pil_count == len(self.ops):
            return img
        return self.apply_tensor(pil_to_tensor(img), g, start=self.pil_count)

    def apply_tensor(self, x: torch.Tensor, g: torch.Generator | None = None, start: int = 0) -> torch.Tensor:
        """Run the ops on a (C, H, W) uint8 or float (0..255) tensor; deterministic ops also take
        a batch (N, C, H, W)."""
        for op in self.ops[start:]:
            x = op.tensor(x, g)
        return x


def pil_to_tensor(img: Any) -> torch.Tensor:
    """A Pillow L/RGB image as a uint8 (C, H, W) tensor (a channels-last view, which is what
    torch's fast uint8 resize wants)."""
    import numpy as np

    arr = np.array(img)  # a writable copy: torch warns about read-only buffers
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return torch.from_numpy(arr).permute(2, 0, 1)


def build_transforms(spec: list[Any] | None = None, *, image_size: int | None = None,
                     channels: int | None = None) -> Pipeline:
    """The pipeline for a data source: a channel conversion (``channels``), the user's list,
    then, with ``image_size``, a resize of the shorter side and a centre crop to a square."""
    ops: list[Op] = []
    if channels == 1:
        ops.append(Grayscale())
    elif channels == 3:
        ops.append(RGB())
    elif channels is not None:
        raise TransformError(f"channels must be 1 or 3, got {channels}")
    for i, entry in enumerate(spec or []):
        ops.append(parse_transform(entry, f"transforms[{i}]"))
    if image_size is not None:
        ops.append(Resize(image_size))
        ops.append(CenterCrop(image_size))
    return Pipeline(ops)


def validate_spec(spec: list[Any] | None) -> list[Any] | None:
    """Check a YAML transform list (for pydantic validators); raises ValueError with the entry."""
    if spec is None:
        return None
    if not isinstance(spec, list):
        raise ValueError("transforms is a list, e.g. [{resize: 286}, {random_crop: 256}, {hflip: 0.5}]")
    for i, entry in enumerate(spec):
        parse_transform(entry, f"transforms[{i}]")
    return spec
