"""Regularizers as plugins: lazy application and scaling, each penalty against a hand-written
formula, logging under ``reg/<name>``, config validation, and resume of their state."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from ganzoo.config import config_from_dict
from ganzoo.data.base import DataInfo
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.interfaces import StepContext
from ganzoo.plugins import get_registry
from ganzoo.regularizers import (DiscriminatorTerms, GeneratorTerms, RegularizerSet,
                                 flip_and_translate)
from ganzoo.variants.dcgan import DCGAN, DCGANOptions

ROOT = Path(__file__).resolve().parents[1]
IMAGES = DataInfo(name="img", kind="images", shape=(3, 16, 16))


class Critic(nn.Module):
    """A smooth discriminator whose input gradient is known in closed form."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(3 * 16 * 16) * 0.1)

    def forward(self, x, labels=None):
        return torch.tanh(x.flatten(1) @ self.w)


def hand_r1(D, x, gamma):
    """gamma / 2 * E ||d D(x) / dx||^2, from the closed form of Critic's gradient."""
    s = x.flatten(1) @ D.w
    grad = (1 - torch.tanh(s) ** 2)[:, None] * D.w[None]
    return 0.5 * gamma * grad.pow(2).sum(1).mean()


def d_terms(D, real, fake):
    return DiscriminatorTerms(D, real, fake, None, D(real), D(fake))


def test_lazy_r1_equals_hand_written_r1_scaled_by_the_interval_on_due_updates():
    torch.manual_seed(0)
    D, real, fake = Critic(), torch.randn(8, 3, 16, 16), torch.randn(8, 3, 16, 16)
    regs = RegularizerSet([{"name": "r1", "gamma": 1.0, "every": 4}], "images")
    due = {i: regs.terms("D", i, d_terms(D, real, fake)) for i in range(9)}
    assert [i for i, t in due.items() if t] == [0, 4, 8]
    expected = hand_r1(D, real, 1.0)
    assert torch.allclose(due[4]["reg/r1"], 4 * expected, rtol=1e-5)
    assert torch.allclose(regs.logs()["reg/r1"], expected, rtol=1e-5)  # logged before the x4
    # the penalty's gradient reaches D's parameters (create_graph), like the hand-written one
    (g_lazy,) = torch.autograd.grad(due[8]["reg/r1"], D.w)
    (g_hand,) = torch.autograd.grad(4 * hand_r1(D, real, 1.0), D.w)
    assert torch.allclose(g_lazy, g_hand, rtol=1e-4, atol=1e-7)


def test_r2_penalises_generated_samples():
    torch.manual_seed(0)
    D, real, fake = Critic(), torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)
    regs = RegularizerSet([{"name": "r2", "gamma": 3.0}], "images")
    value = regs.terms("D", 0, d_terms(D, real, fake))["reg/r2"]
    assert torch.allclose(value, hand_r1(D, fake, 3.0), rtol=1e-5)


def test_lecam_against_its_formula_and_its_running_averages_resume():
    real_s, fake_s = torch.tensor([2.0, 1.0]), torch.tensor([-1.0, 0.5])
    regs = RegularizerSet([{"name": "lecam", "weight": 0.5, "decay": 0.9}], "points")
    terms = DiscriminatorTerms(nn.Identity(), None, None, None, real_s, fake_s)
    value = regs.terms("D", 0, terms)["reg/lecam"]
    a_real, a_fake = 0.1 * 1.5, 0.1 * -0.25  # one EMA step from 0
    expected = 0.5 * (torch.relu(real_s - a_fake).pow(2).mean() + torch.relu(a_real - fake_s).pow(2).mean())
    assert torch.allclose(value, expected)
    state = regs.state_dict()
    again = RegularizerSet([{"name": "lecam", "weight": 0.5, "decay": 0.9}], "points")
    again.load_state_dict(state)
    assert torch.allclose(again.terms("D", 1, terms)["reg/lecam"], regs.terms("D", 1, terms)["reg/lecam"])


def test_bcr_is_zero_for_an_invariant_discriminator_and_positive_otherwise():
    torch.manual_seed(0)
    real, fake = torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)
    def constant_d(x, labels=None):  # blind to any augmentation
        return x.sum((1, 2, 3)) * 0

    regs = RegularizerSet([{"name": "bcr"}], "images")
    assert float(regs.terms("D", 0, d_terms(constant_d, real, fake))["reg/bcr"]) == 0.0
    D = Critic()
    assert float(regs.terms("D", 1, d_terms(D, real, fake))["reg/bcr"].detach()) > 0
    with pytest.raises(ConfigError, match="bcr.*images"):
        RegularizerSet([{"name": "bcr"}], "points")


def test_flip_and_translate_moves_pixels_without_changing_their_values():
    x = torch.arange(2 * 1 * 8 * 8, dtype=torch.float32).reshape(2, 1, 8, 8) + 1
    y = flip_and_translate(x, 0.25)
    assert y.shape == x.shape
    for i in range(2):  # every non-zero output pixel is one of the input's (zero padding elsewhere)
        assert set(y[i][y[i] != 0].tolist()) <= set(x[i].flatten().tolist())


def test_ortho_penalises_off_diagonal_correlations_of_generator_weights():
    G = nn.Linear(4, 4, bias=False)
    with torch.no_grad():
        G.weight.copy_(torch.eye(4))
    regs = RegularizerSet([{"name": "ortho", "weight": 1.0}], "images")
    terms = GeneratorTerms(G, None, None, None, None, torch.zeros(2))
    assert float(regs.terms("G", 0, terms)["reg/ortho"].detach()) == 0.0  # orthogonal rows: nothing
    assert regs.terms("D", 0, terms) == {}  # a G regularizer never joins D's loss
    with torch.no_grad():
        G.weight.fill_(1.0)
    # W W^T is all 4s: 12 off-diagonal entries of 16
    assert float(regs.terms("G", 1, terms)["reg/ortho"].detach()) == pytest.approx(12 * 16.0)


def test_any_adversarial_variant_applies_them_in_its_discriminator_update():
    torch.manual_seed(0)
    opts = DCGANOptions(name="dcgan", z_dim=8, ngf=4, ndf=4, d_norm="none",
                        regularizers=[{"name": "r1", "gamma": 1.0, "every": 2}])
    variant = DCGAN(opts, IMAGES)
    variant.optimizers = variant.configure_optimizers()
    batches = iter([{"x": torch.randn(4, 3, 16, 16)} for _ in range(4)])
    ctx = StepContext(torch.device("cpu"))
    logs = variant.train_step(batches, ctx)
    assert float(logs["reg/r1"]) > 0
    assert [(r.name, r.options.every) for r in variant.regularizers.items] == [("r1", 2)]


def test_config_validates_each_regularizer_by_its_own_options(tmp_path):
    base = {"variant": {"name": "dcgan"}, "data": {"name": "shapes", "image_size": 16}}
    cfg = config_from_dict({**base, "variant": {"name": "dcgan", "regularizers": ["r1"]}})
    assert cfg.variant.regularizers == [{"name": "r1", "every": 1, "gamma": 10.0}]
    with pytest.raises(ConfigError, match="gama"):
        config_from_dict({**base, "variant": {"name": "dcgan", "regularizers": [{"name": "r1", "gama": 1}]}})
    with pytest.raises(ConfigError, match="unknown regularizer 'lecan'.*did you mean 'lecam'"):
        config_from_dict({**base, "variant": {"name": "dcgan", "regularizers": [{"name": "lecan"}]}})
    with pytest.raises(ConfigError, match="every"):
        config_from_dict({**base, "variant": {"name": "dcgan", "regularizers": [{"name": "r1", "every": 0}]}})


def test_registered_and_listed_like_every_plugin_kind():
    names = get_registry().names("regularizers")
    assert {"r1", "r2", "gp", "lecam", "bcr", "ortho"} <= set(names)
    out = subprocess.run([sys.executable, "-m", "ganzoo", "list", "regularizers"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "r1" in out.stdout and "lecam" in out.stdout


def test_dcgan_config_with_lazy_r1_trains_and_logs_the_penalty(tmp_path):
    """The issue's command, at 4 steps and 16 px."""
    out = subprocess.run(
        [sys.executable, "-m", "ganzoo", "run", str(ROOT / "zoo_configs" / "dcgan.yaml"),
         "variant.regularizers=[{name: r1, gamma: 1.0, every: 4}]", "train.steps=4",
         "data.image_size=16", "variant.ngf=8", "variant.ndf=8", "log.every=1",
         f"run.out_dir={tmp_path}"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in next(tmp_path.glob("*/log.jsonl")).read_text().splitlines()]
    train = [r for r in records if r.get("kind") == "train"]
    assert [r["step"] for r in train] == [1, 2, 3, 4]
    assert all(r["reg/r1"] > 0 for r in train)
    config = next(tmp_path.glob("*/config.yaml")).read_text()
    assert "name: r1" in config and "every: 4" in config


def test_resume_restores_regularizer_state(tmp_path):
    from ganzoo.trainer import train

    cfg = config_from_dict({
        "run": {"name": "lecam", "out_dir": str(tmp_path)}, "seed": 0,
        "variant": {"name": "vanilla", "z_dim": 2, "g_hidden": [8], "d_hidden": [8],
                    "regularizers": [{"name": "lecam", "weight": 0.1}]},
        "data": {"name": "ring", "size": 256}, "train": {"steps": 4, "batch_size": 32},
        "log": {"every": 1, "tensorboard": False, "progress": False},
        "checkpoint": {"every": 2, "keep": 5}})
    result = train(cfg)
    state = torch.load(result.checkpoint, weights_only=True)
    lecam = state["extra"]["regularizers"][0]
    assert lecam["ema_real"] != 0.0 and lecam["ema_fake"] != 0.0
    with pytest.raises(GanzooError, match="regularizer"):
        RegularizerSet([], "points").load_state_dict(state["extra"]["regularizers"])
