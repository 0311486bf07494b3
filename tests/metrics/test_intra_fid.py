"""Intra-FID: the mean of per-class FIDs on the same features as FID, and its refusals."""

from __future__ import annotations

import contextlib
import io
import json
from functools import partial

import numpy as np
import pytest
import torch
import yaml

from ganzoo.cli import main
from ganzoo.config import config_from_dict
from ganzoo.data.base import DataInfo
from ganzoo.errors import GanzooError
from ganzoo.metrics.evaluate import evaluate
from ganzoo.metrics.features import get_extractor, to_unit
from ganzoo.metrics.fid import frechet_distance
from ganzoo.testing import tiny_config
from ganzoo.trainer import train

#: a handful of samples per class in 16 or 256 dimensions: the estimate is biased, and says so
pytestmark = pytest.mark.filterwarnings("ignore:FID estimate is biased")
K = 3
INFO = DataInfo(name="tiny", kind="images", shape=(1, 4, 4), num_classes=K)


def images_and_labels(seed: int, n: int, shift: float) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, K, (n,), generator=g)
    x = (torch.rand(n, 1, 4, 4, generator=g) * 1.2 - 0.6 + shift * (labels[:, None, None, None] - 1))
    return x.clamp(-1, 1), labels


def by_hand(fake, fake_y, real, real_y) -> list[float]:
    """Per-class FIDs from the raw extractor's features, with numpy's mean and covariance."""
    ext = get_extractor("raw", dims=16)
    f_feat, _ = ext.extract(fake, transform=partial(to_unit, quantize=True))
    r_feat, _ = ext.extract(real, transform=partial(to_unit, quantize=True))
    f_feat, r_feat = np.asarray(f_feat, np.float64), np.asarray(r_feat, np.float64)
    out = []
    for c in range(K):
        a, b = f_feat[fake_y.numpy() == c], r_feat[real_y.numpy() == c]
        out.append(frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)))
    return out


def test_intra_fid_is_the_mean_of_the_per_class_fids_on_the_same_features(tmp_path):
    fake, fake_y = images_and_labels(0, 120, 0.3)
    real, real_y = images_and_labels(1, 150, 0.2)
    fid, intra = evaluate(fake, real, INFO, ["fid", "intra_fid"], extractor="raw", fake_labels=fake_y,
                          real_labels=real_y, real_stats_cache=tmp_path)
    expected = by_hand(fake, fake_y, real, real_y)
    assert intra["value"] == pytest.approx(float(np.mean(expected)), rel=1e-9)
    for c in range(K):
        assert intra["values"][f"fid_class_{c}"] == pytest.approx(expected[c], rel=1e-9)
    assert len(set(np.round(expected, 6))) == K  # the classes differ, so the mean is not vacuous
    assert intra["value"] != pytest.approx(fid["value"])  # not the pooled FID
    opts = intra["protocol"]["options"]
    assert opts["n_fake_per_class"] == [int((fake_y == c).sum()) for c in range(K)]
    assert opts["n_real_per_class"] == [int((real_y == c).sum()) for c in range(K)]
    assert intra["protocol"]["extractor"] == fid["protocol"]["extractor"] == "raw"
    # the real side comes from the cache the second time: same features, same score
    again = evaluate(fake, real, INFO, ["intra_fid"], extractor="raw", fake_labels=fake_y,
                     real_labels=real_y, real_stats_cache=tmp_path)[0]
    assert again["value"] == intra["value"]


def test_intra_fid_refuses_unlabelled_samples_and_classes_with_fewer_than_two():
    fake, fake_y = images_and_labels(0, 60, 0.3)
    real, real_y = images_and_labels(1, 60, 0.2)
    with pytest.raises(GanzooError, match="conditional runs only"):
        evaluate(fake, real, INFO, ["intra_fid"], extractor="raw", real_labels=real_y)
    with pytest.raises(GanzooError, match="labelled real samples"):
        evaluate(fake, real, INFO, ["intra_fid"], extractor="raw", fake_labels=fake_y)
    lonely = fake_y.clone()
    lonely[lonely == 2] = 0
    lonely[0] = 2  # one generated sample of class 2
    with pytest.raises(GanzooError, match="class 2 has 1 generated"):
        evaluate(fake, real, INFO, ["intra_fid"], extractor="raw", fake_labels=lonely, real_labels=real_y)


def cli(*argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main([str(a) for a in argv])
    return code, err.getvalue()


def test_eval_scores_conditional_runs_per_class_and_refuses_unconditional_ones(tmp_path):
    data = {"name": "shapes", "image_size": 16, "channels": 1, "size": 64, "num_classes": K}
    runs = {}
    for name in ("dcgan", "conditional"):
        cfg = tiny_config({"name": name, "z_dim": 8, "ngf": 4, "ndf": 4}, data, tmp_path / "runs", steps=1)
        cfg["run"]["name"] = name
        runs[name] = train(config_from_dict(cfg)).run_dir
    code, err = cli("eval", runs["dcgan"], "--metrics", "intra_fid", "--extractor", "raw", "-n", 30)
    assert code == 2 and err.count("\n") == 1 and "not conditional" in err
    assert not (runs["dcgan"] / "eval.jsonl").exists()
    code, err = cli("eval", runs["conditional"], "--metrics", "intra_fid", "--extractor", "raw", "-n", 30)
    assert code == 0, err
    record = json.loads((runs["conditional"] / "eval.jsonl").read_text())
    assert record["metric"] == "intra_fid"
    per_class = [record["values"][f"fid_class_{c}"] for c in range(K)]
    assert record["value"] == pytest.approx(float(np.mean(per_class)), rel=1e-12)
    assert sum(record["protocol"]["options"]["n_fake_per_class"]) == 30


def test_run_refuses_a_per_class_metric_for_an_unconditional_variant_before_training(tmp_path):
    """The refusal comes at start-up, naming the file and key, before any run folder exists."""
    data = {"name": "shapes", "image_size": 16, "channels": 1, "size": 64, "num_classes": K}
    cfg = tiny_config({"name": "dcgan", "z_dim": 8, "ngf": 4, "ndf": 4}, data, tmp_path / "runs", steps=4)
    cfg["eval"] = {"every": 2, "n": 30, "metrics": ["intra_fid"], "extractor": "raw"}
    path = tmp_path / "dcgan_intra.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code, err = cli("run", path)
    assert code == 2 and err.count("\n") == 1, err
    assert f"{path}: eval.metrics: metric 'intra_fid'" in err and "not conditional" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
