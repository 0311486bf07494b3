"""Intra-FID (Miyato & Koyama 2018): the mean over classes of the FID between generated and real
samples of that class, so a conditional generator is scored on each class it draws and a model
that swaps or merges classes is caught (plain FID only sees the pooled distributions).

It uses the features of the same extractor, preprocessing and real split as ``fid`` (it reads the
per-sample features, not only their statistics), the generated samples' conditioning labels and
the real samples' own labels. The per-class FIDs are in the record's ``values``
(``fid_class_<k>``), the per-class sample counts in its protocol options.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import GanzooError
from .base import Metric, MetricInputs
from .fid import fid_from_stats, stats_from_features


def _labels(values: Any, n: int, what: str) -> np.ndarray:
    labels = np.asarray(values.cpu() if hasattr(values, "cpu") else values).reshape(-1)
    if len(labels) != n:
        raise GanzooError(f"metric 'intra_fid': {len(labels)} {what} labels for {n} {what} samples")
    return labels.astype(np.int64)


class IntraFIDMetric(Metric):
    """Mean over classes of FID(generated class k, real class k); ``exact_sqrtm`` as for ``fid``."""

    name = "intra_fid"
    higher_is_better = False
    needs = frozenset({"features", "labels", "real_labels"})
    primary = "intra_fid"
    kinds = ("images",)

    def __init__(self, exact_sqrtm: bool = False) -> None:
        super().__init__(exact_sqrtm=bool(exact_sqrtm))
        self.counts: dict[str, list[int]] = {}

    def check_inputs(self, inputs: MetricInputs) -> tuple[np.ndarray, np.ndarray]:
        """(generated labels, real labels), or one line saying which is missing."""
        if inputs.fake_labels is None:
            raise GanzooError("metric 'intra_fid' needs the class labels the samples were generated "
                              "with: it applies to conditional runs only; leave it out of the metrics")
        if inputs.real_labels is None or inputs.real_features is None:
            name = getattr(inputs.data_info, "name", "?")
            raise GanzooError(f"metric 'intra_fid' needs labelled real samples, and data set '{name}' "
                              f"gave none (unlabelled data, or only a statistics file); leave it out")
        return (_labels(inputs.fake_labels, len(inputs.fake_features), "generated"),
                _labels(inputs.real_labels, len(inputs.real_features), "real"))

    def compute(self, inputs: MetricInputs) -> dict[str, float]:
        fake_y, real_y = self.check_inputs(inputs)
        k = getattr(inputs.data_info, "num_classes", None) or int(max(fake_y.max(), real_y.max())) + 1
        values: dict[str, float] = {}
        n_fake, n_real = [], []
        for c in range(k):
            fake, real = inputs.fake_features[fake_y == c], inputs.real_features[real_y == c]
            n_fake.append(len(fake))
            n_real.append(len(real))
            if len(fake) < 2 or len(real) < 2:
                raise GanzooError(f"metric 'intra_fid': class {c} has {len(fake)} generated and "
                                  f"{len(real)} real samples; every class needs at least 2 of each "
                                  f"(use a larger -n)")
            values[f"fid_class_{c}"] = fid_from_stats(stats_from_features(fake), stats_from_features(real),
                                                      exact_sqrtm=self.options["exact_sqrtm"])
        self.counts = {"n_fake_per_class": n_fake, "n_real_per_class": n_real}
        return {"intra_fid": float(np.mean(list(values.values()))), **values}

    def protocol_options(self) -> dict[str, Any]:
        return {**self.options, **self.counts}
