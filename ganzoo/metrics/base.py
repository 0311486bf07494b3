"""The metric interface and the score record that carries a score's protocol.

A :class:`Metric` declares what it needs (``needs``): Inception-style ``features`` of fake and
real samples, only their ``stats`` (mean/covariance, so a real ``.npz`` suffices), class
``logits`` of the fakes, raw ``samples``, the fakes' ``labels``, the real samples' labels
(``real_labels``) or the data set's own ``classifier``. :func:`ganzoo.metrics.evaluate` computes each input once and hands the metrics a
:class:`MetricInputs`.

Every score leaves as a :class:`ScoreRecord`, which keeps the protocol next to the number
(extractor and its weights' hash, resize, sample counts, source of the real statistics, seed,
ganzoo version): scores that disagree can then be told apart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

#: What a metric can ask for.
NEEDS = frozenset({"features", "stats", "logits", "samples", "labels", "real_labels", "classifier"})


@dataclass
class MetricInputs:
    """Everything a metric may read; fields it did not ask for may be None."""

    data_info: Any = None
    seed: int = 0
    fake_features: Any = None      # np.ndarray (N, D) float32
    real_features: Any = None
    fake_stats: Any = None         # ganzoo.metrics.fid.FIDStats
    real_stats: Any = None
    fake_logits: Any = None        # np.ndarray (N, K)
    fake_samples: Any = None       # torch.Tensor, images in [-1, 1] or points (N, 2)
    quantize: bool = True          # images rounded to 8 bits before extractors (see features.to_unit)
    real_samples: Any = None
    fake_labels: Any = None        # torch.Tensor (N,) int64
    real_labels: Any = None        # torch.Tensor (M,) int64: classes of real_samples/real_features
    classifier: Any = None         # ganzoo.metrics.classifier.ClassifierExtractor, when built
    baseline_samples: Any = None   # paired runs: the trivial baseline's outputs, aligned with real_samples
    masks: Any = None              # paired runs with holes: (N, 1, H, W), 1 inside the hole
    progress: bool = False
    memo: dict[str, Any] = field(default_factory=dict)  # shared between metrics (e.g. kNN radii)


class Metric(ABC):
    """A named evaluation metric. Subclasses set the class attributes and implement ``compute``.

    ``compute`` returns ``{key: float}``; ``primary`` names the key reported as the record's value.
    Constructor keyword arguments are the metric's options (recorded in the protocol).
    """

    name: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = True
    needs: ClassVar[frozenset[str]] = frozenset()
    primary: ClassVar[str] = ""
    #: data kinds the metric applies to ("images", "points"; "paired", "multi_domain": outputs
    #: scored against aligned ground truth, see :mod:`ganzoo.metrics.paired`). Image metrics
    #: also apply to paired runs (outputs vs targets).
    kinds: ClassVar[tuple[str, ...]] = ("images", "points")

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    def compute(self, inputs: MetricInputs) -> dict[str, float]:
        ...

    def protocol_options(self) -> dict[str, Any]:
        """Options that change the number, recorded next to it."""
        return dict(self.options)


@dataclass
class ScoreRecord:
    """One metric's result with its protocol."""

    metric: str
    value: float
    values: dict[str, float]
    higher_is_better: bool
    extractor: str | None = None
    extractor_weights_sha256: str | None = None
    feature_dims: int | None = None
    resize: str | None = None
    n_real: int | None = None
    n_fake: int = 0
    real_source: str = ""
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    ganzoo_version: str = ""

    def __post_init__(self) -> None:
        if not self.ganzoo_version:
            from .. import __version__

            self.ganzoo_version = __version__

    def protocol(self) -> dict[str, Any]:
        return {
            "extractor": self.extractor,
            "extractor_weights_sha256": self.extractor_weights_sha256,
            "feature_dims": self.feature_dims,
            "resize": self.resize,
            "n_real": self.n_real,
            "n_fake": self.n_fake,
            "real_source": self.real_source,
            "seed": self.seed,
            "options": dict(self.options),
            "notes": list(self.notes),
            "ganzoo_version": self.ganzoo_version,
        }

    def to_dict(self) -> dict[str, Any]:
        """``{"metric", "value", "values", "higher_is_better", "protocol": {...}}`` (JSON-ready)."""
        return {"metric": self.metric, "value": self.value, "values": dict(self.values),
                "higher_is_better": self.higher_is_better, "protocol": self.protocol()}
