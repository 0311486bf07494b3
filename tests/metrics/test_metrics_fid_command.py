"""``ganzoo fid`` end to end on tiny PNG folders with a random-weights Inception file (dims 64)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.linalg
import torch
from PIL import Image

from ganzoo.commands.fid import main as fid_main
from ganzoo.metrics.inception import load_inception

# fewer images than the 64 feature dimensions keeps the test fast; the bias warning is expected
pytestmark = [pytest.mark.filterwarnings("ignore::ganzoo.metrics.fid.FIDWarning"),
              pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")]


def _write_folder(folder, n, seed, size=(24, 20), mode="RGB", ext="png"):
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
        arr = rng.integers(0, 256, shape, dtype=np.uint8)
        Image.fromarray(arr, mode).save(folder / f"img{i:03d}.{ext}")
    (folder / "notes.txt").write_text("not an image")
    return folder


def _expected_fid(weights, folders) -> float:
    """Decode with PIL here, run the network per image, numpy statistics, scipy's sqrtm."""
    net, _ = load_inception(weights, output_dims=(64,))
    stats = []
    for folder in folders:
        feats = []
        for p in sorted(q for q in folder.iterdir() if q.suffix.lower() == ".png"):
            arr = np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255
            with torch.inference_mode():
                feats.append(net(torch.from_numpy(arr).permute(2, 0, 1)[None])[0][0].double().numpy())
        f = np.stack(feats)
        stats.append((f.mean(0), np.cov(f, rowvar=False)))
    (m1, s1), (m2, s2) = stats
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2) - 2 * np.trace(covmean))


@pytest.fixture
def folders(tmp_path):
    a = _write_folder(tmp_path / "a", 14, 0)
    b = _write_folder(tmp_path / "b", 11, 1, size=(16, 16), mode="L", ext="PNG")  # uppercase extension
    return a, b


def test_fid_command_matches_an_independent_computation(folders, inception_weights, capsys):
    a, b = folders
    rc = fid_main([str(a), str(b), "--weights", str(inception_weights), "--dims", "64", "--device", "cpu",
                   "--num-workers", "0", "--batch-size", "4", "--no-progress"])
    assert rc == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("FID: ")
    value = float(out.split()[-1])
    assert value == pytest.approx(_expected_fid(inception_weights, (a, b)), rel=1e-6)  # singular: ~1e-8
    assert value > 0


def test_save_stats_then_compare_with_the_npz_and_json_record(folders, inception_weights, tmp_path, capsys):
    a, b = folders
    common = ["--weights", str(inception_weights), "--dims", "64", "--device", "cpu", "--no-progress"]
    assert fid_main(["--save-stats", str(a), str(tmp_path / "a.npz"), "--num-workers", "1", *common]) == 0
    with np.load(tmp_path / "a.npz") as f:
        assert f["mu"].shape == (64,) and f["sigma"].shape == (64, 64)
    capsys.readouterr()
    assert fid_main([str(a), str(b), "--num-workers", "0", *common]) == 0
    direct = float(capsys.readouterr().out.split()[-1])
    assert fid_main([str(tmp_path / "a.npz"), str(b), "--json", "--num-workers", "0", *common]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["metric"] == "fid" and record["value"] == pytest.approx(direct, rel=1e-12)
    proto = record["protocol"]
    assert proto["n_fake"] == 14 and proto["n_real"] == 11 and proto["feature_dims"] == 64
    assert proto["extractor_weights_sha256"] is not None and "align_corners=False" in proto["resize"]
    assert proto["ganzoo_version"]
    # identical inputs: zero
    assert fid_main([str(a), str(tmp_path / "a.npz"), "--num-workers", "0", *common]) == 0
    assert abs(float(capsys.readouterr().out.split()[-1])) < 1e-6


def test_user_errors_exit_2_with_one_line(tmp_path, inception_weights, capsys):
    rc = fid_main([str(tmp_path / "missing"), str(tmp_path), "--weights", str(inception_weights)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "missing" in err and "does not exist" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    rc = fid_main([str(empty), str(empty), "--weights", str(inception_weights), "--dims", "64"])
    assert rc == 2 and "no images" in capsys.readouterr().err
