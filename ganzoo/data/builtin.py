"""ganzoo's built-in procedural data sets: generated from a seed, nothing to download.

=================  =========  ==========================================================
name               kind       what
=================  =========  ==========================================================
``ring``           points     PacGAN's 8 Gaussians (``preset: wgangp`` for WGAN-GP's)
``grid``           points     PacGAN/VEEGAN's 25 Gaussians (``preset: wgangp`` likewise)
``ring8_wgangp``   points     alias: ``ring`` with ``preset: wgangp``
``grid25_wgangp``  points     alias: ``grid`` with ``preset: wgangp``
``swiss_roll``     points     WGAN-GP's toy swiss roll
``shapes``         images     labelled coloured shapes, 16..128 px
``two_domain``     unpaired   CycleGAN set with a known A -> B translation
=================  =========  ==========================================================

Each set is fixed by ``seed`` and split ("train", or "test": an independent sample from another
derived seed), held in memory, and fetches batches with ``__getitems__``; ``default_collate``
works, ``collate_fn=ganzoo.data.batched.collate`` skips a copy. Points sets put the mixture's
``centers`` and ``std`` (data units, after any scaling) in ``DataInfo.extras`` for the
mode-collapse metrics. Only pydantic is imported here; numpy, torch and Pillow load on use.
"""

from __future__ import annotations

from typing import Any

from ..hookspecs import hookimpl
from .base import DataInfo, DataSource
from .builtin_options import MAX_SIZE, MixtureOptions, PointsOptions, ShapesOptions, TwoDomainOptions

__all__ = ["MAX_SIZE", "MixtureOptions", "PointsOptions", "ShapesOptions", "TwoDomainOptions", "Ring", "Grid",
           "Ring8WGANGP", "Grid25WGANGP", "SwissRoll", "Shapes", "TwoDomain", "register_datasets"]


class _Points(DataSource):
    """A 2-D point set; subclasses name the kind and, for mixtures, the preset."""

    kind = ""

    def preset(self) -> str:
        return getattr(self.options, "preset", "pacgan")

    def extras(self) -> dict[str, Any]:
        from .toy2d import mixture_spec

        centres, std = mixture_spec(self.kind, self.preset())
        return {"centers": centres, "std": std, "preset": self.preset()}

    def info(self) -> DataInfo:
        return DataInfo(name=self.options.name, kind="points", shape=(2,), extras=self.extras())

    def dataset(self, split: str = "train") -> Any:
        from .toy2d import PointsDataset, make_points

        o = self.options
        n = o.size if split != "test" else (o.test_size or o.size)
        return PointsDataset(make_points(self.kind, n, o.seed, split, self.preset()))


class Ring(_Points):
    """PacGAN's ring: 8 Gaussians at (cos 2 pi k/8, sin 2 pi k/8), std 0.01."""

    Options = MixtureOptions
    kind = "ring"


class Grid(_Points):
    """PacGAN/VEEGAN's grid: 25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05."""

    Options = MixtureOptions
    kind = "grid"


class Ring8WGANGP(Ring):
    """WGAN-GP's 8 Gaussians: radius 2, std 0.02, divided by 1.414."""

    Options = PointsOptions

    def preset(self) -> str:
        return "wgangp"


class Grid25WGANGP(Grid):
    """WGAN-GP's 25 Gaussians: the grid divided by 2.828."""

    Options = PointsOptions

    def preset(self) -> str:
        return "wgangp"


class SwissRoll(_Points):
    """WGAN-GP's swiss roll (no modes: ``extras`` is empty)."""

    Options = PointsOptions
    kind = "swiss_roll"

    def preset(self) -> str:
        return "pacgan"

    def extras(self) -> dict[str, Any]:
        return {}


class Shapes(DataSource):
    """Coloured shapes on black, labelled by class (see :mod:`ganzoo.data.shapes`)."""

    Options = ShapesOptions

    def info(self) -> DataInfo:
        from .shape_render import CLASS_NAMES

        o = self.options
        return DataInfo(name=o.name, kind="images", shape=(o.channels, o.image_size, o.image_size),
                        num_classes=o.num_classes, class_names=CLASS_NAMES[:o.num_classes])

    def dataset(self, split: str = "train") -> Any:
        from .shapes import ShapesDataset
        from .splits import split_code

        o = self.options
        code = split_code(split, o.name)
        n = o.size if split == "train" else (o.test_size or o.size)
        return ShapesDataset(n, o.image_size, o.channels, o.num_classes, o.seed, code)


class TwoDomain(DataSource):
    """Unpaired A/B shapes with a known translation (see :mod:`ganzoo.data.two_domain`)."""

    Options = TwoDomainOptions

    def info(self) -> DataInfo:
        o = self.options
        return DataInfo(name=o.name, kind="unpaired", shape=(3, o.image_size, o.image_size),
                        extras={"background_a": [235, 235, 235], "background_b": [25, 25, 25],
                                "hue_shift_degrees": 120.0})

    def dataset(self, split: str = "train") -> Any:
        from .splits import split_code
        from .two_domain import TwoDomainDataset

        o = self.options
        split_code(split, o.name)
        n = o.size if split == "train" else o.test_size
        return TwoDomainDataset(n, o.image_size, o.num_classes, o.seed, split)


@hookimpl
def register_datasets(register) -> None:
    register("ring", Ring)
    register("grid", Grid)
    register("ring8_wgangp", Ring8WGANGP)
    register("grid25_wgangp", Grid25WGANGP)
    register("swiss_roll", SwissRoll)
    register("shapes", Shapes)
    register("two_domain", TwoDomain)
