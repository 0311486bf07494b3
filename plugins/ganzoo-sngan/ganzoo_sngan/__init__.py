"""SNGAN for ganzoo (Miyato et al. 2018). The plugin module is :mod:`ganzoo_sngan.plugin`.

Kept import-free so that finding the entry point costs nothing until the variant is used.
"""

from __future__ import annotations

__version__ = "0.1.0"
