"""Frechet distance, streamed statistics and the .npz format."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from ganzoo.errors import GanzooError
from ganzoo.metrics.fid import (FIDWarning, StatsAccumulator, frechet_distance, load_stats, save_stats,
                                stats_from_features)


def _sqrtm_reference(mu1, s1, mu2, s2) -> float:
    """The textbook formula with scipy's matrix square root."""
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _gaussian_sets(d: int, n: int, seed: int):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) / np.sqrt(d) + 0.3
    b = rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, d) - 0.1
    return a, b


@pytest.mark.parametrize("d,n", [(8, 100), (64, 400), (128, 600)])
def test_eigenvalue_distance_matches_sqrtm_on_full_rank_covariances(d, n):
    a, b = _gaussian_sets(d, n, d)
    mu1, s1, mu2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    ref = _sqrtm_reference(mu1, s1, mu2, s2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-9)
    assert frechet_distance(mu1, s1, mu2, s2, exact_sqrtm=True) == pytest.approx(ref, rel=1e-12)
    # symmetric, zero for identical statistics
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(ref, rel=1e-9)
    assert abs(frechet_distance(mu1, s1, mu1, s1)) < 1e-9 * np.trace(s1)


def test_few_samples_give_a_finite_value_and_a_warning_not_an_imaginary_component_error():
    a, b = _gaussian_sets(64, 20, 0)  # 20 samples, 64 dimensions: singular covariances
    sa, sb = stats_from_features(a), stats_from_features(b)
    with pytest.warns(FIDWarning, match="singular"):
        value = frechet_distance(sa.mu, sa.sigma, sb.mu, sb.sigma, n1=sa.n, n2=sb.n)
    assert np.isfinite(value) and value > 0
    # without sample counts the rank deficiency is still detected
    with pytest.warns(FIDWarning, match="rank-deficient"):
        value2 = frechet_distance(sa.mu, sa.sigma, sb.mu, sb.sigma)
    assert value2 == pytest.approx(value, rel=1e-12)
    # the singular case agrees with sqrtm to the precision the spec measured (~4e-8)
    assert value == pytest.approx(_sqrtm_reference(sa.mu, sa.sigma, sb.mu, sb.sigma), rel=1e-6)
    # only the second covariance singular (the first is positive definite)
    full = stats_from_features(_gaussian_sets(64, 500, 1)[0])
    with pytest.warns(FIDWarning, match="rank-deficient"):
        mixed = frechet_distance(full.mu, full.sigma, sb.mu, sb.sigma)
    assert mixed == pytest.approx(_sqrtm_reference(full.mu, full.sigma, sb.mu, sb.sigma), rel=1e-6)


def test_bad_inputs_are_user_errors():
    mu, s = np.zeros(3), np.eye(3)
    with pytest.raises(GanzooError, match="different sizes"):
        frechet_distance(mu, s, np.zeros(4), np.eye(4))
    with pytest.raises(GanzooError, match="NaN"):
        frechet_distance(mu, s * np.nan, mu, s)


def test_streamed_statistics_equal_numpy_mean_and_cov():
    rng = np.random.default_rng(0)
    # a large common offset: the naive sum-of-squares formula would lose digits here
    x = rng.standard_normal((1003, 16)) * rng.uniform(0.1, 3, 16) + 1000.0
    acc = StatsAccumulator()
    i = 0
    for size in (1, 50, 50, 7, 300, 595):
        acc.update(x[i:i + size].astype(np.float64))
        i += size
    assert acc.n == len(x) == i
    np.testing.assert_allclose(acc.mean(), np.mean(x, axis=0), rtol=1e-14)
    ref = np.cov(x, rowvar=False)
    np.testing.assert_allclose(acc.cov(), ref, rtol=1e-9, atol=1e-12 * np.abs(ref).max())
    # float32 features (as Inception gives) are widened, as pytorch-fid's float64 array does
    x32 = x[:200].astype(np.float32) - 1000
    s = stats_from_features(x32)
    np.testing.assert_allclose(s.sigma, np.cov(x32.astype(np.float64), rowvar=False), rtol=1e-10, atol=1e-13)


def test_statistics_memory_does_not_depend_on_n():
    acc = StatsAccumulator()
    rng = np.random.default_rng(0)
    acc.update(rng.standard_normal((10, 8)))
    before = sum(a.nbytes for a in (acc._shift, acc._sum, acc._outer))
    for _ in range(50):
        acc.update(rng.standard_normal((100, 8)))
    after = sum(a.nbytes for a in (acc._shift, acc._sum, acc._outer))
    assert before == after == 8 * (8 + 8 + 64)


def test_npz_round_trip_uses_pytorch_fid_keys(tmp_path):
    rng = np.random.default_rng(1)
    stats = stats_from_features(rng.standard_normal((40, 6)), extractor="inception", dims=6)
    path = save_stats(tmp_path / "s.npz", stats)
    with np.load(path) as f:  # what pytorch-fid reads
        np.testing.assert_array_equal(f["mu"], stats.mu)
        np.testing.assert_array_equal(f["sigma"], stats.sigma)
    back = load_stats(path)
    np.testing.assert_array_equal(back.sigma, stats.sigma)
    assert back.n == 40 and back.meta["extractor"] == "inception"
    # a file written by pytorch-fid itself (only mu and sigma)
    np.savez_compressed(tmp_path / "pf.npz", mu=stats.mu, sigma=stats.sigma)
    pf = load_stats(tmp_path / "pf.npz")
    assert pf.n is None and pf.meta == {}
    np.testing.assert_array_equal(pf.mu, stats.mu)
    np.savez(tmp_path / "bad.npz", mean=stats.mu)
    with pytest.raises(GanzooError, match="'mu'"):
        load_stats(tmp_path / "bad.npz")
    with pytest.raises(GanzooError, match=".npz"):
        save_stats(tmp_path / "s.txt", stats)
