"""Evaluation metrics: FID (matching pytorch-fid), KID, IS, precision/recall, density/coverage,
2-D mode metrics, a data set's own classifier, and PSNR/SSIM of image-to-image outputs against
their ground truth next to a trivial baseline (:mod:`ganzoo.metrics.paired`), and the sharpness
(gradient energy ratio) of such outputs (:mod:`ganzoo.metrics.sharpness`).

Entry point: :func:`evaluate` (imported lazily, like everything here, so ``import ganzoo.metrics``
does not import torch). The metric interface is :class:`ganzoo.metrics.base.Metric`; feature
extractors are described in :mod:`ganzoo.metrics.features`.
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
