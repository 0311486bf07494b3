"""ganzoo: a plugin-based GAN zoo for PyTorch.

The public API is imported lazily so that ``import ganzoo`` (and ``ganzoo --help``) stays fast.
"""

from __future__ import annotations

from typing import Any

from .hookspecs import hookimpl

__version__ = "0.1.0"
#: Version of the plugin API; plugins declare the range they need.
API_VERSION = "2.0"

_LAZY = {
    "Generator": "ganzoo.interfaces",
    "Discriminator": "ganzoo.interfaces",
    "Loss": "ganzoo.interfaces",
    "Variant": "ganzoo.interfaces",
    "VariantOptions": "ganzoo.interfaces",
    "StepContext": "ganzoo.interfaces",
    "eval_mode": "ganzoo.interfaces",
    "Betas": "ganzoo.interfaces",
    "Widths": "ganzoo.interfaces",
    "DataSource": "ganzoo.data.base",
    "DataOptions": "ganzoo.data.base",
    "DataInfo": "ganzoo.data.base",
    "GanzooError": "ganzoo.errors",
    "get_registry": "ganzoo.plugins",
    "list_variants": "ganzoo.plugins",
    "list_losses": "ganzoo.plugins",
    "list_datasets": "ganzoo.plugins",
    "list_metrics": "ganzoo.plugins",
    "get_variant": "ganzoo.plugins",
    "get_loss": "ganzoo.plugins",
    "create_loss": "ganzoo.plugins",
    "get_dataset": "ganzoo.plugins",
    "load_config": "ganzoo.config",
    "train": "ganzoo.trainer",
    "load_generator": "ganzoo.inference",
}

__all__ = ["hookimpl", "__version__", "API_VERSION", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")
