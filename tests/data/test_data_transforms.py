"""Transforms against independent computations (torch.flip, slicing, Pillow, F.interpolate)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ganzoo.data.transforms import (TransformError, build_transforms, item_generator, item_seed,
                                    pil_to_tensor, to_signed_unit)


def _img(h: int = 12, w: int = 17, c: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, c) if c == 3 else (h, w), dtype=np.uint8)


def _chw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a.copy()).permute(2, 0, 1) if a.ndim == 3 else torch.from_numpy(a.copy())[None]


def _pil_out(pipe, arr, g=None) -> torch.Tensor:
    out = pipe.apply_pil(Image.fromarray(arr), g)
    return out if isinstance(out, torch.Tensor) else pil_to_tensor(out)


def test_hflip_matches_torch_flip_on_both_paths():
    arr = _img()
    t = _chw(arr)
    always, never = build_transforms([{"hflip": 1.0}]), build_transforms([{"hflip": 0.0}])
    assert torch.equal(_pil_out(always, arr), torch.flip(t, dims=[-1]))
    assert torch.equal(always.apply_tensor(t), torch.flip(t, dims=[-1]))
    assert torch.equal(_pil_out(never, arr), t) and torch.equal(never.apply_tensor(t), t)


def test_hflip_probability():
    pipe = build_transforms([{"hflip": 0.3}])
    t = _chw(_img())
    flips = sum(not torch.equal(pipe.apply_tensor(t, item_generator(5, 0, i)), t) for i in range(2000))
    assert 0.25 < flips / 2000 < 0.35


def test_center_crop_matches_slicing():
    arr = _img(12, 17)
    t = _chw(arr)
    pipe = build_transforms([{"center_crop": [6, 9]}])
    top, left = (12 - 6) // 2, (17 - 9) // 2
    want = t[:, top:top + 6, left:left + 9]
    assert torch.equal(_pil_out(pipe, arr), want) and torch.equal(pipe.apply_tensor(t), want)


def test_random_crop_is_a_slice_and_both_paths_agree_for_one_seed():
    arr = _img(12, 17)
    t = _chw(arr)
    pipe = build_transforms([{"random_crop": 5}])
    seen = set()
    for i in range(40):
        a = _pil_out(pipe, arr, item_generator(1, 2, i))
        b = pipe.apply_tensor(t, item_generator(1, 2, i))
        assert torch.equal(a, b)
        hits = [(y, x) for y in range(12 - 5 + 1) for x in range(17 - 5 + 1)
                if torch.equal(t[:, y:y + 5, x:x + 5], a)]
        assert hits
        seen.add(hits[0])
    assert len(seen) > 10  # the offset really is random


def test_random_crop_too_large_says_to_resize():
    with pytest.raises(ValueError, match="larger 'resize'"):
        build_transforms([{"random_crop": 20}]).apply_tensor(_chw(_img(12, 17)), item_generator(0))


@pytest.mark.parametrize("size,mode,antialias", [
    (8, "bilinear", True), ([7, 11], "bilinear", False), (30, "bilinear", False),
    ([9, 5], "bicubic", True), (6, "bicubic", False), ([5, 8], "nearest", True)])
def test_resize_on_float_matches_interpolate(size, mode, antialias):
    t = torch.rand(3, 12, 17) * 255
    pipe = build_transforms([{"resize": {"size": size, "interpolation": mode, "antialias": antialias}}])
    out = pipe.apply_tensor(t)
    if isinstance(size, int):  # shorter side (12) to size, aspect kept
        hw = (size, int(size * 17 / 12))
    else:
        hw = tuple(size)
    assert out.shape == (3, *hw)
    if mode == "nearest":
        want = F.interpolate(t[None], size=hw, mode="nearest-exact")[0]
    else:
        want = F.interpolate(t[None], size=hw, mode=mode, align_corners=False, antialias=antialias)[0]
        if mode == "bicubic":
            want = want.clamp(0, 255)
    assert torch.allclose(out, want, atol=1e-4)


@pytest.mark.parametrize("size", [16, 40, [10, 30]])
def test_resize_of_decoded_images_agrees_with_pillow(size):
    """uint8 images are resized with torch's uint8 kernel; Pillow's bilinear resampling (an
    independent implementation) must agree to within a grey level or two."""
    arr = _img(33, 47, seed=4)
    out = _pil_out(build_transforms([{"resize": size}]), arr)
    th, tw = (size, int(size * 47 / 33)) if isinstance(size, int) else size
    assert out.dtype == torch.uint8 and out.shape == (3, th, tw)
    want = _chw(np.asarray(Image.fromarray(arr).resize((tw, th), Image.BILINEAR)))
    diff = (out.int() - want.int()).abs()
    assert diff.max() <= 2 and diff.float().mean() < 0.2


def test_grayscale_uses_pillow_luma_and_rgb_repeats():
    arr = _img()
    t = _chw(arr)
    gray = build_transforms(["grayscale"])
    want = _chw(np.asarray(Image.fromarray(arr).convert("L")))
    assert (gray.apply_tensor(t).int() - want.int()).abs().max() <= 1
    assert torch.equal(_pil_out(gray, arr), want)
    g = _chw(_img(c=1))
    rgb = build_transforms(["rgb"]).apply_tensor(g)
    assert rgb.shape == (3, 12, 17) and all(torch.equal(rgb[i], g[0]) for i in range(3))


def test_to_signed_unit():
    x = torch.tensor([0, 127, 128, 255], dtype=torch.uint8)
    assert torch.allclose(to_signed_unit(x), x.float() / 127.5 - 1)
    assert to_signed_unit(torch.tensor([-3.0, 300.0])).tolist() == [-1.0, 1.0]


def test_image_size_and_channels_shape():
    pipe = build_transforms([{"resize": 286}, {"random_crop": 256}, {"hflip": 0.5}], image_size=256, channels=1)
    assert pipe.out_shape((3, 300, 400)) == (1, 256, 256) and pipe.random
    assert build_transforms(None, image_size=64).out_shape((3, 100, 80)) == (3, 64, 64)
    fixed, rest = pipe.split_deterministic()
    assert len(fixed) == 2 and len(rest) == 4


@pytest.mark.parametrize("spec,match", [
    ([{"resise": 64}], "did you mean 'resize'"),
    ([{"hflip": 1.5}], r"hflip.*less than or equal to 1"),
    ([{"random_crop": 0}], "positive"),
    ([{"resize": {"size": 64, "interpolation": "lanczos"}}], "interpolation"),
    ([{"resize": 64, "hflip": 0.5}], "one-key mapping"),
    (["grayscale", {"rgb": 3}], r"transforms\[1\].*takes no value"),
])
def test_bad_specs_name_the_entry(spec, match):
    with pytest.raises(TransformError, match=match):
        build_transforms(spec)


def test_item_seeds_are_reproducible_and_distinct():
    assert item_seed(1, 2, 3) == item_seed(1, 2, 3)
    seeds = {item_seed(s, e, i) for s in range(3) for e in range(3) for i in range(50)}
    assert len(seeds) == 450
    pipe = build_transforms([{"random_crop": 8}, {"hflip": 0.5}])
    t = _chw(_img(20, 20))
    a = pipe.apply_tensor(t, item_generator(7, 1, 4))
    assert torch.equal(a, pipe.apply_tensor(t, item_generator(7, 1, 4)))
    assert any(not torch.equal(a, pipe.apply_tensor(t, item_generator(7, 2, 4))) for _ in range(1))
