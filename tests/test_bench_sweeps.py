"""Sweeps: ``ganzoo bench --launcher local|submitit|ray`` run the cells of a grid in parallel and
give the same numbers as ``--launcher serial``; a bench killed outright resumes without re-running
what finished; ``--grid`` multiplies the configs by override values.

One serial reference (2 configs x 2 seeds, 6 steps, killed after its first cell and resumed) is
shared by the launcher tests, which compare every number of its results.json but the timings.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ganzoo.cli import main

#: threads per cell when 2 share this machine: the local launchers' default, given to the reference
THREADS = max(1, len(os.sched_getaffinity(0)) // 2) if hasattr(os, "sched_getaffinity") else 1


def write_config(path: Path, data: str) -> Path:
    cfg = {"run": {"name": "x"}, "seed": 0, "device": "cpu",
           "variant": {"name": "vanilla", "z_dim": 2, "g_hidden": [8], "d_hidden": [8]},
           "data": {"name": data, "size": 500}, "train": {"steps": 6, "batch_size": 32},
           "log": {"every": 3, "image_every": 1000, "tensorboard": False},
           "checkpoint": {"every": 1000, "keep": 1}}
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def args(configs: list[Path], out: Path, *extra: str) -> list[str]:
    return ["bench", *map(str, configs), "--seeds", "2", "--out", str(out), "-n", "200", "--eval-points", "1",
            *extra]


def numbers(out: Path) -> dict:
    """Everything in results.json that a launcher must not change: each run's steps and metric
    values, each row's means and standard errors, the columns and the failures (no timings)."""
    summary = json.loads((out / "results.json").read_text())
    runs = {(r["name"], r["seed"]): (r["steps"], [(m["metric"], m["values"]) for m in r["metrics"]])
            for r in summary["runs"]}
    rows = {name: (c["ok_seeds"], c["failed_seeds"], c["values"]) for name, c in summary["configs"].items()}
    return {"runs": runs, "rows": rows, "columns": summary["columns"], "failures": summary["failures"],
            "order": [(r["name"], r["seed"]) for r in summary["runs"]]}


def threads_used(out: Path) -> set:
    return {seg["threads"] for p in out.glob("*/seed*/train.json") for seg in json.loads(p.read_text())["segments"]}


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    return root, [write_config(root / "ring8.yaml", "ring"), write_config(root / "grid8.yaml", "grid")]


@pytest.fixture(scope="module")
def reference(grid):
    """The serial bench, SIGKILLed once its first cell is scored, then run again to the end."""
    root, configs = grid
    out = root / "serial"
    argv = args(configs, out, "--threads", str(THREADS))
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "ganzoo", *argv], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    table = out / "results.json"  # written as each cell finishes: first after ring8 seed0
    deadline = time.monotonic() + 240
    while not table.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    assert table.is_file(), err[-2000:]
    partial = json.loads(table.read_text())
    first = out / "ring8" / "seed0" / "bench.json"
    kept = {p: p.stat().st_mtime_ns for p in (first, *first.parent.glob("checkpoints/*.pt"))}
    return out, argv, kept, err, partial


def test_a_killed_bench_resumes_without_rerunning_finished_cells(reference, capsys, monkeypatch):
    out, argv, kept, first_err, partial = reference
    assert "[1/4] ring8 seed0: evaluating" in first_err and "[4/4]" not in first_err  # killed mid-grid
    assert [(r["name"], r["seed"]) for r in partial["runs"]] == [("ring8", 0)]  # the table of what had finished
    assert partial["configs"]["ring8"]["ok_seeds"] == [0] and partial["configs"]["grid8"]["ok_seeds"] == []
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "[1/4] ring8 seed0: done already, skipped" in err and "[1/4] ring8 seed0: training" not in err
    assert "[3/4] grid8 seed0: training 6 steps" in err and "[4/4] grid8 seed1: training 6 steps" in err
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # the finished cell was not touched
    segments = json.loads((out / "ring8" / "seed0" / "train.json").read_text())["segments"]
    assert len(segments) == 1
    assert sorted(numbers(out)["runs"]) == [("grid8", 0), ("grid8", 1), ("ring8", 0), ("ring8", 1)]
    assert all(steps == 6 for steps, _ in numbers(out)["runs"].values())


@pytest.fixture(scope="module")
def expected(reference):
    out, argv = reference[:2]
    if not (out / "results.json").is_file() or len(json.loads((out / "results.json").read_text())["runs"]) < 4:
        assert main(argv) == 0  # this test alone: finish the reference
    return numbers(out)


def test_local_launcher_runs_two_cells_at_once_with_divided_threads_and_same_numbers(grid, expected, capfd):
    root, configs = grid
    out = root / "local"
    assert main(args(configs, out, "--launcher", "local", "--jobs", "2")) == 0
    err = capfd.readouterr().err
    assert numbers(out) == expected
    assert threads_used(out) == {THREADS}
    started = [line for line in err.splitlines() if ": started (local process" in line]
    assert len(started) == 4 and "cells: 0 done, 2 running, 0 failed, 2 queued of 4" in err
    assert "cells: 4 done, 0 running, 0 failed, 0 queued of 4; ETA 0:00:00" in err
    # the first two cells overlapped in time: both had started before either finished
    lines = err.splitlines()
    first_done = next(i for i, line in enumerate(lines) if ": finished in " in line)
    assert sum(": started (" in line for line in lines[:first_done]) == 2


def test_submitit_launcher_through_its_local_executor_gives_the_same_numbers(grid, expected, capfd):
    pytest.importorskip("submitit", reason="submitit is not installed (pip install 'ganzoo[slurm]')")
    root, configs = grid
    out = root / "submitit"
    code = main(args(configs, out, "--launcher", "submitit", "--jobs", "2", "--time", "10",
                     "--slurm-partition", "none-here"))
    err = capfd.readouterr().err
    assert code == 0, err[-3000:]
    assert err.count(": started (local submitit job ") == 4
    assert numbers(out) == expected
    assert threads_used(out) == {THREADS}
    assert len(list((out / "submitit").glob("*_result.pkl"))) == 4


def test_ray_launcher_on_a_running_ray_instance_gives_the_same_numbers(grid, expected):
    """The bench connects to a Ray instance started here (as a user's would be) by its address."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'ganzoo[ray]')")
    root, configs = grid
    out = root / "ray"
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    except Exception as exc:  # no shared memory, no free port, ...: nothing to test here
        pytest.skip(f"Ray cannot start on this machine: {type(exc).__name__}: {exc}")
    try:
        address = ray.get_runtime_context().gcs_address
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        done = subprocess.run([sys.executable, "-m", "ganzoo", *args(configs, out, "--launcher", "ray", "--jobs",
                                                                     "2", "--cpus-per-job", str(THREADS),
                                                                     "--ray-address", address)],
                              env=env, capture_output=True, text=True, timeout=600, cwd=root)
    finally:
        ray.shutdown()
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count(": started (Ray task ") == 4
    assert numbers(out) == expected
    assert threads_used(out) == {THREADS}


def test_a_failed_cell_is_tabled_and_the_others_finish(tmp_path, capfd):
    ok = write_config(tmp_path / "ok.yaml", "ring")
    bad = tmp_path / "bad.yaml"
    cfg = yaml.safe_load(ok.read_text())
    cfg["variant"] = {"name": "dcgan", "z_dim": 8}  # images only: its training fails at the start
    bad.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    argv = ["bench", str(bad), str(ok), "--seeds", "1", "--out", str(out), "-n", "200", "--eval-points", "1",
            "--launcher", "local", "--jobs", "2"]
    assert main(argv) == 2
    err = capfd.readouterr().err
    assert "[1/2] bad seed0: FAILED: " in err and "variant 'dcgan'" in err
    assert err.strip().splitlines()[-1].startswith("ganzoo: error: 1 of 2 runs failed")
    summary = json.loads((out / "results.json").read_text())
    assert [r["name"] for r in summary["runs"]] == ["ok"] and summary["configs"]["bad"]["failed_seeds"] == [0]
    assert "## Failed runs" in (out / "results.md").read_text()


def test_grid_cells_are_named_by_their_overrides_and_checked_up_front(tmp_path, capsys):
    cfg = write_config(tmp_path / "van.yaml", "ring")
    out = tmp_path / "out"
    argv = ["bench", str(cfg), "--seeds", "1", "--out", str(out), "--grid", "variant.lr_g=1e-3,2e-3",
            "--grid", "variant.d_hidden=[8, 8],[4]", "--dry-run"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"[{i}/4] van,variant.lr_g={lr},variant.d_hidden={h} seed0: train 6 steps in "
                     f"{out}/van,variant.lr_g={lr},variant.d_hidden={h}/seed0 (variant.lr_g={lr} "
                     f"variant.d_hidden={hv})"
                     for i, (lr, h, hv) in enumerate([("1e-3", "8_8", "[8, 8]"), ("1e-3", "4", "[4]"),
                                                      ("2e-3", "8_8", "[8, 8]"), ("2e-3", "4", "[4]")], 1)]
    assert not out.exists()  # a dry run writes nothing
    cases = [(["--grid", "variant.lr_g"], "--grid 'variant.lr_g' is not KEY=V1,V2"),
             (["--grid", "variant.lr_g=1,,2"], "an empty value"),
             (["--grid", "variant.lr_g=1,1"], "a value is repeated"),
             (["--grid", "variant.lr_g=1", "--grid", "variant.lr_g=2"], "key 'variant.lr_g' given twice"),
             (["--grid", "variant.lr_gg=1,2"], "unknown key 'lr_gg'"),
             (["--grid", "variant.betas=[0.5, 0.9],[0.5,0.9]"], "share the folder"),
             (["--launcher", "local", "--jobs", "0"], "--jobs must be at least 1"),
             (["--jobs", "2"], "--jobs applies to --launcher local or submitit or ray, not serial"),
             (["--launcher", "local", "--ray-address", "auto"], "--ray-address applies to --launcher ray"),
             (["--launcher", "submitit", "--time", "soon"], "--time 'soon' is not minutes"),
             (["--slurm-option", "account"], "--slurm-option 'account' is not KEY=VALUE")]
    for extra, message in cases:
        assert main(["bench", str(cfg), "--out", str(out), *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("ganzoo: error: ") and message in err[0], err
    assert not out.exists()
