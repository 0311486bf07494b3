"""``two_domain``: unpaired two-domain images whose true A -> B translation is known.

A scene is (shape class, centre, size, hue), as in :mod:`ganzoo.data.shape_render`. Both domains
render scenes with the same geometry (same antialiased coverage), in two styles:

* domain A: foreground HSV(h, 0.85, 0.90) on a light grey background RGB (235, 235, 235);
* domain B: foreground HSV(h + 120 deg, 0.85, 0.90) on a dark grey background RGB (25, 25, 25).

At fixed saturation and value a hue rotation by +120 deg is exactly the channel roll
``(R, G, B) -> (B, R, G)``, and B's foreground is computed that way, so the true translation of an
A image is: background light -> dark, foreground channels rolled, same pixels covered; B -> A is
the inverse. Identity fails on every pixel (background) and on colour.

Identifiability: unpaired data pins a translation down only up to maps that carry one domain's
distribution onto the other. With hues uniform on the full circle, *every* hue rotation and every
channel swap would do, and a colour score would be arbitrary. So the scene hue of class k (of K)
is drawn from the band ``[360 k/K, 360 k/K + (2/3) 360/K)`` degrees: the only rotation that sends
each class's A band onto its B band is +120 deg, and no reflection (channel swap) fits more than
one class. The remaining ambiguity is geometric (e.g. mirroring the scene), which convolutional
generators do not learn.

Training items are ``{"a": A_i, "b": B_j}``: A and B scenes are independent draws (separate seed
streams) and ``j = perm[i]`` with a permutation fixed by the seed, so no item is a pair.
:meth:`TwoDomainDataset.ground_truth` / :func:`two_domain_ground_truth` give aligned truths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import DataError
from .batched import CollatedBatch, as_index, uint8_to_float
from .builtin_options import TwoDomainOptions
from .shape_render import CLASS_NAMES, Scenes, composite, hsv_to_rgb, render_coverage, sample_scenes
from .splits import split_code

STREAM_A, STREAM_B, STREAM_PERM = 301, 302, 303
SATURATION, VALUE = 0.85, 0.90
HUE_SHIFT = 120.0
BAND_FRACTION = 2.0 / 3.0
BACKGROUND = {"a": (235, 235, 235), "b": (25, 25, 25)}
#: B's foreground channels are A's taken in this order: (R, G, B) -> (B, R, G), i.e. hue + 120 deg
ROLL = [2, 0, 1]
DOMAINS = ("a", "b")


def scene_hue(scenes: Scenes, num_classes: int) -> np.ndarray:
    """Scene hue in degrees (= domain A's colour hue): a band per class, see the module docs."""
    width = 360.0 / num_classes
    return width * scenes.cls + BAND_FRACTION * width * scenes.u_hue


def colour_hue(scenes: Scenes, num_classes: int, domain: str) -> np.ndarray:
    """The foreground hue (degrees) of ``scenes`` rendered in ``domain``."""
    shift = HUE_SHIFT if domain == "b" else 0.0
    return (scene_hue(scenes, num_classes) + shift) % 360.0


def render_domain(scenes: Scenes, coverage: np.ndarray, domain: str, num_classes: int) -> np.ndarray:
    """uint8 ``(N, 3, H, W)``: ``scenes`` (with their ``coverage``) in the style of ``domain``."""
    fg = hsv_to_rgb(scene_hue(scenes, num_classes), SATURATION, VALUE) * 255.0
    if domain == "b":
        fg = fg[:, ROLL]
    elif domain != "a":
        raise ValueError(f"domain must be 'a' or 'b', not {domain!r}")
    return composite(coverage, fg, np.asarray(BACKGROUND[domain], dtype=np.float32))


class Task(NamedTuple):
    """One translation direction of a :class:`TwoDomainTruth`, as the scoring helpers need it."""

    inputs: torch.Tensor        # (N, 3, H, W) source-domain images in [-1, 1]
    targets: torch.Tensor       # (N, 3, H, W) their true translations
    target_domain: str          # "b" for a2b, "a" for b2a
    mask: torch.Tensor          # (N, H, W) bool, coverage >= 1/2 (inputs and targets share it)
    cls: torch.Tensor           # (N,) int64 shape class
    hue: torch.Tensor           # (N,) float64 foreground hue of the targets, degrees
    scenes: Scenes              # geometry, for drawing shape templates at the true pose
    num_classes: int


@dataclass(frozen=True)
class TwoDomainTruth:
    """Aligned ground truth of ``N`` A scenes and ``N`` (other) B scenes.

    ``a_to_b[i]`` is the true B translation of ``a[i]``; ``b_to_a[i]`` the true A translation of
    ``b[i]``. Images are float32 in [-1, 1]. ``mask_a`` is the foreground of ``a`` and ``a_to_b``
    (same geometry), ``mask_b`` of ``b`` and ``b_to_a``. Hues are the images' foreground hues in
    degrees: ``hue_a`` of ``a`` (``a_to_b`` has ``hue_a + 120``), ``hue_b`` of ``b`` (``b_to_a``
    has ``hue_b - 120``).
    """

    a: torch.Tensor
    a_to_b: torch.Tensor
    b: torch.Tensor
    b_to_a: torch.Tensor
    mask_a: torch.Tensor
    mask_b: torch.Tensor
    class_a: torch.Tensor
    class_b: torch.Tensor
    hue_a: torch.Tensor
    hue_b: torch.Tensor
    scenes_a: Scenes
    scenes_b: Scenes
    num_classes: int

    def __len__(self) -> int:
        return self.a.shape[0]

    def task(self, direction: str) -> Task:
        """``"a2b"`` or ``"b2a"``: inputs, true outputs and what the scores compare against."""
        if direction == "a2b":
            return Task(self.a, self.a_to_b, "b", self.mask_a, self.class_a,
                        (self.hue_a + HUE_SHIFT) % 360.0, self.scenes_a, self.num_classes)
        if direction == "b2a":
            return Task(self.b, self.b_to_a, "a", self.mask_b, self.class_b,
                        (self.hue_b - HUE_SHIFT) % 360.0, self.scenes_b, self.num_classes)
        raise ValueError(f"direction must be 'a2b' or 'b2a', not {direction!r}")


def make_truth(scenes_a: Scenes, cov_a: np.ndarray, scenes_b: Scenes, cov_b: np.ndarray,
               num_classes: int) -> TwoDomainTruth:
    """Render both styles of both scene sets into a :class:`TwoDomainTruth`."""
    def img(scenes: Scenes, cov: np.ndarray, domain: str) -> torch.Tensor:
        return uint8_to_float(torch.from_numpy(render_domain(scenes, cov, domain, num_classes)))

    return TwoDomainTruth(
        a=img(scenes_a, cov_a, "a"), a_to_b=img(scenes_a, cov_a, "b"),
        b=img(scenes_b, cov_b, "b"), b_to_a=img(scenes_b, cov_b, "a"),
        mask_a=torch.from_numpy(cov_a >= 128), mask_b=torch.from_numpy(cov_b >= 128),
        class_a=torch.from_numpy(scenes_a.cls.copy()), class_b=torch.from_numpy(scenes_b.cls.copy()),
        hue_a=torch.from_numpy(colour_hue(scenes_a, num_classes, "a")),
        hue_b=torch.from_numpy(colour_hue(scenes_b, num_classes, "b")),
        scenes_a=scenes_a, scenes_b=scenes_b, num_classes=num_classes)


class TwoDomainDataset(Dataset):
    """Unpaired items ``{"a": A_i, "b": B_perm[i]}`` of ``size`` A and ``size`` B scenes."""

    def __init__(self, size: int, image_size: int = 32, num_classes: int = 5, seed: int = 0,
                 split: str = "train") -> None:
        code = split_code(split, "two_domain")
        self.image_size, self.num_classes = image_size, num_classes
        self.class_names = CLASS_NAMES[:num_classes]
        self.scenes_a = sample_scenes(seed, STREAM_A, code, size, num_classes)
        self.scenes_b = sample_scenes(seed, STREAM_B, code, size, num_classes)
        self.coverage_a = render_coverage(self.scenes_a, image_size)
        self.coverage_b = render_coverage(self.scenes_b, image_size)
        self.images_a = torch.from_numpy(render_domain(self.scenes_a, self.coverage_a, "a", num_classes))
        self.images_b = torch.from_numpy(render_domain(self.scenes_b, self.coverage_b, "b", num_classes))
        perm = np.random.default_rng([seed, STREAM_PERM, code]).permutation(size)
        self.perm = torch.from_numpy(perm.astype(np.int64))

    def __len__(self) -> int:
        return self.images_a.shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"a": uint8_to_float(self.images_a[index]),
                "b": uint8_to_float(self.images_b[self.perm[index]])}

    def __getitems__(self, indices: Any) -> CollatedBatch:
        idx = as_index(indices)
        return CollatedBatch({"a": uint8_to_float(self.images_a.index_select(0, idx)),
                              "b": uint8_to_float(self.images_b.index_select(0, self.perm[idx]))})

    def ground_truth(self, n: int | None = None) -> TwoDomainTruth:
        """Aligned truths for the first ``n`` A scenes and the first ``n`` B scenes (all if None)."""
        n = len(self) if n is None else n
        if not 1 <= n <= len(self):
            raise DataError(f"two_domain ground truth: n={n} is out of range; use 1..{len(self)}")
        return make_truth(self.scenes_a.take(slice(0, n)), self.coverage_a[:n],
                          self.scenes_b.take(slice(0, n)), self.coverage_b[:n], self.num_classes)


def two_domain_ground_truth(options: Any = None, split: str = "test", n: int | None = None) -> TwoDomainTruth:
    """Ground truth of ``split`` for two_domain ``options`` (its Options, a dict, or None for
    defaults), rendering only the first ``n`` scenes of each domain (whole split if None).

    The scenes are those of ``TwoDomain(options).dataset(split)``: item scenes depend only on seed,
    split and index.
    """
    if options is None:
        options = TwoDomainOptions(name="two_domain")
    elif isinstance(options, Mapping):
        options = TwoDomainOptions.model_validate({"name": "two_domain", **options})
    code = split_code(split, "two_domain")
    total = options.size if split == "train" else options.test_size
    n = total if n is None else n
    if not 1 <= n <= total:
        raise DataError(f"two_domain ground truth: n={n} is out of range for split '{split}'; "
                        f"use 1..{total}")
    k = options.num_classes
    scenes_a = sample_scenes(options.seed, STREAM_A, code, n, k)
    scenes_b = sample_scenes(options.seed, STREAM_B, code, n, k)
    return make_truth(scenes_a, render_coverage(scenes_a, options.image_size),
                      scenes_b, render_coverage(scenes_b, options.image_size), k)
