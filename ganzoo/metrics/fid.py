"""Frechet Inception Distance: streamed feature statistics, ``.npz`` files, the distance itself.

Statistics are accumulated in float64 as sums of ``x`` and ``x x^T`` (shifted by the first
batch's mean so that the covariance does not lose digits to cancellation), so memory does not
grow with the number of images and ``mu``/``sigma`` equal ``numpy.mean``/``numpy.cov`` (ddof=1).

The distance is computed from eigenvalues by default (of a symmetric matrix similar to S1 S2;
several times faster than ``scipy.linalg.sqrtm`` at d=2048 and never complex); ``exact_sqrtm=True`` reproduces
pytorch-fid's formula, numerical quirks included.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GanzooError
from ..fileio import atomic_write
from .base import Metric, MetricInputs


class FIDWarning(UserWarning):
    """The FID estimate is unreliable (too few samples for the feature size)."""


@dataclass
class FIDStats:
    """Mean and covariance (ddof=1) of a set of features; ``n`` is None for foreign files."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def dims(self) -> int:
        return int(self.mu.shape[0])


class StatsAccumulator:
    """Streaming float64 mean/covariance of feature batches; memory O(d^2), independent of N."""

    def __init__(self) -> None:
        self.n = 0
        self._shift: np.ndarray | None = None
        self._sum: np.ndarray | None = None
        self._outer: np.ndarray | None = None

    def update(self, x: Any) -> None:
        """Add a batch of features ``(n, d)`` (numpy array or torch tensor, any float dtype)."""
        if hasattr(x, "detach"):
            x = x.detach().to("cpu").double().numpy()
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"features must be (n, d), got shape {x.shape}")
        if len(x) == 0:
            return
        if self._shift is None:
            self._shift = x.mean(axis=0)
            d = x.shape[1]
            self._sum = np.zeros(d)
            self._outer = np.zeros((d, d))
        elif x.shape[1] != self._shift.shape[0]:
            raise ValueError(f"feature size changed from {self._shift.shape[0]} to {x.shape[1]}")
        y = x - self._shift
        self._sum += y.sum(axis=0)
        self._outer += y.T @ y  # numpy uses syrk for a.T @ a
        self.n += len(x)

    def mean(self) -> np.ndarray:
        if self.n == 0:
            raise GanzooError("no features were accumulated (empty image set?)")
        return self._shift + self._sum / self.n

    def cov(self) -> np.ndarray:
        if self.n < 2:
            raise GanzooError(f"a covariance needs at least 2 samples, got {self.n}")
        ybar = self._sum / self.n
        return (self._outer - self.n * np.outer(ybar, ybar)) / (self.n - 1)

    def stats(self, **meta: Any) -> FIDStats:
        return FIDStats(self.mean(), self.cov(), self.n, dict(meta))


def stats_from_features(features: Any, **meta: Any) -> FIDStats:
    acc = StatsAccumulator()
    acc.update(features)
    return acc.stats(**meta)


# -- files -----------------------------------------------------------------------------------

def stats_arrays(stats: FIDStats) -> dict[str, np.ndarray]:
    """pytorch-fid's ``.npz`` arrays (``mu``, ``sigma``) plus ``n`` and a JSON ``protocol``."""
    arrays: dict[str, np.ndarray] = {"mu": np.asarray(stats.mu), "sigma": np.asarray(stats.sigma)}
    if stats.n is not None:
        arrays["n"] = np.asarray(stats.n, dtype=np.int64)
    if stats.meta:
        arrays["protocol"] = np.asarray(json.dumps(stats.meta, sort_keys=True, default=str))
    return arrays


def save_stats(path: str | os.PathLike, stats: FIDStats) -> Path:
    """Write pytorch-fid's ``.npz`` (:func:`stats_arrays`) atomically."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise GanzooError(f"statistics file {path} must end in .npz (pytorch-fid's format)")
    arrays = stats_arrays(stats)
    return atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


def load_stats(path: str | os.PathLike) -> FIDStats:
    """Read an ``.npz`` with ``mu`` and ``sigma`` (pytorch-fid's or ganzoo's)."""
    path = Path(path)
    if not path.is_file():
        raise GanzooError(f"statistics file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in ("mu", "sigma") if k not in f.files]
            if missing:
                raise GanzooError(f"statistics file {path} has no key {missing[0]!r} (keys: "
                                  f"{', '.join(f.files) or 'none'}); expected pytorch-fid's mu and sigma")
            mu = np.asarray(f["mu"], dtype=np.float64)
            sigma = np.asarray(f["sigma"], dtype=np.float64)
            n = int(f["n"]) if "n" in f.files else None
            meta = json.loads(str(f["protocol"])) if "protocol" in f.files else {}
    except GanzooError:
        raise
    except Exception as exc:  # not a zip, truncated, pickled objects
        raise GanzooError(f"cannot read statistics file {path}: {type(exc).__name__}: {exc}") from None
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise GanzooError(f"statistics file {path}: mu has shape {mu.shape} and sigma {sigma.shape}; "
                          f"expected (d,) and (d, d)")
    return FIDStats(mu, sigma, n, meta)


# -- the distance ------------------------------------------------------------------------------

def _warn_singular(reason: str) -> None:
    warnings.warn(f"FID estimate is biased and the covariance is singular ({reason}); use at least "
                  f"as many samples as feature dimensions (ideally 10k+ at d=2048) or smaller --dims",
                  FIDWarning, stacklevel=3)


def _sqrtm_trace_eig(sigma1: np.ndarray, sigma2: np.ndarray) -> tuple[float, bool]:
    """tr((S1 S2)^(1/2)) = sum of sqrt(eigenvalues of S1 S2), read from a symmetric PSD matrix
    similar to S1 S2: L^T S2 L with S1 = L L^T (Cholesky) or, when S1 is singular,
    S1^(1/2) S2 S1^(1/2) (from eigh). Returns the trace and whether a covariance looks singular."""
    d = sigma1.shape[0]
    tol = d * np.finfo(np.float64).eps
    singular = False
    try:
        low = np.linalg.cholesky(sigma1)
        m = low.T @ (sigma2 @ low)
    except np.linalg.LinAlgError:  # not positive definite: rank-deficient S1
        w, v = np.linalg.eigh(sigma1)
        singular = bool(w.min() <= tol * max(w.max(), 0.0))
        root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
        m = root @ sigma2 @ root
    m = (m + m.T) / 2
    ev = np.linalg.eigvalsh(m)
    singular = singular or bool(ev.min() <= tol * max(ev.max(), 0.0))
    return float(np.sqrt(np.clip(ev, 0.0, None)).sum()), singular


def _sqrtm_trace_pytorch_fid(sigma1: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6) -> float:
    """pytorch-fid 0.3.0's computation of tr(sqrtm(S1 S2)), step by step."""
    from scipy import linalg

    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        warnings.warn(f"fid calculation produces singular product; adding {eps} to diagonal of cov "
                      f"estimates", FIDWarning, stacklevel=3)
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            m = np.max(np.abs(covmean.imag))
            raise GanzooError(f"Imaginary component {m} in sqrtm (pytorch-fid's formula, --exact-sqrtm): "
                              f"the covariances are singular or ill-conditioned; use more samples or "
                              f"drop --exact-sqrtm (the eigenvalue method never fails this way)")
        covmean = covmean.real
    return float(np.trace(covmean))


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any, exact_sqrtm: bool = False, *,
                     n1: int | None = None, n2: int | None = None) -> float:
    """|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).

    ``n1``/``n2`` (sample counts, when known) only serve the warning for too few samples.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape:
        raise GanzooError(f"the two feature means have different sizes {mu1.shape} and {mu2.shape}; "
                          f"compute both statistics with the same --dims")
    d = mu1.shape[0]
    if sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise GanzooError(f"covariances have shapes {sigma1.shape} and {sigma2.shape}, expected ({d}, {d})")
    for name, a in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
        if not np.isfinite(a).all():
            raise GanzooError(f"FID input {name} has NaN or infinite values (diverged generator or "
                              f"corrupt statistics file)")
    few = [n for n in (n1, n2) if n is not None and n <= d]
    if few:
        _warn_singular(f"{min(few)} samples for {d} feature dimensions")
    diff = mu1 - mu2
    if exact_sqrtm:
        tr_covmean = _sqrtm_trace_pytorch_fid(sigma1, sigma2)
    else:
        tr_covmean, singular = _sqrtm_trace_eig(sigma1, sigma2)
        if singular and not few:
            _warn_singular(f"a covariance is rank-deficient at d={d}")
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


def fid_from_stats(a: FIDStats, b: FIDStats, exact_sqrtm: bool = False) -> float:
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma, exact_sqrtm, n1=a.n, n2=b.n)


# -- as a registered metric ------------------------------------------------------------------

class FIDMetric(Metric):
    """FID between fake and real feature statistics; ``exact_sqrtm`` switches to pytorch-fid's
    scipy formula (options: ``exact_sqrtm: bool``)."""

    name = "fid"
    higher_is_better = False
    needs = frozenset({"stats"})
    primary = "fid"

    def __init__(self, exact_sqrtm: bool = False) -> None:
        super().__init__(exact_sqrtm=bool(exact_sqrtm))

    def compute(self, inputs: MetricInputs) -> dict[str, float]:
        return {"fid": fid_from_stats(inputs.fake_stats, inputs.real_stats,
                                      exact_sqrtm=self.options["exact_sqrtm"])}
