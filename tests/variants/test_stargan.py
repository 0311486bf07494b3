"""StarGAN: heads and conditioning, training, bit-identical resume, one domain refused, eval against
the known answer of color_domains, translate --domain (tiny sizes, CPU)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from ganzoo.cli import main as cli
from ganzoo.config import config_from_dict
from ganzoo.nets.stargan import StarDiscriminator, StarGenerator
from ganzoo.testing import check_variant, tiny_config
from ganzoo.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")

DATA = {"name": "color_domains", "image_size": 16, "size": 16, "test_size": 8, "num_domains": 3}
TINY = {"name": "stargan", "g_conv_dim": 4, "d_conv_dim": 4, "g_repeat_num": 1, "n_critic": 2}


def test_generator_output_depends_on_the_target_domain_and_d_has_two_heads():
    torch.manual_seed(0)
    G, D = StarGenerator(3, 3, conv_dim=4, n_res=1), StarDiscriminator(16, 3, 3, conv_dim=4, n_layers=3)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    a, b = G(x, torch.tensor([0, 0])), G(x, torch.tensor([1, 1]))
    assert a.shape == x.shape and not torch.allclose(a, b)
    src, cls = D(x)
    assert src.shape == (2, 1, 2, 2) and cls.shape == (2, 3)


def test_trains_resumes_bit_identically_and_predicts(tmp_path):
    seen = check_variant(TINY, DATA, tmp_path / "check", steps=2, batch_size=4)
    assert {"loss_d", "loss_d_gp", "loss_d_cls", "loss_g_rec", "loss_g_cls", "loss_g"} <= set(seen["losses"])

    cfg = tiny_config(TINY, DATA, tmp_path / "runs", steps=4, batch_size=4)
    cfg["checkpoint"] = {"every": 2, "keep": 2}
    straight = train(config_from_dict(cfg)).run_dir
    ckpts = sorted((straight / "checkpoints").glob("step_*.pt"))
    resumed = tmp_path / "resumed"
    shutil.copytree(straight, resumed)
    (resumed / "checkpoints" / ckpts[1].name).unlink()
    train(config_from_dict(cfg), run_dir=resumed, resume=True)
    a = torch.load(ckpts[1], weights_only=True)
    b = torch.load(resumed / "checkpoints" / ckpts[1].name, weights_only=True)
    for k in a["model"]:  # random target domains and GP interpolates come from the saved RNG
        assert torch.equal(a["model"][k], b["model"][k]), k


def test_one_domain_and_wrong_kind_are_one_line_exit_2(tmp_path, capsys):
    for name, data, words in (("one", {**DATA, "num_domains": 1}, ("at least 2", "has 1")),
                              ("kind", {"name": "shape_edges", "image_size": 16, "size": 8},
                               ("multi_domain", "paired"))):
        path = tmp_path / f"{name}.yaml"
        path.write_text(json.dumps(tiny_config(TINY, data, tmp_path / name)))
        capsys.readouterr()
        assert cli(["run", str(path)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and all(w in err for w in words), err


def test_eval_against_the_true_recolouring_and_translate_to_a_domain(tmp_path, capsys):
    from PIL import Image

    cfg = tiny_config(TINY, DATA, tmp_path / "runs", steps=1, batch_size=4)
    run_dir = train(config_from_dict(cfg)).run_dir
    capsys.readouterr()
    assert cli(["eval", str(run_dir), "-n", "6", "--json"]) == 0
    out = capsys.readouterr().out
    records = {r["metric"]: r for r in json.loads(out[out.index("["):])}
    assert set(records) == {"psnr", "ssim"} and records["psnr"]["baseline"]["name"] == "identity"
    # identity keeps the source colour, so it is wrong on every shape pixel: finite and well below 100
    assert 0 < records["psnr"]["baseline"]["value"] < 40

    src = tmp_path / "in.png"
    Image.new("RGB", (16, 16), (0, 0, 0)).save(src)
    assert cli(["translate", str(run_dir), str(src), "-o", str(tmp_path / "o.png"), "--domain", "2"]) == 0
    assert Image.open(tmp_path / "o.png").size == (16, 16)
    for bad in (["--domain", "3"], []):
        capsys.readouterr()
        assert cli(["translate", str(run_dir), str(src), "-o", str(tmp_path / "p.png"), *bad]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "--domain" in err and "2 (hue240)" in err, err
        assert not (tmp_path / "p.png").exists()
