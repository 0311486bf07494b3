"""Data sources: built-in procedural sets, standard data sets, folders and arrays.

Image-to-image data ("paired" and "multi_domain" kinds: ``shape_edges``, ``color_domains``,
``paired_folders``, ``multi_domain_folder``) is registered by :mod:`ganzoo.data.paired`.
Super-resolution pairs and inpainting holes made on the fly from any image source
(``sr_pairs``, ``inpaint_masks``, also "paired") are registered by :mod:`ganzoo.data.degrade`.
"""

from .base import DataInfo, DataOptions, DataSource

__all__ = ["DataInfo", "DataOptions", "DataSource"]
