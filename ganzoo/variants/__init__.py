"""ganzoo's built-in variants: public, documented base classes for plugins to subclass.

Each lives in its own module and registers itself through the ``ganzoo`` entry points, exactly as
a third-party variant does. Importing this package registers nothing; the names are loaded on
first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_CLASSES = {
    "VanillaGAN": "vanilla", "DCGAN": "dcgan", "CriticVariant": "wgan", "WGAN": "wgan",
    "WGANGP": "wgan", "ConditionalGAN": "conditional", "CycleGAN": "cyclegan", "VAE": "vae",
    "StyleGAN2": "stylegan2",
    "BigGAN": "biggan",
}
__all__ = list(_CLASSES)


def __getattr__(name: str) -> Any:
    if name in _CLASSES:
        return getattr(importlib.import_module(f"{__name__}.{_CLASSES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
