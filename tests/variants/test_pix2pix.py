"""pix2pix: U-Net layout, the loss terms, training, bit-identical resume, wrong data kinds, eval
of PSNR/SSIM with the baseline, translate (tiny sizes, CPU)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from ganzoo.cli import main as cli
from ganzoo.config import config_from_dict
from ganzoo.nets.pix2pix import UNetGenerator, default_depth
from ganzoo.testing import check_variant, tiny_config
from ganzoo.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")

DATA = {"name": "shape_edges", "image_size": 16, "size": 16, "test_size": 8}
TINY = {"name": "pix2pix", "ngf": 4, "ndf": 4, "n_layers_d": 2}


def test_unet_skips_reach_every_level_and_dropout_is_in_the_inner_decoder():
    assert default_depth(32, 32) == 5 and default_depth(256, 256) == 8 and default_depth(24, 24) == 3
    net = UNetGenerator(1, 3, 5, ngf=4, n_dropout=2)
    assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 3, 32, 32)
    with_dropout = [i for i, up in enumerate(net.ups) if any(isinstance(m, torch.nn.Dropout) for m in up)]
    assert with_dropout == [2, 3]  # the two blocks just outside the innermost (4)
    # the outermost decoder block sees the first encoder level concatenated: 2 * ngf channels
    assert net.ups[0][1].in_channels == 8 and net.ups[4][1].in_channels == 4 * 8


def test_trains_resumes_bit_identically_and_predicts(tmp_path):
    seen = check_variant(TINY, DATA, tmp_path / "check", steps=2, batch_size=2)
    assert {"loss_d", "loss_g_gan", "loss_g_l1", "loss_g"} <= set(seen["losses"])
    assert seen["samples"].shape == (4, 3, 16, 16)

    cfg = tiny_config(TINY, DATA, tmp_path / "runs", steps=4, batch_size=2)
    cfg["checkpoint"] = {"every": 2, "keep": 2}
    straight = train(config_from_dict(cfg)).run_dir
    ckpts = sorted((straight / "checkpoints").glob("step_*.pt"))
    resumed = tmp_path / "resumed"
    shutil.copytree(straight, resumed)
    (resumed / "checkpoints" / ckpts[1].name).unlink()
    train(config_from_dict(cfg), run_dir=resumed, resume=True)
    a = torch.load(ckpts[1], weights_only=True)
    b = torch.load(resumed / "checkpoints" / ckpts[1].name, weights_only=True)
    assert any(k.startswith("G.") for k in a["model"]) and any(k.startswith("D.") for k in a["model"])
    for k in a["model"]:  # BatchNorm running statistics included
        assert torch.equal(a["model"][k], b["model"][k]), k


def test_l1_term_is_lambda_times_the_mean_absolute_error(tmp_path):
    from ganzoo.plugins import get_registry

    source = get_registry().get("datasets", "shape_edges")
    info = source(source.Options(**DATA)).info()
    variant = get_registry().get("variants", "pix2pix")
    opts = variant.Options(**TINY, lambda_l1=7.0)
    model = variant(opts, info)
    x, y = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    fake = torch.zeros_like(y)
    terms = model.generator_terms(x, y, fake)
    assert torch.allclose(terms["loss_g_l1"], 7.0 * y.abs().mean())


def test_wrong_data_kind_is_one_line_exit_2(tmp_path, capsys):
    cfg = tiny_config(TINY, {"name": "shapes", "image_size": 16, "size": 8}, tmp_path / "runs")
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(cfg))
    capsys.readouterr()
    assert cli(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "paired" in err and "images" in err
    assert not (tmp_path / "runs").exists()


def test_eval_reports_psnr_ssim_with_the_identity_baseline_and_translate_writes_outputs(tmp_path, capsys):
    from PIL import Image

    cfg = tiny_config(TINY, DATA, tmp_path / "runs", steps=2, batch_size=2)
    run_dir = train(config_from_dict(cfg)).run_dir
    capsys.readouterr()
    assert cli(["eval", str(run_dir), "--metrics", "psnr,ssim", "-n", "8", "--json"]) == 0
    out = capsys.readouterr().out
    records = {r["metric"]: r for r in json.loads(out[out.index("["):])}
    assert records["psnr"]["baseline"]["name"] == "identity" and records["psnr"]["real_split"] == "test"
    # the identity baseline (outlines on black vs filled shapes on grey) is a few dB at most
    assert records["psnr"]["baseline"]["value"] < 6 and 0 <= records["ssim"]["value"] <= 1
    assert records["psnr"]["values"]["psnr_se"] > 0

    src = tmp_path / "in.png"
    Image.new("RGB", (16, 16), (200, 10, 10)).save(src)
    assert cli(["translate", str(run_dir), str(src), "-o", str(tmp_path / "out.png")]) == 0
    assert Image.open(tmp_path / "out.png").size == (16, 16)
    assert cli(["translate", str(run_dir), str(src), "-o", str(tmp_path / "o2.png"), "--domain", "1"]) == 2
    assert "--domain applies to multi-domain runs" in capsys.readouterr().err

    # an export translates exactly as its run does; tracing formats are refused in one line
    export = tmp_path / "export"
    assert cli(["export", str(run_dir), "-o", str(export)]) == 0
    assert cli(["translate", str(export), str(src), "-o", str(tmp_path / "e.png")]) == 0
    assert (tmp_path / "e.png").read_bytes() == (tmp_path / "out.png").read_bytes()
    capsys.readouterr()
    assert cli(["export", str(run_dir), "-o", str(tmp_path / "ts"), "--format", "torchscript"]) == 2
    err = capsys.readouterr().err
    assert "translates images" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "ts").exists()
