"""The options of the built-in data sets, kept apart from the sources that use them.

The set implementations (e.g. :mod:`ganzoo.data.two_domain`) need these option models too; here
they import them without importing the plugin module :mod:`ganzoo.data.builtin`, which imports
them in turn (an import cycle otherwise). Only pydantic is imported.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import DataOptions

MAX_SIZE = 10_000_000


class PointsOptions(DataOptions):
    """Options shared by the 2-D sets."""

    size: int = Field(100_000, ge=1, le=MAX_SIZE,
                      description="points in the fixed training set (PacGAN's epoch is 100k)")
    test_size: int | None = Field(None, ge=1, le=MAX_SIZE,
                                  description="points in the test split (default: size)")
    seed: int = Field(0, ge=0, description="data seed")


class MixtureOptions(PointsOptions):
    preset: Literal["pacgan", "wgangp"] = Field(
        "pacgan", description="pacgan: as PacGAN/VEEGAN; wgangp: WGAN-GP's scaled toy version")


class ShapesOptions(DataOptions):
    image_size: int = Field(32, ge=16, le=128, description="image side in pixels")
    channels: Literal[1, 3] = Field(3, description="3: RGB; 1: luma of the RGB image")
    num_classes: int = Field(5, ge=2, le=5,
                             description="use the first N of circle, square, triangle, plus, ring")
    size: int = Field(10_000, ge=1, le=1_000_000, description="images in the training set")
    test_size: int | None = Field(None, ge=1, le=1_000_000,
                                  description="images in the test split (default: size)")
    seed: int = Field(0, ge=0, description="data seed")


class TwoDomainOptions(DataOptions):
    image_size: int = Field(32, ge=16, le=128, description="image side in pixels")
    num_classes: int = Field(5, ge=2, le=5,
                             description="use the first N of circle, square, triangle, plus, ring")
    size: int = Field(10_000, ge=1, le=1_000_000, description="scenes per domain in the training set")
    test_size: int = Field(1_000, ge=1, le=1_000_000, description="scenes per domain in the test split")
    seed: int = Field(0, ge=0, description="data seed")
