"""Super-resolution and inpainting: pairs and masks made from another source, SRGAN, ESRGAN and the
context encoder (2 steps, bit-identical resume), the upscale / inpaint commands, and their
one-line errors (tiny sizes, CPU)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from PIL import Image

from ganzoo.cli import main as cli
from ganzoo.config import config_from_dict
from ganzoo.data.shapes import ShapesDataset
from ganzoo.data.splits import split_code
from ganzoo.errors import ConfigError, DataError
from ganzoo.metrics.paired import baseline_output
from ganzoo.metrics.sharpness import sharpness
from ganzoo.plugins import get_registry
from ganzoo.testing import tiny_config
from ganzoo.trainer import train

SHAPES = {"name": "shapes", "image_size": 16, "size": 16, "test_size": 8}
SR = {"name": "sr_pairs", "lr_scale": 4, "source": SHAPES}
HOLES = {"name": "inpaint_masks", "mask": "boxes", "source": SHAPES}
VARIANTS = {
    "srgan": ({"name": "srgan", "ngf": 4, "ndf": 4, "n_blocks": 1, "n_down_d": 2, "pretrain_steps": 1}, SR),
    "esrgan": ({"name": "esrgan", "ngf": 4, "ndf": 4, "n_blocks": 1, "growth": 4, "n_down_d": 2},
               {**SR, "lr_scale": 2}),
    "inpaint": ({"name": "inpaint", "ngf": 4, "ndf": 4}, HOLES),
}


def source(data: dict):
    cfg = config_from_dict(tiny_config({"name": "dcgan"}, data, "unused"))
    return get_registry().get("datasets", data["name"])(cfg.data)


def test_sr_pairs_are_the_inner_images_and_their_bicubic_reductions():
    src = source({**SR, "method": "bicubic", "quantize": False})
    info = src.info()
    assert info.kind == "paired" and info.shape == (3, 16, 16)
    assert info.extras["input_shape"] == [3, 4, 4] and info.extras["baseline"] == "bicubic"
    batch = src.dataset("test").__getitems__([0, 1, 2]).collated
    inner = ShapesDataset(8, 16, 3, 5, 0, split_code("test", "shapes")).__getitems__([0, 1, 2]).collated
    assert torch.equal(batch["y"], inner["x"])  # the target is the inner source's image
    expected = F.interpolate(inner["x"], size=(4, 4), mode="bicubic", align_corners=False, antialias=True)
    assert torch.allclose(batch["x"], expected.clamp(-1, 1), atol=1e-6)
    quantized = source(SR).dataset("test").__getitems__([0]).collated["x"]
    assert torch.allclose((quantized + 1) * 127.5, ((quantized + 1) * 127.5).round(), atol=1e-4)
    area = source({**SR, "method": "area"}).dataset("test").__getitems__([0]).collated["x"]
    assert not torch.equal(area, quantized)


def test_masks_centre_boxes_free_form_blank_the_hole_and_vary_per_training_seed():
    centre = source({**HOLES, "mask": "centre", "hole": 0.5}).dataset("test").__getitems__([0, 1]).collated
    want = torch.zeros(1, 16, 16)
    want[:, 4:12, 4:12] = 1
    assert torch.equal(centre["mask"][0], want) and torch.equal(centre["mask"][1], want)
    for kind in ("boxes", "free_form"):
        ds = source({**HOLES, "mask": kind}).dataset("train")
        b = ds.get_seeded([0, 0], [11, 12]).collated
        assert torch.equal(b["x"], b["y"] * (1 - b["mask"]))
        assert b["mask"].sum() > 0 and set(b["mask"].unique().tolist()) <= {0.0, 1.0}
        assert not torch.equal(b["mask"][0], b["mask"][1])  # another seed, another hole
        test = source({**HOLES, "mask": kind}).dataset("test")
        assert torch.equal(test.__getitems__([3]).collated["mask"], test.__getitems__([3]).collated["mask"])
    # the trivial baseline fills the hole with the mean colour of the known pixels
    filled = baseline_output("mean_fill", centre)
    known = centre["y"][0][:, want[0] == 0].mean(dim=1)
    assert torch.allclose(filled[0][:, 8, 8], known, atol=1e-5)


def test_an_lr_scale_that_does_not_divide_the_image_size_is_one_line(tmp_path, capsys):
    with pytest.raises(ConfigError, match=r"data\.lr_scale: 3 does not divide source\.image_size 16"):
        source({**SR, "lr_scale": 3})
    folder = tmp_path / "pics"
    folder.mkdir()
    Image.new("RGB", (10, 10)).save(folder / "a.png")
    odd = source({"name": "sr_pairs", "lr_scale": 4, "source": {"name": "image_folder", "root": str(folder)}})
    with pytest.raises(DataError, match="lr_scale 4 does not divide the image size 10x10"):
        odd.dataset("train")
    cfg = tiny_config(*VARIANTS["srgan"], tmp_path / "runs")
    cfg["data"] = {**SR, "lr_scale": 3}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    capsys.readouterr()
    assert cli(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lr_scale" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "runs").exists()  # nothing half-written


@pytest.mark.parametrize("variant,data,message", [
    (VARIANTS["srgan"][0], SHAPES, "trains on paired data but data set 'shapes' is images"),
    (VARIANTS["srgan"][0], HOLES, "up-samples its input by a whole factor"),
    ({**VARIANTS["esrgan"][0], "n_down_d": 5}, SR, "n_down_d=5 needs images of at least 32 px"),
    (VARIANTS["inpaint"][0], SR, "its data must be 'inpaint_masks'"),
])
def test_wrong_data_for_a_variant_is_one_line(variant, data, message):
    from ganzoo.trainer import build

    with pytest.raises(ConfigError, match=message) as err:
        build(config_from_dict(tiny_config(variant, data, "unused")))
    assert "\n" not in str(err.value)


def test_sharpness_is_one_for_the_truth_and_below_one_for_bicubic():
    batch = source(SR).dataset("test").__getitems__(list(range(8))).collated
    assert torch.allclose(sharpness(batch["y"], batch["y"]), torch.ones(8, dtype=torch.float64))
    assert (sharpness(baseline_output("bicubic", batch), batch["y"]) < 0.9).all()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Each variant trained 4 steps (checkpoints at 2 and 4): its config and result."""
    out = {}
    for name, (variant, data) in VARIANTS.items():
        cfg = tiny_config(variant, data, tmp_path_factory.mktemp(name) / "runs", steps=4, batch_size=4)
        cfg["checkpoint"] = {"every": 2, "keep": 3}
        out[name] = (cfg, train(config_from_dict(cfg)))
    return out


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_each_variant_trains_predicts_and_resumes_bit_identically(name, trained, tmp_path):
    cfg, result = trained[name]
    assert result.status == "finished" and result.step == 4
    ckpts = sorted((result.run_dir / "checkpoints").glob("step_*.pt"))
    resumed = tmp_path / "resumed"
    shutil.copytree(result.run_dir, resumed)
    (resumed / "checkpoints" / ckpts[-1].name).unlink()
    train(config_from_dict(cfg), run_dir=resumed, resume=True)
    a = torch.load(ckpts[-1], weights_only=True)
    b = torch.load(resumed / "checkpoints" / ckpts[-1].name, weights_only=True)
    assert a["model"].keys() == b["model"].keys() and any(k.startswith("D.") for k in a["model"])
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), f"{k} differs after resume"
    from ganzoo.inference import load_run

    model = load_run(checkpoint=ckpts[-1])
    batch = source(VARIANTS[name][1]).dataset("test").__getitems__([0, 1]).collated
    out = model.variant.predict(batch)
    assert out.shape == batch["y"].shape and out.min() >= -1 and out.max() <= 1
    if "mask" in batch:  # known pixels are kept
        keep = batch["mask"].expand_as(out) == 0
        assert torch.equal(out[keep], batch["x"][keep])


def test_perceptual_loss_reads_vgg_weights_from_a_file_and_refuses_none(tmp_path, monkeypatch, capsys):
    from ganzoo.nets.vgg import vgg19_features

    monkeypatch.delenv("GANZOO_VGG_WEIGHTS", raising=False)
    net = vgg19_features(3)
    weights = tmp_path / "vgg.pt"
    torch.save({f"features.{k}": v for k, v in net.state_dict().items()}, weights)
    variant = {**VARIANTS["srgan"][0], "perceptual_weight": 1.0, "pixel_weight": 0.0,
               "perceptual_layer": 3, "perceptual_weights": str(weights)}
    result = train(config_from_dict(tiny_config(variant, SR, tmp_path / "a", steps=2, batch_size=4)))
    saved = torch.load(result.checkpoint, weights_only=True)["model"]
    assert all(k.startswith(("G.", "D.")) for k in saved)  # the frozen VGG stays out of the checkpoint
    cfg = tiny_config({**variant, "perceptual_weights": None}, SR, tmp_path / "b", steps=2)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    capsys.readouterr()
    assert cli(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "GANZOO_VGG_WEIGHTS" in err[0]


@pytest.fixture(scope="module")
def runs(trained):
    return {name: result.run_dir for name, (_, result) in trained.items()}


def test_upscale_a_file_and_a_folder_skipping_a_named_pipe(runs, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.new("RGB", (5, 3), (200, 10, 10)).save(folder / "a.png")
    Image.new("L", (4, 4), 90).save(folder / "b.png")
    os.mkfifo(folder / "c.png")
    assert cli(["upscale", str(runs["srgan"]), str(folder / "a.png"), "-o", str(tmp_path / "a4.png")]) == 0
    assert Image.open(tmp_path / "a4.png").size == (20, 12)
    with pytest.warns(UserWarning, match="skipped 1"):
        assert cli(["upscale", str(runs["srgan"]), str(folder), "-o", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]
    assert Image.open(tmp_path / "out" / "b.png").size == (16, 16)
    capsys.readouterr()
    assert cli(["upscale", str(runs["srgan"]), str(folder / "a.png"), "-o", str(tmp_path / "a4.png")]) == 2
    assert cli(["upscale", str(runs["inpaint"]), str(folder / "a.png"), "-o", str(tmp_path / "x.png")]) == 2
    assert cli(["upscale", str(runs["srgan"]), str(folder / "c.png"), "-o", str(tmp_path / "y.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("ganzoo: error:") for line in err)
    assert "--force" in err[0] and "super-resolution" in err[1] and "named pipe" in err[2]


def test_inpaint_fills_only_the_hole(runs, tmp_path, capsys):
    picture = np.zeros((16, 16, 3), np.uint8)
    picture[:, :, 1] = 180
    Image.fromarray(picture).save(tmp_path / "in.png")
    mask = np.zeros((16, 16), np.uint8)
    mask[4:8, 4:8] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "out.png"
    assert cli(["inpaint", str(runs["inpaint"]), str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"),
                "-o", str(out)]) == 0
    filled = np.asarray(Image.open(out))
    assert np.array_equal(filled[mask == 0], picture[mask == 0])
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "empty.png")
    capsys.readouterr()
    assert cli(["inpaint", str(runs["inpaint"]), str(tmp_path / "in.png"), "--mask", str(tmp_path / "empty.png"),
                "-o", str(tmp_path / "o2.png")]) == 2
    assert cli(["inpaint", str(runs["srgan"]), str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"),
                "-o", str(tmp_path / "o3.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no white pixels" in err[0] and "inpainting" in err[1]
    assert not (tmp_path / "o2.png").exists() and not (tmp_path / "o3.png").exists()
