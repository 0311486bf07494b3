"""LPIPS (ganzoo.metrics.lpips): zero for identical images, symmetric, equal to a plain
re-computation over the known VGG-16 layout, the learned weights count, one-line errors, and the
registered metric through evaluate() and 'ganzoo eval'. Weights are random (seeded) but have the
real file's keys and shapes, so every loading step runs for real; only the numbers differ."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from ganzoo.errors import GanzooError
from ganzoo.metrics.lpips import WEIGHTS_ENV, lpips

#: torchvision vgg16 convs up to relu5_3: (features index, in channels, out channels)
CONVS = [(0, 3, 64), (2, 64, 64), (5, 64, 128), (7, 128, 128), (10, 128, 256), (12, 256, 256),
         (14, 256, 256), (17, 256, 512), (19, 512, 512), (21, 512, 512), (24, 512, 512),
         (26, 512, 512), (28, 512, 512)]
LIN_CHANNELS = [64, 128, 256, 512, 512]


def random_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """Both key sets, the shapes of torchvision's vgg16 and lpips' vgg.pth; He-scaled convs so that
    deep features neither vanish nor explode, non-negative lin weights as lpips' are."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for index, cin, cout in CONVS:
        state[f"features.{index}.weight"] = torch.randn(cout, cin, 3, 3, generator=g) * math.sqrt(2 / (9 * cin))
        state[f"features.{index}.bias"] = torch.randn(cout, generator=g) * 0.05
    for tap, c in enumerate(LIN_CHANNELS):
        state[f"lin{tap}.model.1.weight"] = torch.rand(1, c, 1, 1, generator=g)
    return state


@pytest.fixture(scope="module")
def state():
    return random_state()


@pytest.fixture(scope="module")
def weights(state, tmp_path_factory):
    path = tmp_path_factory.mktemp("lpips") / "lpips_vgg.pt"
    torch.save({**state, "classifier.0.weight": torch.zeros(2, 2)}, path)  # extra keys are ignored
    return path


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)


def images(n: int, size: int = 32, seed: int = 1, channels: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, channels, size, size, generator=g) * 2 - 1


def reference(state: dict[str, torch.Tensor], x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    """LPIPS v0.1 (vgg) written out plainly in float64: (N, 5), one column per tap."""
    st = {k: v.double() for k, v in state.items()}
    shift = torch.tensor([-0.030, -0.088, -0.188], dtype=torch.float64).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450], dtype=torch.float64).view(1, 3, 1, 1)

    def taps(x):
        h = (x.double() - shift) / scale
        out, index = [], 0
        for block, convs in enumerate([2, 2, 3, 3, 3]):  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
            if block:
                h = F.max_pool2d(h, 2, 2)
                index += 1
            for _ in range(convs):
                h = F.relu(F.conv2d(h, st[f"features.{index}.weight"], st[f"features.{index}.bias"], padding=1))
                index += 2
            out.append(h)
        return out

    cols = []
    for tap, (f0, f1) in enumerate(zip(taps(x0), taps(x1))):
        u0 = f0 / (torch.sqrt((f0 ** 2).sum(dim=1, keepdim=True)) + 1e-10)
        u1 = f1 / (torch.sqrt((f1 ** 2).sum(dim=1, keepdim=True)) + 1e-10)
        w = st[f"lin{tap}.model.1.weight"].view(1, -1, 1, 1)
        cols.append(((u0 - u1) ** 2 * w).sum(dim=1).mean(dim=(1, 2)))
    return torch.stack(cols, dim=1)


def test_zero_for_identical_images_symmetric_and_grey_is_repeated(weights):
    x, y = images(3), images(3, seed=2)
    assert torch.equal(lpips(x, x, weights), torch.zeros(3, dtype=torch.float64))
    d = lpips(x, y, weights)
    assert d.dtype == torch.float64 and d.shape == (3,) and (d > 0).all()
    assert torch.equal(d, lpips(y, x, weights))
    grey, grey2 = images(2, channels=1, seed=3), images(2, channels=1, seed=4)
    assert torch.equal(lpips(grey, grey2, weights), lpips(grey.repeat(1, 3, 1, 1), grey2.repeat(1, 3, 1, 1), weights))
    assert torch.allclose(lpips(x, y, weights, batch_size=1), d, rtol=1e-5)  # chunks: float32 rounding only


def test_matches_a_plain_recomputation_over_the_known_layout(weights, state):
    x, y = images(2, size=32), images(2, size=32, seed=5)
    want = reference(state, x, y)
    got = lpips(x, y, weights, per_tap=True)
    assert got.shape == (2, 5) and (want > 1e-4).all()  # every tap contributes
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-9)
    assert torch.allclose(lpips(x, y, weights), want.sum(dim=1), rtol=1e-4)
    # a non-square image (relu5_3 is 1x2 here) too
    a, b = images(1, size=32)[..., :16, :], images(1, size=32, seed=6)[..., :16, :]
    assert torch.allclose(lpips(a, b, weights, per_tap=True), reference(state, a, b), rtol=1e-4, atol=1e-9)


def test_quantize_rounds_to_8_bits_first(weights, state):
    x, y = images(1), images(1, seed=7)

    def q(t):
        return (torch.round((t + 1) / 2 * 255) / 255) * 2 - 1

    assert torch.allclose(lpips(x, y, weights, quantize=True), reference(state, q(x), q(y)).sum(1), rtol=1e-4)


def test_the_learned_weights_count_tap_by_tap(weights, state, tmp_path):
    x, y = images(2), images(2, seed=8)
    full = lpips(x, y, weights, per_tap=True)
    zeroed = tmp_path / "lin3_zero.pt"
    torch.save({**state, "lin3.model.1.weight": torch.zeros(1, 512, 1, 1)}, zeroed)
    without = lpips(x, y, zeroed)
    assert (full[:, 3] > 0).all()
    assert torch.allclose(full.sum(1) - without, full[:, 3], rtol=1e-12, atol=0)
    assert torch.allclose(full[:, 3], reference(state, x, y)[:, 3], rtol=1e-4)


def test_safetensors_file_gives_the_same_numbers(weights, state, tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "lpips_vgg.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    x, y = images(1), images(1, seed=9)
    assert torch.equal(lpips(x, y, path), lpips(x, y, weights))


def _one_line_error(fn) -> str:
    with pytest.raises(GanzooError) as info:
        fn()
    text = str(info.value)
    assert text and len(text.splitlines()) == 1, text
    return text


def test_missing_env_file_key_or_shape_are_one_line_errors(no_env, state, tmp_path, monkeypatch):
    x = images(1)
    text = _one_line_error(lambda: lpips(x, x))  # never computed without weights
    assert WEIGHTS_ENV in text and "docs/super_resolution.md" in text

    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "nowhere.pt"))
    text = _one_line_error(lambda: lpips(x, x))
    assert "nowhere.pt" in text and WEIGHTS_ENV in text

    no_lin = tmp_path / "vgg16_only.pt"
    torch.save({k: v for k, v in state.items() if not k.startswith("lin")}, no_lin)
    text = _one_line_error(lambda: lpips(x, x, no_lin))
    assert "vgg16_only.pt" in text and "'lin0.model.1.weight'" in text and "5 of the 31" in text

    no_conv = tmp_path / "no_conv.pt"
    torch.save({k: v for k, v in state.items() if k not in ("features.10.weight", "lin4.model.1.weight")}, no_conv)
    text = _one_line_error(lambda: lpips(x, x, no_conv))
    assert "no_conv.pt" in text and "'features.10.weight'" in text  # the first missing, in network order

    bad_shape = tmp_path / "bad_shape.pt"
    torch.save({**state, "lin4.model.1.weight": torch.ones(1, 256, 1, 1)}, bad_shape)
    text = _one_line_error(lambda: lpips(x, x, bad_shape))
    assert "bad_shape.pt" in text and "'lin4.model.1.weight'" in text and "(1, 512, 1, 1)" in text

    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file\n\nat all")
    assert "garbage.pt" in _one_line_error(lambda: lpips(x, x, garbage))


def test_images_it_cannot_compare_are_one_line_errors(weights):
    assert "16x16" in _one_line_error(lambda: lpips(images(1, size=8), images(1, size=8), weights))
    assert "channels" in _one_line_error(lambda: lpips(images(1, channels=4), images(1, channels=4), weights))
    assert "same shape" in _one_line_error(lambda: lpips(images(1), images(2), weights))


def test_registered_metric_reports_mean_se_and_baseline_like_psnr(weights, no_env, monkeypatch):
    from ganzoo.data.base import DataInfo
    from ganzoo.metrics.evaluate import evaluate
    from ganzoo.metrics.inception import file_sha256

    y = images(4, size=16)
    out = (y + 0.2 * images(4, size=16, seed=11)).clamp(-1, 1)
    base = torch.zeros_like(y)
    info = DataInfo("t", "paired", (3, 16, 16), extras={"baseline": "identity"})
    text = _one_line_error(lambda: evaluate(out, y, info, ["lpips"], baseline=base))
    assert WEIGHTS_ENV in text

    monkeypatch.setenv(WEIGHTS_ENV, str(weights))
    rec, psnr_rec = evaluate(out, y, info, ["lpips", "psnr"], baseline=base, quantize=False)
    values, model, baseline = rec["values"], lpips(out, y, weights), lpips(base, y, weights)
    assert set(values) == {"lpips", "lpips_se", "baseline", "baseline_se"} == {
        k.replace("psnr", "lpips") for k in psnr_rec["values"]}
    assert rec["value"] == pytest.approx(float(model.mean())) and rec["higher_is_better"] is False
    assert values["lpips_se"] == pytest.approx(float(model.std()) / 2)
    assert values["baseline"] == pytest.approx(float(baseline.mean())) and values["baseline"] > rec["value"]
    assert values["baseline_se"] == pytest.approx(float(baseline.std()) / 2)
    assert rec["protocol"]["options"]["weights_sha256"] == file_sha256(weights)
    # the per-metric option names the file too (and wins over the environment)
    monkeypatch.setenv(WEIGHTS_ENV, "/nonexistent.pt")
    again = evaluate(out, y, info, ["lpips"], metric_options={"lpips": {"weights": str(weights)}}, quantize=False)
    assert again[0]["value"] == rec["value"]
    with pytest.raises(GanzooError, match="applies to paired and multi_domain"):
        evaluate(out, y, DataInfo("t", "images", (3, 16, 16)), ["lpips"], metric_options={"lpips": {"weights": str(weights)}})


def test_ganzoo_eval_metrics_lpips_on_a_tiny_pix2pix_run(weights, no_env, tmp_path, capsys, monkeypatch):
    from ganzoo.cli import main as cli
    from ganzoo.config import config_from_dict
    from ganzoo.testing import tiny_config
    from ganzoo.trainer import train

    data = {"name": "shape_edges", "image_size": 16, "size": 4, "test_size": 4}
    cfg = tiny_config({"name": "pix2pix", "ngf": 4, "ndf": 4, "n_layers_d": 2}, data, tmp_path / "runs",
                      steps=1, batch_size=2)
    run_dir = train(config_from_dict(cfg)).run_dir
    capsys.readouterr()
    assert cli(["eval", str(run_dir), "--metrics", "lpips", "-n", "4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and WEIGHTS_ENV in err[0] and not (run_dir / "eval.jsonl").exists()

    monkeypatch.setenv(WEIGHTS_ENV, str(weights))
    assert cli(["eval", str(run_dir), "--metrics", "lpips,psnr", "-n", "4", "--json"]) == 0
    out = capsys.readouterr().out
    records = {r["metric"]: r for r in json.loads(out[out.index("["):])}
    lp = records["lpips"]
    assert lp["baseline"]["name"] == records["psnr"]["baseline"]["name"] == "identity"
    assert lp["value"] > 0 and lp["baseline"]["value"] > 0 and lp["real_split"] == "test"
    assert lp["protocol"]["n_fake"] == 4 and lp["protocol"]["options"]["net"] == "vgg"
    saved = [json.loads(line) for line in (run_dir / "eval.jsonl").read_text().splitlines()]
    assert [r["metric"] for r in saved] == ["lpips", "psnr"]
