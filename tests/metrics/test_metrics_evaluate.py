"""``evaluate``: records with protocol, real-statistics caching, extractor choice, the classifier."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo.metrics.evaluate as evaluate_module
from ganzoo.commands.fid import main as fid_main
from ganzoo.data.base import DataInfo, DataOptions, DataSource
from ganzoo.errors import GanzooError
from ganzoo.metrics.evaluate import choose_extractor, evaluate
from ganzoo.metrics.fid import frechet_distance, stats_from_features

pytestmark = pytest.mark.filterwarnings("ignore::ganzoo.metrics.fid.FIDWarning")


def _ring_info() -> DataInfo:
    centers = [[math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)] for k in range(8)]
    return DataInfo(name="ring", kind="points", shape=(2,), extras={"centers": centers, "std": 0.01})


def _ring_samples(n, seed, modes=8):
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(0, modes, (n,), generator=g).double()
    c = torch.stack([torch.cos(2 * math.pi * k / 8), torch.sin(2 * math.pi * k / 8)], 1)
    return (c + 0.01 * torch.randn(n, 2, generator=g, dtype=torch.float64)).float()


def test_points_records_carry_the_protocol():
    info = _ring_info()
    fake, real = _ring_samples(400, 0, modes=5), _ring_samples(500, 1)
    records = evaluate(fake, real, info, ["fid", "modes", "pr", "dc", "kid"], seed=7,
                       metric_options={"kid": {"subsets": 5, "subset_size": 100}})
    by = {r["metric"]: r for r in records}
    assert list(by) == ["fid", "modes", "pr", "dc", "kid"]
    assert by["modes"]["values"]["modes"] == 5 and by["modes"]["values"]["high_quality"] > 96  # 98.9% of a 2-D Gaussian lies within 3 std
    assert by["modes"]["protocol"]["extractor"] is None and by["modes"]["protocol"]["real_source"] == "not used"
    fid = by["fid"]
    assert fid["higher_is_better"] is False
    p = fid["protocol"]
    assert p["extractor"] == "raw" and p["feature_dims"] == 2 and p["n_real"] == 500 and p["n_fake"] == 400
    assert p["seed"] == 7 and p["ganzoo_version"] and p["real_source"].startswith("computed from 500")
    sf, sr = stats_from_features(fake.double().numpy()), stats_from_features(real.double().numpy())
    assert fid["value"] == pytest.approx(frechet_distance(sf.mu, sf.sigma, sr.mu, sr.sigma), rel=1e-6)
    # 3 of 8 modes missing: recall and coverage drop, precision stays high
    assert by["pr"]["values"]["precision"] > 0.9 and by["pr"]["values"]["recall"] < 0.8
    assert by["dc"]["values"]["coverage"] < 0.8
    assert by["kid"]["protocol"]["options"] == {"subsets": 5, "subset_size": 100}


def test_unknown_metric_suggests_a_name():
    with pytest.raises(GanzooError, match="did you mean 'fid'"):
        evaluate(_ring_samples(10, 0), None, _ring_info(), ["fdi"])
    with pytest.raises(GanzooError, match="applies to images"):
        evaluate(_ring_samples(10, 0), _ring_samples(10, 1), _ring_info(), ["is"])


def _images(n, seed, size=12):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


def test_inception_fid_equals_the_fid_command_on_saved_pngs(inception_weights, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(inception_weights))
    info = DataInfo(name="noise", kind="images", shape=(3, 12, 12))
    fake, real = _images(12, 0) * 0.5 + 0.3, _images(11, 1)
    (rec,) = evaluate(fake, real, info, ["fid"], dims=64, batch_size=5)
    assert rec["value"] > 1e-3
    p = rec["protocol"]
    assert p["extractor"] == "inception" and p["feature_dims"] == 64
    assert p["extractor_weights_sha256"] == hashlib.sha256(inception_weights.read_bytes()).hexdigest()
    assert p["options"]["quantize_8bit"] is True
    for name, x in (("fake", fake), ("real", real)):
        (tmp_path / name).mkdir()
        u8 = torch.floor(((x + 1) / 2).clamp(0, 1) * 255 + 0.5).to(torch.uint8)
        for i, img in enumerate(u8):
            Image.fromarray(img.permute(1, 2, 0).numpy()).save(tmp_path / name / f"{i:03d}.png")
    assert fid_main([str(tmp_path / "fake"), str(tmp_path / "real"), "--dims", "64", "--device", "cpu",
                     "--num-workers", "0", "--batch-size", "5", "--no-progress"]) == 0
    assert rec["value"] == pytest.approx(float(capsys.readouterr().out.split()[-1]), rel=1e-9)


def test_real_statistics_are_cached_by_key_and_samples(inception_weights, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(inception_weights))
    info = DataInfo(name="noise", kind="images", shape=(3, 12, 12))
    fake, real = _images(10, 2), _images(9, 3)
    cache = tmp_path / "stats"
    evaluate_module._MEMORY.clear()
    first = evaluate(fake, real, info, ["fid", "kid"], dims=64, real_stats_cache=cache,
                     metric_options={"kid": {"subsets": 3, "subset_size": 8}})
    assert "computed from 9" in first[0]["protocol"]["real_source"]
    files = list(cache.glob("real-noise-inception-9-*.npz"))
    assert len(files) == 1
    evaluate_module._MEMORY.clear()
    second = evaluate(fake, real, info, ["fid", "kid"], dims=64, real_stats_cache=cache,
                      metric_options={"kid": {"subsets": 3, "subset_size": 8}})
    assert second[0]["protocol"]["real_source"] == f"cache:{files[0]}"
    assert [r["value"] for r in second] == [r["value"] for r in first]
    third = evaluate(fake, real, info, ["fid"], dims=64, real_stats_cache=cache)
    assert third[0]["protocol"]["real_source"].startswith("memory cache")
    # other real samples with the same count are not mistaken for the cached ones
    evaluate_module._MEMORY.clear()
    other = evaluate(fake, _images(9, 4), info, ["fid"], dims=64, real_stats_cache=cache)
    assert "computed from 9" in other[0]["protocol"]["real_source"]
    assert other[0]["value"] != first[0]["value"]
    # a pytorch-fid statistics file as the real side (no real samples)
    s = stats_from_features(np.random.default_rng(0).standard_normal((100, 64)))
    np.savez_compressed(tmp_path / "pf.npz", mu=s.mu, sigma=s.sigma)
    (rec,) = evaluate(fake, None, info, ["fid"], dims=64, real_stats_cache=tmp_path / "pf.npz")
    assert rec["protocol"]["real_source"].startswith(f"file:{tmp_path / 'pf.npz'}")
    assert "not known" in rec["protocol"]["real_source"]
    with pytest.raises(GanzooError, match="KID"):
        evaluate(fake, None, info, ["kid"], dims=64, real_stats_cache=tmp_path / "pf.npz")


class _QuadOptions(DataOptions):
    n: int = 700


class _Quadrants(DataSource):
    """Labelled 16x16 grayscale images: the label says which quadrant is bright."""

    Options = _QuadOptions

    def info(self) -> DataInfo:
        return DataInfo(name="quadrants", kind="images", shape=(1, 16, 16), num_classes=4)

    def dataset(self, split: str = "train"):
        return _QuadSet(self.options.n, 0 if split == "train" else 1)


def _quadrant_images(y: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    x = torch.rand(len(y), 1, 16, 16, generator=g) * 0.8 - 1
    for i, label in enumerate(y.tolist()):
        r, c = divmod(label, 2)
        x[i, 0, r * 8:(r + 1) * 8, c * 8:(c + 1) * 8] += 1.0
    return x.clamp(-1, 1)


class _QuadSet(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.y = torch.randint(0, 4, (n,), generator=g)
        self.x = _quadrant_images(self.y, g)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.y[i]}


FAST = {"steps": 40, "max_train": 500, "holdout": 200, "batch_size": 64}


def test_classifier_extractor_trains_caches_and_scores(clean_weights_env):
    source = _Quadrants(_QuadOptions(name="quadrants"))
    info = source.info()
    test = source.dataset("test")
    rng_before = torch.random.get_rng_state()
    records = evaluate(test.x[:200], test.x[200:400], info, ["classifier_accuracy", "fid"],
                       data_source=source, fake_labels=test.y[:200], extractor_options=FAST)
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # the trainer's RNG is untouched
    acc, fid = records
    assert acc["value"] > 0.9 and acc["values"]["classifier_real_accuracy"] > 0.9
    assert acc["protocol"]["extractor"] == "classifier:quadrants"
    assert any("held-out accuracy" in n for n in acc["protocol"]["notes"])
    # no Inception weights on this machine: the default extractor is the classifier, and it says so
    assert fid["protocol"]["extractor"] == "classifier:quadrants"
    assert any("Inception weights not found" in n for n in fid["protocol"]["notes"])
    files = list((clean_weights_env / "classifiers").glob("quadrants-*.pt"))
    assert len(files) == 1
    assert fid["protocol"]["extractor_weights_sha256"] == hashlib.sha256(files[0].read_bytes()).hexdigest()
    mtime = files[0].stat().st_mtime_ns
    # wrong labels score low; the cached classifier is reused (no new file, same weights)
    from ganzoo.metrics import features

    features._CACHE.clear()
    (wrong,) = evaluate(test.x[:200], None, info, ["classifier_accuracy"], data_source=source,
                        fake_labels=(test.y[:200] + 1) % 4, extractor_options=FAST)
    assert wrong["value"] < 0.2
    assert files[0].stat().st_mtime_ns == mtime and len(list(files[0].parent.iterdir())) == 1
    assert wrong["protocol"]["extractor_weights_sha256"] == fid["protocol"]["extractor_weights_sha256"]
    with pytest.raises(GanzooError, match="labels"):
        evaluate(test.x[:20], None, info, ["classifier_accuracy"], data_source=source, extractor_options=FAST)


def test_default_extractor_without_weights(clean_weights_env):
    labelled = DataInfo(name="digits", kind="images", shape=(1, 28, 28), num_classes=10)
    name, notes = choose_extractor("images", labelled)
    assert name == "classifier" and "pt_inception-2015-12-05-6726825d.pth" in notes[0]
    with pytest.raises(GanzooError, match="github.com/mseitzer/pytorch-fid"):
        choose_extractor("images", DataInfo(name="faces", kind="images", shape=(3, 64, 64)))
    assert choose_extractor("points", _ring_info()) == ("raw", [])


def test_an_explicit_statistics_file_is_used_and_never_overwritten(tmp_path):
    info = _ring_info()
    fake, real = _ring_samples(300, 0), _ring_samples(300, 1)
    s = stats_from_features(real.double().numpy() + 0.5)
    np.savez_compressed(tmp_path / "pf.npz", mu=s.mu, sigma=s.sigma)
    before = (tmp_path / "pf.npz").read_bytes()
    (rec,) = evaluate(fake, real, info, ["fid"], real_stats_cache=tmp_path / "pf.npz")
    assert rec["protocol"]["real_source"].startswith("file:")
    sf = stats_from_features(fake.double().numpy())
    assert rec["value"] == pytest.approx(frechet_distance(sf.mu, sf.sigma, s.mu, s.sigma), rel=1e-9)
    assert (tmp_path / "pf.npz").read_bytes() == before
    # a ganzoo cache file named explicitly is refreshed when the samples change
    evaluate(fake, real, info, ["fid"], real_stats_cache=tmp_path / "mine.npz")
    evaluate_module._MEMORY.clear()
    (again,) = evaluate(fake, real, info, ["fid"], real_stats_cache=tmp_path / "mine.npz")
    assert again["protocol"]["real_source"] == f"cache:{tmp_path / 'mine.npz'}"
    (other,) = evaluate(fake, _ring_samples(300, 2), info, ["fid"], real_stats_cache=tmp_path / "mine.npz")
    assert other["protocol"]["real_source"].startswith("computed from 300")
