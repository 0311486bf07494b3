"""ganzoo's built-in metrics and feature extractors, registered like a third party's would be
(entry point ``metrics = "ganzoo.metrics.plugin"``)."""

from __future__ import annotations

from typing import Any

from ..hookspecs import hookimpl


@hookimpl
def register_metrics(register: Any) -> None:
    from .classifier import ClassifierAccuracyMetric
    from .fid import FIDMetric
    from .inception_score import InceptionScoreMetric
    from .intra_fid import IntraFIDMetric
    from .kid import KIDMetric
    from .lpips import LPIPSMetric
    from .modes2d import ModesMetric
    from .paired import PSNRHoleMetric, PSNRMetric, SSIMHoleMetric, SSIMMetric
    from .prdc import DensityCoverageMetric, PrecisionRecallMetric

    for cls in (FIDMetric, KIDMetric, InceptionScoreMetric, PrecisionRecallMetric, DensityCoverageMetric,
                ModesMetric, ClassifierAccuracyMetric, IntraFIDMetric, PSNRMetric, SSIMMetric,
                PSNRHoleMetric, SSIMHoleMetric, LPIPSMetric):
        register(cls.name, cls)


@hookimpl
def register_feature_extractors(register: Any) -> None:
    from .classifier import ClassifierExtractor
    from .features import InceptionExtractor, RawExtractor

    register("inception", InceptionExtractor)
    register("classifier", ClassifierExtractor)
    register("raw", RawExtractor)
