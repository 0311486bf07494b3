"""CycleGAN: the reference network layout, loss weights, image pool, lr schedule, translate CLI and
bit-identical resume (tiny sizes, CPU)."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ganzoo.cli import main as cli
from ganzoo.config import config_from_dict
from ganzoo.data.base import DataInfo
from ganzoo.errors import GanzooError
from ganzoo.interfaces import StepContext
from ganzoo.nets.cyclegan import PatchDiscriminator, ResnetGenerator, generator_from_state_dict
from ganzoo.testing import check_variant, tiny_config
from ganzoo.trainer import train
from ganzoo.variants.cyclegan import CycleGAN, CycleGANOptions, ImagePool

DATA = {"name": "two_domain", "image_size": 16, "size": 16, "test_size": 8}
TINY = {"name": "cyclegan", "ngf": 4, "ndf": 4, "n_blocks": 1, "n_layers_d": 2, "pool_size": 3}


def _reference_generator_layout(ngf: int, n_blocks: int) -> dict[str, tuple[int, ...]]:
    """The authors' ResnetGenerator state dict, written out from their module order: pad, conv7,
    IN, ReLU, two (conv3 s2, IN, ReLU), n_blocks ResnetBlocks (conv_block: pad, conv, IN, ReLU,
    pad, conv, IN), two (convT3 s2, IN, ReLU), pad, conv7, tanh; InstanceNorm has no parameters."""
    keys = {"model.1.weight": (ngf, 3, 7, 7), "model.1.bias": (ngf,),
            "model.4.weight": (ngf * 2, ngf, 3, 3), "model.4.bias": (ngf * 2,),
            "model.7.weight": (ngf * 4, ngf * 2, 3, 3), "model.7.bias": (ngf * 4,)}
    for i in range(10, 10 + n_blocks):
        for j in (1, 5):
            keys[f"model.{i}.conv_block.{j}.weight"] = (ngf * 4, ngf * 4, 3, 3)
            keys[f"model.{i}.conv_block.{j}.bias"] = (ngf * 4,)
    up = 10 + n_blocks
    keys.update({f"model.{up}.weight": (ngf * 4, ngf * 2, 3, 3), f"model.{up}.bias": (ngf * 2,),
                 f"model.{up + 3}.weight": (ngf * 2, ngf, 3, 3), f"model.{up + 3}.bias": (ngf,),
                 f"model.{up + 7}.weight": (3, ngf, 7, 7), f"model.{up + 7}.bias": (3,)})
    return keys


def test_check_variant(tmp_path):
    seen = check_variant(TINY, DATA, tmp_path, steps=2, batch_size=2)
    assert {"loss_g", "loss_d_a", "loss_d_b", "loss_cycle_a", "loss_idt_b"} <= set(seen["losses"])
    assert set(seen["translations"]) == {"AtoB", "BtoA"}
    with pytest.raises(GanzooError, match="ganzoo translate"):
        seen["trained"].variant.sample(2)


def test_generator_matches_the_reference_layout():
    sd = ResnetGenerator(3, 3, ngf=64, n_blocks=9).state_dict()
    expected = _reference_generator_layout(64, 9)
    assert list(sd) == list(expected)  # same keys, same order
    assert {k: tuple(v.shape) for k, v in sd.items()} == expected
    assert "model.26.weight" in sd and len(sd) == 2 * (3 + 2 * 9 + 3)
    assert set(ResnetGenerator(3, 3, ngf=32, n_blocks=6).state_dict()) == set(_reference_generator_layout(32, 6))


def test_patch_discriminator_matches_the_reference_layout():
    d = PatchDiscriminator(3, ndf=64, n_layers=3)
    shapes = {k: tuple(v.shape) for k, v in d.state_dict().items()}
    assert shapes == {"model.0.weight": (64, 3, 4, 4), "model.0.bias": (64,),
                      "model.2.weight": (128, 64, 4, 4), "model.2.bias": (128,),
                      "model.5.weight": (256, 128, 4, 4), "model.5.bias": (256,),
                      "model.8.weight": (512, 256, 4, 4), "model.8.bias": (512,),
                      "model.11.weight": (1, 512, 4, 4), "model.11.bias": (1,)}
    strides = [m.stride[0] for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert strides == [2, 2, 2, 1, 1]
    assert d(torch.zeros(1, 3, 70, 70)).shape == (1, 1, 6, 6)  # 70x70 receptive field per score


def test_reference_weights_translate_end_to_end(tmp_path):
    """A state dict with exactly the reference keys and shapes (ngf 64, 9 blocks) goes through
    'ganzoo translate --weights' in a subprocess and gives that network's output."""
    torch.manual_seed(0)
    layout = _reference_generator_layout(64, 9)
    state = {k: torch.randn(shape) * 0.02 for k, shape in layout.items()}
    weights = tmp_path / "latest_net_G_A.pth"
    torch.save(state, weights)
    src = tmp_path / "in.png"
    pixels = torch.randint(0, 256, (20, 28, 3), dtype=torch.uint8)
    Image.fromarray(pixels.numpy()).save(src)
    out = tmp_path / "out.png"
    proc = subprocess.run([sys.executable, "-m", "ganzoo", "translate", "--weights", str(weights), str(src),
                           "-o", str(out), "--size", "16"], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    got = torch.from_numpy(np.array(Image.open(out))).int()
    assert got.shape == (16, 16, 3)

    net = ResnetGenerator(3, 3, 64, 9)
    net.load_state_dict(state)
    x = torch.from_numpy(np.array(Image.open(src).resize((16, 16), Image.BICUBIC)))
    x = x.permute(2, 0, 1).float().div(127.5).sub(1).unsqueeze(0)
    with torch.no_grad():
        want = ((net(x)[0].clamp(-1, 1) + 1) * 127.5).round().permute(1, 2, 0).int()
    assert (got - want).abs().max() <= 1


def test_stale_instance_norm_buffers_are_dropped_and_sizes_read_from_the_file():
    layout = _reference_generator_layout(8, 2)
    state = {k: torch.randn(s) for k, s in layout.items()}
    state["model.2.running_mean"] = torch.zeros(8)  # what pre-0.4 InstanceNorm checkpoints carry
    state["model.10.conv_block.2.running_var"] = torch.ones(32)
    net = generator_from_state_dict(state)
    assert (net.ngf, net.n_blocks) == (8, 2)
    assert torch.equal(net.state_dict()["model.15.weight"], state["model.15.weight"])
    with pytest.raises(ValueError, match="n_blocks=3"):
        generator_from_state_dict(state, n_blocks=3)


def test_image_pool_follows_the_reference_probabilities():
    pool = ImagePool(4)
    torch.manual_seed(0)
    first = [pool.query(torch.full((1, 1, 2, 2), float(i))) for i in range(4)]
    assert [float(t[0, 0, 0, 0]) for t in first] == [0, 1, 2, 3]  # filling: each image comes back
    returned_old, slots = 0, torch.zeros(4)
    n = 4000
    for i in range(4, 4 + n):
        stored = {float(t[0, 0, 0]) for t in pool.images}
        out = float(pool.query(torch.full((1, 1, 2, 2), float(i)))[0, 0, 0, 0])
        if out != i:
            returned_old += 1
            assert out in stored and out not in {float(t[0, 0, 0]) for t in pool.images}
            slots[[float(t[0, 0, 0]) for t in pool.images].index(i)] += 1
        assert len(pool.images) == 4
    assert abs(returned_old / n - 0.5) < 0.04  # binomial sd 0.008
    assert (slots / returned_old - 0.25).abs().max() < 0.05  # the replaced slot is uniform

    def run(seed):
        torch.manual_seed(seed)
        p = ImagePool(3)
        return torch.cat([p.query(torch.randn(2, 3, 4, 4)) for _ in range(20)])

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))
    x = torch.randn(3, 3, 4, 4)
    none = ImagePool(0)
    assert torch.equal(none.query(x), x) and none.images == []


def _variant(**opts) -> CycleGAN:
    torch.manual_seed(0)
    info = DataInfo(name="t", kind="unpaired", shape=(3, 16, 16))
    v = CycleGAN(CycleGANOptions(**{**TINY, **opts}), info)
    v.optimizers = v.configure_optimizers()
    return v


def test_lr_is_constant_then_linear_to_zero():
    v = _variant(n_steps_constant=5, n_steps_decay=10)
    scheds = v.configure_schedulers(v.optimizers, total_steps=15)
    lrs = []
    for _ in range(15):
        lrs.append(v.optimizers["G"].param_groups[0]["lr"])
        assert v.optimizers["D"].param_groups[0]["lr"] == lrs[-1]
        for name, s in scheds.items():
            v.optimizers[name].step()  # no gradients: changes nothing, keeps the call order right
            s.step()
    want = [2e-4] * 5 + [2e-4 * (1 - k / 11) for k in range(1, 11)]
    assert lrs == pytest.approx(want, rel=1e-12)
    assert lrs[-1] == pytest.approx(2e-4 / 11) and lrs[-1] < lrs[-2]
    for s in scheds.values():  # past the end it stays at 0
        for _ in range(3):
            s.step()
    assert v.optimizers["G"].param_groups[0]["lr"] == 0
    assert _variant().lr_steps(200) == (100, 100)  # unset: half constant, half decay
    assert _variant(n_steps_decay=30).lr_steps(200) == (170, 30)


def test_loss_weights_cycle_and_identity():
    """Identity is lambda * lambda_identity (effective 5 by default), cycle is lambda."""
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1, torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    v = _variant()
    with torch.no_grad():
        terms = v.generator_losses(a, b)
        assert float(terms["loss_idt_a"]) == pytest.approx(5 * float(F.l1_loss(v.G_A(b), b)), rel=1e-5)
        assert float(terms["loss_idt_b"]) == pytest.approx(5 * float(F.l1_loss(v.G_B(a), a)), rel=1e-5)
        assert float(terms["loss_cycle_a"]) == pytest.approx(10 * float(F.l1_loss(v.G_B(v.G_A(a)), a)), rel=1e-5)
        assert float(terms["loss_g_a"]) == pytest.approx(float(((v.D_A(v.G_A(a)) - 1) ** 2).mean()), rel=1e-5)
        w = _variant(lambda_A=2.0, lambda_B=4.0).generator_losses(a, b)
        assert float(w["loss_idt_a"]) == pytest.approx(2 * float(F.l1_loss(v.G_A(b), b)), rel=1e-5)
        assert float(w["loss_idt_b"]) == pytest.approx(1 * float(F.l1_loss(v.G_B(a), a)), rel=1e-5)
        assert "loss_idt_a" not in _variant(lambda_identity=0).generator_losses(a, b)


def test_discriminator_loss_is_halved_and_sees_the_right_domain():
    g = torch.Generator().manual_seed(2)
    batch = {"a": torch.rand(1, 3, 16, 16, generator=g) * 2 - 1, "b": torch.rand(1, 3, 16, 16, generator=g) * 2 - 1}
    v = _variant()
    before = copy.deepcopy(v)
    logs = v.train_step(iter([batch]), StepContext(torch.device("cpu")))
    with torch.no_grad():  # the pool is empty, so D_A sees this step's fake B (from G_A before its update)
        fake_b = before.G_A(batch["a"])
        want = 0.5 * (((before.D_A(batch["b"]) - 1) ** 2).mean() + (before.D_A(fake_b) ** 2).mean())
    assert float(logs["loss_d_a"]) == pytest.approx(float(want), rel=1e-5)
    assert all(p.requires_grad for p in v.D_A.parameters())
    assert len(v.pool_A.images) == len(v.pool_B.images) == 1


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cyclegan-run")
    return train(config_from_dict(tiny_config(TINY, DATA, tmp, steps=2, batch_size=2))).run_dir


def _png(path, h, w, seed):
    g = torch.Generator().manual_seed(seed)
    Image.fromarray(torch.randint(0, 256, (h, w, 3), generator=g, dtype=torch.uint8).numpy()).save(path)


def test_translate_cli_file_and_folder(trained_run, tmp_path, capsys):
    from ganzoo.inference import load_run

    src = tmp_path / "one.png"
    _png(src, 20, 24, 0)
    out = tmp_path / "out" / "t.png"
    assert cli(["translate", str(trained_run), str(src), "-o", str(out), "--direction", "BtoA"]) == 0
    got = np.array(Image.open(out))
    assert got.shape == (16, 16, 3)  # resized to the model's image size
    variant = load_run(trained_run).variant
    x = torch.from_numpy(np.array(Image.open(src).resize((16, 16), Image.BICUBIC))).permute(2, 0, 1)
    want = ((variant.translate(x.float().div(127.5).sub(1)[None], "BtoA")[0] + 1) * 127.5).round()
    assert (torch.from_numpy(got).permute(2, 0, 1).float() - want).abs().max() <= 1

    assert cli(["translate", str(trained_run), str(src), "-o", str(tmp_path / "k.png"), "--keep-size"]) == 0
    assert np.asarray(Image.open(tmp_path / "k.png")).shape == (20, 24, 3)

    folder, dest = tmp_path / "in", tmp_path / "outdir"
    folder.mkdir()
    for i, name in enumerate(["a.png", "b.jpg", "c.png"]):
        _png(folder / name, 16 + 4 * i, 16, i)
    (folder / "notes.txt").write_text("not an image")
    assert cli(["translate", str(trained_run), str(folder), "-o", str(dest)]) == 0
    assert sorted(p.name for p in dest.iterdir()) == ["a.png", "b.jpg", "c.png"]
    assert Image.open(dest / "b.jpg").format == "JPEG" and Image.open(dest / "c.png").size == (16, 16)

    capsys.readouterr()
    assert cli(["translate", str(trained_run), str(tmp_path / "missing.png"), "-o", str(out)]) == 2
    assert cli(["translate", str(trained_run), str(src), "-o", str(out), "--ngf", "8"]) == 2
    assert cli(["translate", str(src), "-o", str(out)]) == 2  # neither run nor weights
    err = capsys.readouterr().err
    assert "missing.png" in err and "--weights" in err and "Traceback" not in err
    assert all(line.startswith("ganzoo: error:") for line in err.strip().splitlines())


def test_resume_is_bit_identical_pool_included(tmp_path):
    cfg = tiny_config({**TINY, "pool_size": 2}, DATA, tmp_path / "runs", steps=6, batch_size=2)
    cfg["checkpoint"] = {"every": 3, "keep": 2}
    straight = train(config_from_dict(cfg)).run_dir
    ckpts = sorted((straight / "checkpoints").glob("step_*.pt"))
    assert [p.name for p in ckpts] == ["step_00000003.pt", "step_00000006.pt"]

    resumed_dir = tmp_path / "resumed"
    shutil.copytree(straight, resumed_dir)
    (resumed_dir / "checkpoints" / ckpts[1].name).unlink()
    train(config_from_dict(cfg), run_dir=resumed_dir, resume=True)

    a = torch.load(ckpts[1], weights_only=True)
    b = torch.load(resumed_dir / "checkpoints" / ckpts[1].name, weights_only=True)
    half = torch.load(ckpts[0], weights_only=True)
    assert half["extra"]["pool_A"].shape[0] == 2  # the pool was full (and random) before the resume
    for part in ("model", "extra"):
        assert a[part].keys() == b[part].keys()
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), f"{part}.{k} differs after resume"
    assert not torch.equal(half["extra"]["pool_B"], a["extra"]["pool_B"])  # the pool kept changing
    assert a["optimizers"]["G"]["state"][0]["step"] == b["optimizers"]["G"]["state"][0]["step"]
    assert torch.equal(a["optimizers"]["D"]["state"][0]["exp_avg"], b["optimizers"]["D"]["state"][0]["exp_avg"])
