"""Data sources: what a ``data:`` block builds. Each source declares its data kind ("images",
"points", "unpaired", "paired", "multi_domain"); a variant declares the kinds it trains on.

Files by task (a new family adds its source file and registers it; the loader is shared):

* interface and plumbing: ``base.py`` (:class:`DataSource`, :class:`DataInfo`), ``loader.py``
  (seeded, resumable batches), ``batched.py``, ``splits.py``, ``transforms.py``, ``images.py``
  (decoding), ``walk.py`` (the one way files are listed), ``common.py``, ``datasets.py``;
* built-in sets with a known answer, no download (``builtin.py`` registers them):
  ``toy2d.py`` (2-D mixtures), ``shapes.py`` + ``shape_render.py`` (labelled shapes),
  ``two_domain.py`` + ``two_domain_eval.py`` (unpaired translation), ``paired_shapes.py``
  (``shape_edges``, ``color_domains``);
* files and standard sets (``formats.py`` registers them): ``folder.py`` (``image_folder``,
  ``class_folder``), ``cyclegan_folders.py``, ``npz.py``, ``mnist.py``, ``cifar.py``;
  ``catalog.py`` lists the downloadable sets and their checksums;
* image-to-image (``paired.py`` registers them): ``paired_folders.py`` (A|B pairs, ``A/``+``B/``,
  one folder per domain), ``celeba_domains.py``; ``degrade.py`` + ``degrade_items.py`` make
  super-resolution pairs and inpainting holes from ANY image source (``sr_pairs``,
  ``inpaint_masks``).
"""

from .base import DataInfo, DataOptions, DataSource

__all__ = ["DataInfo", "DataOptions", "DataSource"]
