"""The trainer: exact resume, Ctrl-C, NaN stops, TensorBoard/JSONL logs, checkpoints."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from ganzoo.checkpoint import list_checkpoints, load_checkpoint
from ganzoo.config import config_from_dict
from ganzoo.errors import TrainingError
from ganzoo.testing import check_variant, tiny_config
from ganzoo.trainer import train

DCGAN = {"name": "dcgan", "z_dim": 8, "ngf": 8, "ndf": 8}
SHAPES = {"name": "shapes", "image_size": 16, "size": 256}


def ganzoo(*args: str, cwd: Path | None = None, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def write_config(tmp_path: Path, steps: int, **sections) -> Path:
    cfg = tiny_config(DCGAN, SHAPES, tmp_path / "runs", steps=steps, **sections)
    cfg["checkpoint"] = {"every": 4, "keep": 2}
    path = tmp_path / "cfg.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_vanilla_and_dcgan_pass_the_variant_smoke_test(tmp_path):
    check_variant(DCGAN, SHAPES, tmp_path / "d")
    check_variant({"name": "vanilla", "z_dim": 8, "g_hidden": [16, 16], "d_hidden": [16]}, SHAPES, tmp_path / "v")
    check_variant({"name": "vanilla", "z_dim": 2, "g_hidden": [16], "d_hidden": [16], "pack": 2,
                   "d_act": "maxout"}, {"name": "ring", "size": 64}, tmp_path / "p", batch_size=8)


def test_resume_is_bit_identical(tmp_path):
    """N steps straight == N/2 steps, `ganzoo resume`, N/2 more (generator and discriminator)."""
    straight = ganzoo("run", str(write_config(tmp_path / "a", 10)))
    assert straight.returncode == 0, straight.stderr
    half = ganzoo("run", str(write_config(tmp_path / "b", 5)))
    assert half.returncode == 0, half.stderr
    run_b = tmp_path / "b" / "runs" / "check"
    resumed = ganzoo("resume", str(run_b), "train.steps=10")
    assert resumed.returncode == 0, resumed.stderr
    a = load_checkpoint(list_checkpoints(tmp_path / "a" / "runs" / "check")[-1])
    b = load_checkpoint(list_checkpoints(run_b)[-1])
    assert a["step"] == b["step"] == 10
    assert a["model"].keys() == b["model"].keys()
    assert any(k.startswith("G.") for k in a["model"]) and any(k.startswith("D.") for k in a["model"])
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    # the JSONL log continues without duplicates
    steps = [r["step"] for r in map(json.loads, (run_b / "log.jsonl").read_text().splitlines())
             if r.get("kind") == "train"]
    assert steps == list(range(1, 11))


def test_tensorboard_reader_sees_scalars_and_images(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = tiny_config(DCGAN, SHAPES, tmp_path / "runs", steps=4)
    cfg["log"].update({"tensorboard": True, "every": 2, "image_every": 2})
    result = train(config_from_dict(cfg))
    acc = EventAccumulator(str(result.tb_dir), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    tags = acc.Tags()
    assert {"loss_d", "loss_g", "grad_norm/D", "grad_norm/G", "lr/G"} <= set(tags["scalars"])
    assert [e.step for e in acc.Scalars("loss_g")] == [2, 4]
    assert "samples" in tags["images"]
    assert result.grid.is_file() and result.grid.stat().st_size > 0


def test_nan_loss_stops_with_step_and_keeps_last_checkpoint(tmp_path, ganzoo_plugin):
    import types

    from ganzoo import hookimpl
    from ganzoo.variants.vanilla import VanillaGAN

    class NaNGAN(VanillaGAN):
        def train_step(self, batches, ctx):
            logs = super().train_step(batches, ctx)
            if ctx.step_index == 2:
                logs["loss_g"] = torch.tensor(float("nan"))
            return logs

    module = types.ModuleType("nan_plugin")
    module.register_variants = hookimpl(lambda register: register("nan_gan", NaNGAN))
    ganzoo_plugin(module)
    cfg = tiny_config({"name": "nan_gan", "z_dim": 4, "g_hidden": [8], "d_hidden": [8]},
                      {"name": "ring", "size": 64}, tmp_path / "runs", steps=10)
    cfg["checkpoint"] = {"every": 2, "keep": 5}
    with pytest.raises(TrainingError) as err:
        train(config_from_dict(cfg))
    run_dir = tmp_path / "runs" / "check"
    assert str(err.value).startswith(f"loss 'loss_g' is nan at step 3: training stopped; the last good "
                                     f"checkpoint is {run_dir / 'checkpoints' / 'step_00000002.pt'}")
    assert [p.name for p in list_checkpoints(run_dir)] == ["step_00000002.pt"]


def test_ctrl_c_writes_a_loadable_checkpoint(tmp_path):
    path = write_config(tmp_path, 100000)
    proc = subprocess.Popen([sys.executable, "-m", "ganzoo", "run", str(path)], stderr=subprocess.PIPE,
                            text=True)
    log = tmp_path / "runs" / "check" / "log.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (log.exists() and log.read_text().count("\n") >= 3):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted at step" in err and "ganzoo resume" in err and "Traceback" not in err
    last = list_checkpoints(tmp_path / "runs" / "check")[-1]
    state = load_checkpoint(last)
    assert state["step"] >= 3 and state["step"] < 100000


def test_sigterm_checkpoints_exits_143_with_one_line_and_resumes_bit_identical(tmp_path):
    """What SLURM and Kubernetes send before a kill: finish the step, checkpoint, one line, 143;
    the resumed run equals one that was never stopped."""
    path = write_config(tmp_path / "t", 100000)
    proc = subprocess.Popen([sys.executable, "-m", "ganzoo", "run", str(path)], stderr=subprocess.PIPE,
                            text=True)
    run_dir = tmp_path / "t" / "runs" / "check"
    deadline = time.time() + 120
    while time.time() < deadline and not ((run_dir / "log.jsonl").exists()
                                          and (run_dir / "log.jsonl").read_text().count("\n") >= 5):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert err.count("\n") == 1 and err.startswith("ganzoo: terminated (SIGTERM) at step "), err
    stopped = load_checkpoint(list_checkpoints(run_dir)[-1])["step"]
    assert 5 <= stopped < 100000 and f"step_{stopped:08d}.pt" in err and f"ganzoo resume {run_dir}" in err
    resumed = ganzoo("resume", str(run_dir), f"train.steps={stopped + 3}")
    assert resumed.returncode == 0, resumed.stderr
    straight = ganzoo("run", str(write_config(tmp_path / "s", stopped + 3)))
    assert straight.returncode == 0, straight.stderr
    a = load_checkpoint(list_checkpoints(tmp_path / "s" / "runs" / "check")[-1])
    b = load_checkpoint(list_checkpoints(run_dir)[-1])
    assert a["step"] == b["step"] == stopped + 3
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k


def test_a_second_run_never_overwrites_the_first(tmp_path):
    cfg = config_from_dict(tiny_config(DCGAN, SHAPES, tmp_path / "runs", steps=2))
    first, second = train(cfg), train(cfg)
    assert first.run_dir.name == "check" and second.run_dir.name == "check-2"
    assert list_checkpoints(first.run_dir) and list_checkpoints(second.run_dir)
