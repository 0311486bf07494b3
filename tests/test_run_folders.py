"""Run folders are claimed atomically and held by their run; nothing is written before a run is
set up; a folder deleted under a running training stops it; logs, previews and progress output
are complete and never overwrite an earlier run's files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
import yaml

from ganzoo.cli import main
from ganzoo.rundir import RunLock, claim_run_dir

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def write_config(path: Path, out_dir: Path, steps: int = 3, **train) -> Path:
    cfg = {"run": {"name": "t1", "out_dir": str(out_dir)}, "seed": 0,
           "variant": {"name": "vanilla", "z_dim": 2, "g_hidden": [8], "d_hidden": [8]},
           "data": {"name": "ring", "size": 128},
           "train": {"steps": steps, "batch_size": 16, **train},
           "log": {"every": 1, "image_every": 1000, "tensorboard": False},
           "checkpoint": {"every": 1000, "keep": 2}}
    path.write_text(yaml.safe_dump(cfg))
    return path


def ganzoo(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ganzoo", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV, **kw)


def cli(capsys, *args: str) -> tuple[int, str]:
    """Run a command in this process (as the user would type it); its status and stderr."""
    capsys.readouterr()
    status = main(list(args))
    return status, capsys.readouterr().err


def trained_run(tmp_path: Path, capsys, steps: int = 3) -> Path:
    status, err = cli(capsys, "run", str(write_config(tmp_path / "base.yaml", tmp_path / "runs", steps)))
    assert status == 0, err
    return tmp_path / "runs" / "t1"


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_runs_started_together_get_distinct_complete_folders(tmp_path):
    base = write_config(tmp_path / "base.yaml", tmp_path / "race")
    procs = [ganzoo("run", str(base), f"seed={seed}") for seed in range(4)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [o[1][-400:] for o in outs]
    folders = sorted((tmp_path / "race").iterdir())
    assert [f.name for f in folders] == ["t1", "t1-2", "t1-3", "t1-4"]
    reported = {line.split()[-1] for _, err in outs for line in err.splitlines() if "run folder:" in line}
    assert reported == {str(f) for f in folders}  # each process names its own folder
    seeds = set()
    for folder in folders:
        seeds.add(yaml.safe_load((folder / "config.yaml").read_text())["seed"])
        steps = [json.loads(line)["step"] for line in (folder / "log.jsonl").read_text().splitlines()]
        assert steps == [1, 2, 3]  # one record per step: no other run wrote here
        state = torch.load(folder / "checkpoints" / "step_00000003.pt", weights_only=True)
        assert state["config"]["seed"] == yaml.safe_load((folder / "config.yaml").read_text())["seed"]
    assert seeds == {0, 1, 2, 3}


def test_claim_never_reuses_an_existing_folder_even_an_empty_one(tmp_path):
    (tmp_path / "a").mkdir()
    assert claim_run_dir(tmp_path, "a").name == "a-2"
    (tmp_path / "file").write_text("x")
    assert claim_run_dir(tmp_path, "file").name == "file-2"


def test_a_run_that_is_still_training_cannot_be_resumed(tmp_path, capsys):
    run_dir = trained_run(tmp_path, capsys)
    before = snapshot(run_dir)
    with RunLock(run_dir):  # what a training process holds
        status, err = cli(capsys, "resume", str(run_dir), "train.steps=6")
    assert status == 2
    assert "in use by another ganzoo process" in err and "Traceback" not in err
    assert snapshot(run_dir) == before


@pytest.mark.parametrize("override,message", [
    ("variant.g_hidden=[4]", "do not fit"),
    ("data.name=grid", "trained on data 'ring'"),
    ("train.steps=2", "already finished 3 of 2"),
])
def test_a_refused_resume_changes_nothing(tmp_path, capsys, override, message):
    run_dir = trained_run(tmp_path, capsys)
    before = snapshot(run_dir)
    status, err = cli(capsys, "resume", str(run_dir), override)
    assert status == 2 and message in err, err[-400:]
    assert snapshot(run_dir) == before


def test_a_crafted_checkpoint_is_named_and_changes_nothing(tmp_path, capsys):
    run_dir = trained_run(tmp_path, capsys)
    path = run_dir / "checkpoints" / "step_00000003.pt"
    original = path.read_bytes()
    for damage, message in [(lambda s: s.pop("rng"), "has no 'rng'"),
                            (lambda s: s.update(step="3"), "has a str as its 'step'"),
                            (lambda s: s.update(model=[1, 2]), "has a list as its 'model'"),
                            (lambda s: s.update(extra=[1]), "'extra' entry is a list")]:
        path.write_bytes(original)
        state = torch.load(path, weights_only=True)
        damage(state)
        torch.save(state, path)
        before = snapshot(run_dir)
        status, err = cli(capsys, "resume", str(run_dir), "train.steps=6")
        assert status == 2 and message in err and str(path) in err, err[-400:]
        assert "Traceback" not in err
        assert snapshot(run_dir) == before


def test_deleting_the_run_folder_stops_the_run_with_an_error(tmp_path, capsys):
    base = write_config(tmp_path / "base.yaml", tmp_path / "runs", steps=100000)
    log = tmp_path / "runs" / "t1" / "log.jsonl"

    def delete_when_training():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (log.is_file() and log.read_text().count("\n") >= 3):
            time.sleep(0.02)
        shutil.rmtree(tmp_path / "runs" / "t1")

    deleter = threading.Thread(target=delete_when_training)
    deleter.start()
    status, err = cli(capsys, "run", str(base))
    deleter.join()
    assert status == 2, err[-400:]
    assert "was deleted or replaced while training" in err
    assert "finished" not in err and "Traceback" not in err


def test_short_run_logs_its_last_step_and_output_without_a_tty_has_no_carriage_returns(tmp_path, capsys):
    base = write_config(tmp_path / "base.yaml", tmp_path / "runs", steps=7)
    status, err = cli(capsys, "run", str(base), "log.every=50", "log.tensorboard=true")
    assert status == 0, err
    assert "\r" not in err
    assert "t1: step 7/7" in err  # a plain progress line at the end
    records = [json.loads(line) for line in (tmp_path / "runs" / "t1" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "train"] == [7]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path / "runs" / "t1" / "tb"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("loss_d")] == [7]


def test_resume_keeps_each_final_grid_by_step(tmp_path, capsys):
    run_dir = trained_run(tmp_path, capsys, steps=2)
    first = (run_dir / "samples" / "step_00000002.png").read_bytes()
    assert (run_dir / "samples" / "final.png").read_bytes() == first
    status, err = cli(capsys, "resume", str(run_dir), "train.steps=4")
    assert status == 0, err
    assert (run_dir / "samples" / "step_00000002.png").read_bytes() == first
    assert (run_dir / "samples" / "final.png").read_bytes() == (run_dir / "samples" / "step_00000004.png").read_bytes()


def test_time_limit_stops_with_a_checkpoint_and_resume_continues(tmp_path, capsys):
    base = write_config(tmp_path / "base.yaml", tmp_path / "runs", steps=1_000_000)
    status, err = cli(capsys, "run", str(base), "train.time_limit_s=1")
    assert status == 0 and "stopped at the time limit" in err, err[-400:]
    run_dir = tmp_path / "runs" / "t1"
    (ckpt,) = (run_dir / "checkpoints").glob("step_*.pt")
    stopped = int(ckpt.stem.split("_")[1])
    assert 0 < stopped < 1_000_000
    assert (run_dir / "samples" / "final.png").is_file()
    status, err = cli(capsys, "resume", str(run_dir), f"train.steps={stopped + 2}")
    assert status == 0 and f"finished {stopped + 2} steps" in err, err[-400:]
