"""Image-to-image data: the "paired" and "multi_domain" kinds (entry point ``paired_data``).

=======================  ============  =====================================================
name                     kind          what
=======================  ============  =====================================================
``shape_edges``          paired        coloured outline -> the filled shape (known answer)
``color_domains``        multi_domain  a shape in domain k's colour; truth in every colour
``paired_folders``       paired        pix2pix's side-by-side A|B images, or A/ + B/ folders
``multi_domain_folder``  multi_domain  one sub-folder of images per domain
``celeba_domains``       multi_domain  CelebA faces by one attribute group (hair colour)
=======================  ============  =====================================================

Paired items are ``{"x": input, "y": target}`` and their DataInfo says
``extras["input_shape"]``, ``extras["baseline"]`` (the trivial baseline ``ganzoo eval`` reports
next to the model, see :mod:`ganzoo.metrics.paired`) and ``extras["task"]``. Multi-domain items
are ``{"x": image, "labels": domain}``; DataInfo.num_classes counts the domains. Only pydantic is
imported here; the sets load numpy, torch and Pillow on use.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..hookspecs import hookimpl
from .base import DataInfo, DataOptions, DataSource


class ShapeEdgesOptions(DataOptions):
    image_size: int = Field(32, ge=16, le=128, description="image side in pixels")
    num_classes: int = Field(5, ge=1, le=5,
                             description="use the first N of circle, square, triangle, plus, ring")
    size: int = Field(4000, ge=1, le=1_000_000, description="pairs in the training set")
    test_size: int = Field(500, ge=1, le=1_000_000, description="pairs in the test split")
    seed: int = Field(0, ge=0, description="data seed")


class ColorDomainsOptions(ShapeEdgesOptions):
    num_domains: int = Field(4, ge=1, le=12, description="domains (colours: hues 360 k / N degrees)")


class ShapeEdges(DataSource):
    """pix2pix's built-in task: outline -> filled shape (see :mod:`ganzoo.data.paired_shapes`)."""

    Options = ShapeEdgesOptions

    def info(self) -> DataInfo:
        from .paired_folders import paired_info

        o = self.options
        shape = (3, o.image_size, o.image_size)
        return paired_info(o.name, shape, shape, "identity", "translation")

    def dataset(self, split: str = "train") -> Any:
        from .paired_shapes import ShapeEdgesDataset
        from .splits import split_code

        o = self.options
        code = split_code(split, o.name)
        return ShapeEdgesDataset(o.size if split == "train" else o.test_size, o.image_size,
                                 o.num_classes, o.seed, code)


class ColorDomains(DataSource):
    """StarGAN's built-in task: recolour a shape into any of N domains (test items carry the truth)."""

    Options = ColorDomainsOptions

    def info(self) -> DataInfo:
        o = self.options
        names = tuple(f"hue{round(360 * k / o.num_domains)}" for k in range(o.num_domains))
        return DataInfo(name=o.name, kind="multi_domain", shape=(3, o.image_size, o.image_size),
                        num_classes=o.num_domains, class_names=names,
                        extras={"baseline": "identity", "task": "translation"})

    def dataset(self, split: str = "train") -> Any:
        from .paired_shapes import ColorDomainsDataset
        from .splits import split_code

        o = self.options
        code = split_code(split, o.name)
        return ColorDomainsDataset(o.size if split == "train" else o.test_size, o.image_size,
                                   o.num_classes, o.num_domains, o.seed, code, truth=split != "train")


@hookimpl
def register_datasets(register: Any) -> None:
    from .celeba_domains import CelebADomains
    from .paired_folders import MultiDomainFolder, PairedFolders

    register("shape_edges", ShapeEdges)
    register("color_domains", ColorDomains)
    register("paired_folders", PairedFolders)
    register("multi_domain_folder", MultiDomainFolder)
    register("celeba_domains", CelebADomains)
