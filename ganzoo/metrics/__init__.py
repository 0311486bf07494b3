"""Evaluation metrics, one way in: :func:`evaluate` (``ganzoo eval``, the trainer's ``eval``).

Files by task (a metric declares the data kinds it scores; ``plugin.py`` registers them all):

* interface: ``base.py`` (:class:`Metric`, inputs, score records), ``evaluate.py`` (the entry
  point), ``features.py`` / ``inception.py`` (feature extractors: pytorch-fid's Inception, a data
  set's own classifier), ``images.py`` (generated and real images for a metric);
* generation (unconditional and class-conditional): ``fid.py`` (matching pytorch-fid), ``kid.py``,
  ``inception_score.py``, ``prdc.py`` (precision/recall, density/coverage), ``intra_fid.py``
  (per class), ``classifier.py`` (accuracy of samples by the data set's classifier);
* 2-D toy data: ``modes2d.py`` (modes covered, high-quality samples);
* image-to-image against a known answer, each next to a trivial baseline: ``paired.py`` (PSNR,
  SSIM, in the hole too), ``lpips.py`` (LPIPS, weights from a file), ``sharpness.py`` (gradient
  energy ratio).

Everything is imported lazily, so ``import ganzoo.metrics`` does not import torch.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "evaluate": "ganzoo.metrics.evaluate",
    "Metric": "ganzoo.metrics.base",
    "MetricInputs": "ganzoo.metrics.base",
    "ScoreRecord": "ganzoo.metrics.base",
    "FeatureExtractor": "ganzoo.metrics.features",
    "get_extractor": "ganzoo.metrics.features",
    "frechet_distance": "ganzoo.metrics.fid",
    "StatsAccumulator": "ganzoo.metrics.fid",
    "FIDStats": "ganzoo.metrics.fid",
    "load_stats": "ganzoo.metrics.fid",
    "save_stats": "ganzoo.metrics.fid",
    "kid": "ganzoo.metrics.kid",
    "inception_score": "ganzoo.metrics.inception_score",
    "prdc": "ganzoo.metrics.prdc",
    "mode_metrics": "ganzoo.metrics.modes2d",
    "psnr": "ganzoo.metrics.paired",
    "ssim": "ganzoo.metrics.paired",
    "baseline_output": "ganzoo.metrics.paired",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ganzoo.metrics' has no attribute {name!r}")
