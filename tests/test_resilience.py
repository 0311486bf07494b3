"""Crash safety and scale: SIGKILL at random moments, corrupt checkpoints, torchrun on CPU."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
import yaml

from ganzoo.checkpoint import list_checkpoints, load_checkpoint
from ganzoo.testing import tiny_config

STEPS = 24


def kill_config(tmp_path: Path, name: str) -> Path:
    cfg = tiny_config({"name": "vanilla", "z_dim": 4, "g_hidden": [256, 256], "d_hidden": [256, 256]},
                      {"name": "ring", "size": 512}, tmp_path / "runs", steps=STEPS, batch_size=32)
    cfg["run"]["name"] = name
    cfg["log"].update({"every": 1, "tensorboard": True, "image_every": 1000})
    cfg["checkpoint"] = {"every": 2, "keep": 3}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def start(cfg: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ganzoo", "run", str(cfg), "--resume", "auto"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill_during_checkpoint_write(proc: subprocess.Popen, ckpt_dir: Path, timeout: float = 60) -> bool:
    """SIGKILL as soon as a temporary checkpoint file appears; False if the run ended first."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if ckpt_dir.is_dir() and any(p.name.endswith(".tmp") for p in ckpt_dir.iterdir()):
            proc.kill()
            proc.wait()
            return True
        time.sleep(0.0005)
    proc.wait()
    return False


def wait_for_step(proc: subprocess.Popen, log: Path, step: int, timeout: float = 120) -> bool:
    """Wait until the run has logged ``step`` (True) or has ended (False)."""
    import json

    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if log.exists():
            lines = [l for l in log.read_text().splitlines() if l.endswith("}")]
            steps = [json.loads(l).get("step", 0) for l in lines]
            if steps and max(steps) >= step:
                return True
        time.sleep(0.01)
    return False


def test_sigkill_at_random_moments_then_resume_is_bit_identical(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    straight = subprocess.run([sys.executable, "-m", "ganzoo", "run", str(kill_config(tmp_path, "straight"))],
                              capture_output=True, text=True, timeout=300)
    assert straight.returncode == 0, straight.stderr

    cfg = kill_config(tmp_path, "killed")
    run_dir = tmp_path / "runs" / "killed"
    rng = random.Random(1234)
    kills, mid_write = 0, 0
    # First a kill in the middle of a checkpoint write, then kills at random moments.
    proc = start(cfg)
    if kill_during_checkpoint_write(proc, run_dir / "checkpoints"):
        kills, mid_write = kills + 1, mid_write + 1
    # then kills at random training steps (by progress, so the machine's speed does not matter)
    for target in sorted(rng.sample(range(4, STEPS - 2), 3)):
        proc = start(cfg)
        if wait_for_step(proc, run_dir / "log.jsonl", target):
            proc.kill()
            kills += 1
        proc.wait()
    # a corrupt latest checkpoint is skipped with a warning
    found = list_checkpoints(run_dir)
    if found:
        found[-1].write_bytes(found[-1].read_bytes()[:100])
    final = subprocess.run([sys.executable, "-m", "ganzoo", "run", str(cfg), "--resume", "auto"],
                           capture_output=True, text=True, timeout=300)
    if "already finished" not in final.stderr:
        assert final.returncode == 0, final.stderr
    assert kills == 4 and mid_write == 1
    if found:
        assert "skipping" in final.stderr and found[-1].name in final.stderr

    a = load_checkpoint(list_checkpoints(tmp_path / "runs" / "straight")[-1])
    b = load_checkpoint(list_checkpoints(run_dir)[-1])
    assert a["step"] == b["step"] == STEPS
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    for name in a["optimizers"]:
        for pid, st in a["optimizers"][name]["state"].items():
            assert torch.equal(st["exp_avg"], b["optimizers"][name]["state"][pid]["exp_avg"])
    assert not [p for p in (run_dir / "checkpoints").iterdir() if p.name.endswith(".tmp")]

    acc = EventAccumulator(str(run_dir / "tb"), size_guidance={"scalars": 0})
    acc.Reload()
    steps = [e.step for e in acc.Scalars("loss_g")]
    assert steps == list(range(1, STEPS + 1)), steps  # one continuous curve, no gaps or repeats
    straight_acc = EventAccumulator(str(tmp_path / "runs" / "straight" / "tb"), size_guidance={"scalars": 0})
    straight_acc.Reload()
    assert [e.value for e in acc.Scalars("loss_g")] == [e.value for e in straight_acc.Scalars("loss_g")]


DETERMINISTIC_PLUGIN = '''
"""A noise-free "variant" (an autoencoder) so that data-parallel and single-process runs can be
compared exactly: its update depends only on the data."""
import torch
from torch import nn
from ganzoo import hookimpl, Variant, VariantOptions

class AutoencoderOptions(VariantOptions):
    lr: float = 1e-2

class Autoencoder(Variant):
    Options = AutoencoderOptions
    supports = ("points",)

    def __init__(self, options, data):
        super().__init__(options, data)
        self.G = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))

    def configure_optimizers(self):
        return {"G": torch.optim.Adam(self.G.parameters(), lr=self.options.lr)}

    def train_step(self, batches, ctx):
        x = next(batches)["x"]
        loss = ((self.G(x) - x) ** 2).mean()
        self.optimizers["G"].zero_grad()
        ctx.backward(loss)
        ctx.step(self.optimizers["G"], "G")
        return {"loss": loss.detach()}

    def fixed_inputs(self, n, generator, examples):
        return examples["x"]

    @torch.no_grad()
    def preview(self, fixed):
        return self.G(fixed)

    def sample(self, n, generator=None, labels=None):
        return self.G(torch.randn(n, 2, generator=generator))

@hookimpl
def register_variants(register):
    register("ae_test", Autoencoder)
'''


def test_torchrun_two_ranks_equal_one_process_with_twice_the_batch(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "ganzoo_test_ae.py").write_text(textwrap.dedent(DETERMINISTIC_PLUGIN))
    info = site / "ganzoo_test_ae-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ganzoo-test-ae\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ganzoo]\nae_test = ganzoo_test_ae\n")
    env = {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}

    def config(name: str, batch: int) -> Path:
        cfg = tiny_config({"name": "ae_test"}, {"name": "ring", "size": 256}, tmp_path / "runs",
                          steps=12, batch_size=batch)
        cfg["run"]["name"] = name
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    single = subprocess.run([sys.executable, "-m", "ganzoo", "run", str(config("single", 16))],
                            capture_output=True, text=True, env=env, timeout=300)
    assert single.returncode == 0, single.stderr
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    ddp = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "ganzoo", "run",
                          str(config("ddp", 8))], capture_output=True, text=True, env=env, timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-3000:]

    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert runs == ["ddp", "single"]  # rank 1 made no run folder of its own
    a = load_checkpoint(list_checkpoints(tmp_path / "runs" / "single")[-1])
    b = load_checkpoint(list_checkpoints(tmp_path / "runs" / "ddp")[-1])
    assert b["data_position"] == a["data_position"] == 12
    for k in a["model"]:
        torch.testing.assert_close(b["model"][k], a["model"][k], rtol=1e-5, atol=1e-6)
    import json

    losses = [json.loads(l)["loss"] for l in (tmp_path / "runs" / "single" / "log.jsonl").read_text().splitlines()
              if '"kind": "train"' in l]
    assert losses[-1] < losses[0]  # the weights really moved, so equality is not trivial
    lines = (tmp_path / "runs" / "ddp" / "log.jsonl").read_text().splitlines()
    assert len([l for l in lines if '"kind": "train"' in l]) == 12  # one writer, one record per step
