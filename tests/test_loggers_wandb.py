"""The wandb logger in offline mode (no account, no network), read back from its .wandb files
with W&B's own reader (``wandb leet inspect --json``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("wandb")

from ganzoo.checkpoint import list_checkpoints  # noqa: E402
from ganzoo.config import config_from_dict  # noqa: E402
from ganzoo.runlog import record_bench_run  # noqa: E402
from ganzoo.testing import tiny_config  # noqa: E402
from ganzoo.trainer import train  # noqa: E402

VANILLA = {"name": "vanilla", "z_dim": 2, "g_hidden": [16], "d_hidden": [16]}
RING = {"name": "ring", "size": 64}


@pytest.fixture(scope="module", autouse=True)
def offline(tmp_path_factory):
    """W&B offline, silent, and with every folder it writes to in tmp (the runs' own files go to
    their run folders, in tmp too)."""
    root = tmp_path_factory.mktemp("wandb")
    env = {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_CONFIG_DIR": str(root / "config"),
           "WANDB_CACHE_DIR": str(root / "cache"), "WANDB_DATA_DIR": str(root / "data"),
           "WANDB_ARTIFACT_DIR": str(root / "artifacts"), "XDG_CACHE_HOME": str(root / "xdg"),
           "XDG_CONFIG_HOME": str(root / "xdg-config")}
    old = {k: os.environ.get(k) for k in [*env, "WANDB_DIR", "WANDB_PROJECT", "WANDB_API_KEY"]}
    os.environ.update(env)
    for k in ("WANDB_DIR", "WANDB_PROJECT", "WANDB_API_KEY"):
        os.environ.pop(k, None)
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def config(tmp_path: Path, steps: int = 6, **logger) -> dict:
    cfg = tiny_config(VANILLA, RING, tmp_path / "runs", steps=steps)
    cfg["log"] = {"every": 1, "image_every": 3, "num_images": 4, "progress": False,
                  "loggers": ["jsonl", {"name": "wandb", **logger}]}
    cfg["checkpoint"] = {"every": 3, "keep": 5}
    return cfg


def inspect(run_file: Path, *extra: str) -> str:
    out = subprocess.run([sys.executable, "-m", "wandb", "leet", "inspect", "--json", *extra, str(run_file)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def offline_runs(run_dir: Path) -> list[Path]:
    """The .wandb file of each process that logged to the run, oldest first."""
    return sorted(run_dir.glob("wandb/offline-run-*/run-*.wandb"), key=lambda p: p.parent.name)


def history(run_file: Path) -> list[dict]:
    records = [json.loads(line) for line in inspect(run_file).splitlines() if line.strip()]
    return [r["history"] for r in records if r["type"] == "history"]


def summary(run_file: Path) -> dict:
    return json.loads(inspect(run_file, "--summary"))


def test_a_resumed_run_continues_one_wandb_run_with_each_step_once(tmp_path):
    cfg = config_from_dict(config(tmp_path, mode="offline", project="gz"))
    run_dir = train(cfg).run_dir
    list_checkpoints(run_dir)[-1].unlink()  # crashed after logging step 6: back to step 3
    longer = config_from_dict(yaml.safe_load((run_dir / "config.yaml").read_text()),
                              overrides=["train.steps=9"])
    assert train(longer, run_dir=run_dir, resume=True).step == 9
    files = offline_runs(run_dir)
    assert len(files) == 2
    run_id = json.loads((run_dir / "trackers.json").read_text())["wandb"]["id"]
    summaries = [summary(f) for f in files]
    assert {s["run_id"] for s in summaries} == {run_id}  # one W&B run, two processes
    steps = [[int(h["step"]["num"]) for h in history(f) if "loss_d" in h["item"]] for f in files]
    assert steps == [[1, 2, 3, 4, 5, 6], [7, 8, 9]]  # continuous, nothing sent twice
    last = summaries[-1]
    assert last["state"] == "finished" and last["summary"]["ganzoo/status"] == "finished"
    assert last["project"] == "gz" and last["config"]["train"]["steps"] == 9
    assert last["summary"]["samples"]["_type"] == "image-file"


def test_bench_results_land_on_the_training_run(tmp_path):
    cfg = config_from_dict(config(tmp_path, steps=3))  # offline through WANDB_MODE
    run_dir = train(cfg).run_dir
    records = [{"metric": "modes", "value": 6.0, "n": 2500, "seed": 0}]
    assert record_bench_run(cfg, "ring_bench", 2, "vanilla", records, run_dir, step=3) == ["wandb"]
    files = offline_runs(run_dir)
    assert len(files) == 2
    recorded = summary(files[-1])
    assert recorded["run_id"] == summary(files[0])["run_id"]
    assert {"ganzoo.bench:ring_bench", "ganzoo.seed:2", "ganzoo.variant:vanilla"} <= set(recorded["tags"])
    assert recorded["summary"]["bench/modes"] == 6.0
    assert json.loads(recorded["config"]["ganzoo.bench.modes"]) == {"n": 2500, "seed": 0}
