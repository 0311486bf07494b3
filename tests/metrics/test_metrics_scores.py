"""KID, Inception Score, precision/recall, density/coverage and 2-D mode metrics against brute-force
reference computations written here."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ganzoo.metrics.prdc as prdc_module
from ganzoo.errors import GanzooError
from ganzoo.metrics.inception_score import inception_score
from ganzoo.metrics.kid import kid
from ganzoo.metrics.modes2d import mode_metrics
from ganzoo.metrics.prdc import prdc


def _kid_reference(fake, real, subsets, size, seed):
    rng = np.random.RandomState(seed)
    d = fake.shape[1]

    def k(a, b):
        return (float(np.dot(a, b)) / d + 1.0) ** 3

    values = []
    for _ in range(subsets):
        x = fake[rng.choice(len(fake), size, replace=False)].astype(np.float64)
        y = real[rng.choice(len(real), size, replace=False)].astype(np.float64)
        m = size
        xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
        yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
        xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
        values.append(xx + yy - 2 * xy)
    return float(np.mean(values)), float(np.std(values))


def test_kid_matches_brute_force():
    rng = np.random.default_rng(0)
    fake = rng.standard_normal((40, 12)).astype(np.float32) + 0.5
    real = rng.standard_normal((35, 12)).astype(np.float32)
    mean, std, size = kid(fake, real, subsets=4, subset_size=15, seed=3)
    ref_mean, ref_std = _kid_reference(fake, real, 4, 15, 3)
    assert size == 15
    assert mean == pytest.approx(ref_mean, rel=1e-5)
    assert std == pytest.approx(ref_std, rel=1e-4)
    assert mean > 0.05  # shifted distributions are told apart


def test_kid_shrinks_the_subset_size_with_a_warning():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((30, 4)).astype(np.float32)
    with pytest.warns(UserWarning, match="subset size reduced"):
        mean, _, size = kid(x, x[::-1].copy(), subsets=3, subset_size=1000)
    assert size == 30
    # the same 30 samples in every subset: the unbiased MMD of a set with itself
    assert mean == pytest.approx(_kid_reference(x, x[::-1].copy(), 3, 30, 0)[0], rel=1e-5, abs=1e-7)


def _is_reference(logits, splits, seed):
    x = np.asarray(logits, np.float64)[np.random.RandomState(seed).permutation(len(logits))]
    n = len(x)
    scores = []
    for i in range(splits):
        part = x[i * n // splits:(i + 1) * n // splits]
        p = np.exp(part - part.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        q = p.mean(0)
        kl = [sum(pi[c] * (math.log(pi[c]) - math.log(q[c])) for c in range(len(q))) for pi in p]
        scores.append(math.exp(np.mean(kl)))
    return float(np.mean(scores)), float(np.std(scores))


def test_inception_score_matches_brute_force_and_known_values():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((53, 7)) * 3
    mean, std = inception_score(logits, splits=5, seed=4)
    ref = _is_reference(logits, 5, 4)
    assert mean == pytest.approx(ref[0], rel=1e-12) and std == pytest.approx(ref[1], rel=1e-9)
    # confident, evenly spread predictions over K classes give IS = K; uniform ones give 1
    onehot = np.repeat(np.eye(4) * 60.0, 10, axis=0)
    assert inception_score(onehot, splits=1)[0] == pytest.approx(4.0, rel=1e-6)
    assert inception_score(np.zeros((20, 9)), splits=2)[0] == pytest.approx(1.0)
    with pytest.raises(GanzooError, match="at least 10"):
        inception_score(logits[:5])


def _prdc_reference(real, fake, k_pr, k_dc):
    def dist(a, b):
        return math.sqrt(float(((a - b) ** 2).sum()))

    def radii(x, k):
        return [sorted(dist(p, q) for j, q in enumerate(x) if j != i)[k - 1] for i, p in enumerate(x)]

    rr_pr, rr_dc, rf = radii(real, k_pr), radii(real, k_dc), radii(fake, k_pr)
    precision = np.mean([any(dist(y, x) <= rr_pr[i] for i, x in enumerate(real)) for y in fake])
    recall = np.mean([any(dist(x, y) <= rf[j] for j, y in enumerate(fake)) for x in real])
    density = np.mean([sum(dist(y, x) < rr_dc[i] for i, x in enumerate(real)) for y in fake]) / k_dc
    coverage = np.mean([min(dist(x, y) for y in fake) < rr_dc[i] for i, x in enumerate(real)])
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


@pytest.mark.parametrize("chunk", [1024, 7])
def test_precision_recall_density_coverage_match_brute_force(monkeypatch, chunk):
    monkeypatch.setattr(prdc_module, "CHUNK", chunk)  # also exercise the chunked path
    rng = np.random.default_rng(5)
    real = rng.standard_normal((31, 5))
    fake = np.concatenate([rng.standard_normal((14, 5)) * 0.3, rng.standard_normal((12, 5)) + 2.5])
    got = prdc(real, fake, k_pr=3, k_dc=5)
    ref = _prdc_reference(real, fake, 3, 5)
    for key in ref:
        assert got[key] == pytest.approx(ref[key], abs=1e-12), key
    assert all(0 < got[k] < 1 for k in ("precision", "recall", "coverage")) and got["density"] > 0


def test_mode_metrics_on_hand_made_samples():
    centers = [[math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)] for k in range(8)]
    std = 0.01
    samples = np.array([
        [1.0, 0.0], [1.02, 0.0], [0.99, 0.01],     # mode 0, inside 3 std
        [0.0, 1.029],                             # mode 2, inside 3 std
        [0.0, -1.04],                             # nearest mode 6 but 4 std away: low quality
        [0.5, 0.5],                               # between modes: low quality
    ])
    out = mode_metrics(samples, centers, std)
    assert out["modes"] == 2 and out["num_modes"] == 8
    assert out["high_quality"] == pytest.approx(100 * 4 / 6)
    p = np.array([3 / 4, 1 / 4])
    assert out["reverse_kl"] == pytest.approx(float((p * np.log(p * 8)).sum()))
    # every mode hit equally: KL 0, all 8 captured
    even = mode_metrics(np.repeat(np.array(centers), 3, axis=0), centers, std)
    assert even["modes"] == 8 and even["high_quality"] == 100 and even["reverse_kl"] == pytest.approx(0.0)
    assert math.isnan(mode_metrics(np.array([[9.0, 9.0]]), centers, std)["reverse_kl"])
