"""DiffAugment for ganzoo (Zhao et al. 2020). The plugin module is :mod:`ganzoo_diffaugment.plugin`;
the augmentations are in :mod:`ganzoo_diffaugment.augment`, the variant wrapper in
:mod:`ganzoo_diffaugment.wrap`.

Kept import-free so that finding the entry point costs nothing until the variant is used.
"""

from __future__ import annotations

__version__ = "0.1.0"
