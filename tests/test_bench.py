"""``ganzoo bench``: one training process per run, one scoring protocol, resumable, and tables,
plots and HParams whose numbers agree with the per-run results."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from ganzoo.bench import eval_every, mean_se, training_speed
from ganzoo.cli import main

STEPS = 30


def write_config(path: Path, variant: dict, **checkpoint) -> Path:
    cfg = {"run": {"name": "x"}, "seed": 0, "device": "cpu", "variant": variant,
           "data": {"name": "grid", "size": 2000},
           "train": {"steps": STEPS, "batch_size": 64},
           "log": {"every": 10, "image_every": 1000, "tensorboard": False},
           "checkpoint": {"every": 1000, "keep": 1, **checkpoint}}
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def finite(values):
    return [v for v in values if v is not None and math.isfinite(v)]


def mtimes(out: Path, pattern: str) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in sorted(out.glob(pattern))}


def test_bench_end_to_end_tables_plots_hparams_failures_and_resume(tmp_path, capsys):
    a = write_config(tmp_path / "van.yaml", {"name": "vanilla", "z_dim": 2, "g_hidden": [16, 16],
                                             "d_hidden": [16, 16]})
    b = write_config(tmp_path / "lsq.yaml", {"name": "vanilla", "z_dim": 2, "g_hidden": [24],
                                             "d_hidden": [16], "loss": "lsgan"}, every=10, keep=3)
    bad = write_config(tmp_path / "bad.yaml", {"name": "dcgan", "z_dim": 8})  # images-only variant
    out = tmp_path / "bench"
    common = ["--seeds", "2", "--out", str(out), "-n", "400", "--eval-points", "3", "--threads", "1",
              "train.batch_size=32"]

    # 1. a failing config does not stop the others; the failure is named and tabled
    assert main(["bench", str(bad), str(a), str(b), *common]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("ganzoo: error: 2 of 6 runs failed (first: ") and str(bad) in last
    assert "seed 0" in last and str(out / "bad" / "seed0") in last and "variant 'dcgan'" in last
    summary = json.loads((out / "results.json").read_text())
    assert summary["configs"]["bad"]["ok_seeds"] == [] and summary["configs"]["bad"]["failed_seeds"] == [0, 1]
    assert [f["seed"] for f in summary["failures"]] == [0, 1]
    md = (out / "results.md").read_text()
    cmd = (f"ganzoo bench {bad} {a} {b} --seeds 2 --out {out} -n 400 --eval-points 3 --threads 1 "
           f"train.batch_size=32")
    assert cmd in md and "## Failed runs" in md and "| `bad` | 0/2 |" in md

    # 2. every run trained in its own process with the overrides, and holds its numbers
    runs = {}
    for name in ("van", "lsq"):
        for k in (0, 1):
            run_dir = out / name / f"seed{k}"
            saved = yaml.safe_load((run_dir / "config.yaml").read_text())
            assert saved["seed"] == k and saved["train"]["batch_size"] == 32
            r = json.loads((run_dir / "bench.json").read_text())
            runs[name, k] = r
            assert r["wall_s"] > 0 and r["steps_per_s"] > 0 and r["peak_rss_mib"] > 50
            rec = r["metrics"][0]
            assert rec["metric"] == "modes" and rec["protocol"]["n_fake"] == 400 and rec["protocol"]["seed"] == 0
            import torch

            state = torch.load(run_dir / "checkpoints" / f"step_{STEPS:08d}.pt", weights_only=True)
            learnable = sum(v.numel() for key, v in state["model"].items()
                            if not key.endswith(("running_mean", "running_var", "num_batches_tracked")))
            assert r["params"] == learnable
            curve = r["curves"]["modes"]["modes"]
            assert [s for s, _ in curve] == [10, 20, 30]
            if k == 0:  # the in-training evaluation at the last step used the same sampling seed
                assert curve[-1][1] == rec["value"]

    # 3. the table's mean +- SE equal an independent computation from the bench.json files
    with open(out / "results.csv", newline="") as f:
        rows = {row["config"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"bad", "van", "lsq"}
    for name in ("van", "lsq"):
        got = summary["configs"][name]
        for key in runs[name, 0]["metrics"][0]["values"]:
            label = "modes" if key == "modes" else f"modes.{key}"
            vals = finite([runs[name, k]["metrics"][0]["values"][key] for k in (0, 1)])
            mean = float(np.mean(vals)) if vals else None
            se = float(np.std(vals, ddof=1) / np.sqrt(len(vals))) if len(vals) > 1 else (0.0 if vals else None)
            assert got["values"][label]["n"] == len(vals)
            if vals:
                assert got["values"][label]["mean"] == pytest.approx(mean, abs=1e-12)
                assert got["values"][label]["se"] == pytest.approx(se, abs=1e-12)
                assert float(rows[name][f"{label}_mean"]) == pytest.approx(mean, abs=1e-12)
                assert float(rows[name][f"{label}_se"]) == pytest.approx(se, abs=1e-12)
        for key in ("wall_s", "steps_per_s", "peak_rss_mib"):
            vals = [runs[name, k][key] for k in (0, 1)]
            assert got[key]["mean"] == pytest.approx(np.mean(vals))
            assert got[key]["se"] == pytest.approx(np.std(vals, ddof=1) / np.sqrt(2))
        assert f"| `{name}` | 2/2 | " in md

    # 4. plots are real PNGs with lines; HParams sessions carry the run's config and seed
    from PIL import Image

    with Image.open(out / "plots" / "modes.png") as im:
        im.verify()
    with Image.open(out / "plots" / "modes.png") as im:
        assert im.size[0] == 820 and len(im.convert("RGB").getcolors(1 << 20)) > 10
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    for (name, k), r in runs.items():
        ea = EventAccumulator(str(out / "tb_hparams" / name / f"seed{k}"))
        ea.Reload()
        content = ea.PluginTagToContent("hparams")
        assert "_hparams_/experiment" in content
        data = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
        hp = data.session_start_info.hparams
        assert hp["config"].string_value == name and hp["seed"].number_value == k
        assert hp["train.batch_size"].number_value == 32

    # 5. a second invocation trains and scores nothing
    good = [str(a), str(b), *common]
    before = mtimes(out, "*/seed*/*.json") | mtimes(out, "*/seed*/checkpoints/*.pt")
    assert main(["bench", *good]) == 0
    err = capsys.readouterr().err
    assert err.count("done already, skipped") == 4 and ": training " not in err and "evaluating" not in err
    assert mtimes(out, "*/seed*/*.json") | mtimes(out, "*/seed*/checkpoints/*.pt") == before

    # 6. a deleted result is re-scored (same numbers), nothing else is touched
    (out / "lsq" / "seed1" / "bench.json").unlink()
    assert main(["bench", *good]) == 0
    err = capsys.readouterr().err
    assert err.count("done already, skipped") == 3 and ": training " not in err
    assert [line for line in err.splitlines() if "evaluating" in line] == \
        ["[4/4] lsq seed1: evaluating modes on 400 samples"]
    again = json.loads((out / "lsq" / "seed1" / "bench.json").read_text())
    assert again["metrics"][0]["values"] == runs["lsq", 1]["metrics"][0]["values"]
    assert again["wall_s"] == runs["lsq", 1]["wall_s"]
    after = mtimes(out, "*/seed*/*.json") | mtimes(out, "*/seed*/checkpoints/*.pt")
    changed = {p for p in after if after[p] != before.get(p)}
    assert changed == {str(out / "lsq" / "seed1" / "bench.json")}

    # 7. an interrupted run (final checkpoint gone) resumes from its last checkpoint only
    run_dir = out / "lsq" / "seed0"
    (run_dir / "checkpoints" / f"step_{STEPS:08d}.pt").unlink()
    assert main(["bench", *good]) == 0
    err = capsys.readouterr().err
    assert f"lsq seed0: resuming at step 20 of {STEPS}" in err and err.count("done already") == 3
    segments = json.loads((run_dir / "train.json").read_text())["segments"]
    assert [(s["start_step"], s["end_step"], s["returncode"]) for s in segments] == [(0, 30, 0), (20, 30, 0)]
    resumed = json.loads((run_dir / "bench.json").read_text())
    assert resumed["training_processes"] == 2
    assert resumed["wall_s"] == pytest.approx(sum(s["wall_s"] for s in segments))
    assert str(out / "lsq" / "bench_config.yaml") in json.loads((run_dir / "train.json").read_text())["command"]

    # 8. a config edited since its runs were trained is refused, naming what changed
    b.write_text(b.read_text().replace("- 24", "- 25"))
    assert main(["bench", *good]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lsq/seed0 holds a run of another config (differs in variant.g_hidden" in err[0]


def test_bench_refuses_bad_input_in_one_line(tmp_path, capsys):
    cfg = write_config(tmp_path / "ok.yaml", {"name": "vanilla", "z_dim": 2, "g_hidden": [8], "d_hidden": [8]})
    cases = [
        (["bench"], "no configs given"),
        (["bench", str(tmp_path / "nope.yaml")], f"{tmp_path / 'nope.yaml'}: config file not found"),
        (["bench", str(cfg), "--metrics", "fdi"], "--metrics: unknown metric 'fdi' (did you mean 'fid'?)"),
        (["bench", str(cfg), "-n", "1"], "-n must be at least 2"),
        (["bench", str(cfg), "trian.steps=5"], "unknown key 'trian' (did you mean 'train'?)"),
        (["bench", str(cfg), "--seeds", "0"], "--seeds must be at least 1"),
    ]
    for argv, message in cases:
        assert main(argv + ["--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("ganzoo: error: ") and message in err[0], err
    assert not any((tmp_path / "out").glob("*/seed*/config.yaml"))  # nothing was trained


def test_mean_se_and_eval_schedule():
    ms = mean_se([1.0, 2.0, 4.0, float("nan"), None])
    assert ms["n"] == 3 and ms["mean"] == pytest.approx(7 / 3)
    assert ms["se"] == pytest.approx(np.std([1, 2, 4], ddof=1) / np.sqrt(3))
    assert mean_se([5.0]) == {"mean": 5.0, "se": 0.0, "n": 1}
    assert eval_every(2000, 5, 500) == 500 and eval_every(1000, 5, 100) == 200
    assert eval_every(30, 3, 10) == 10 and eval_every(40, 2, 1000) == 20


def test_training_speed_leaves_out_evaluation_time():
    # 10 steps per log interval at 2 steps/s (5 s each); an evaluation after step 10 took 3 s,
    # so the trainer measured the next interval at 10 / 8 steps/s.
    records = [{"step": 10, "kind": "train", "time": 105.0, "steps_per_s": 2.0},
               {"step": 10, "kind": "eval", "time": 108.0},
               {"step": 20, "kind": "train", "time": 113.0, "steps_per_s": 10 / 8},
               {"step": 30, "kind": "train", "time": 118.0, "steps_per_s": 2.0}]
    assert training_speed(records) == pytest.approx(2.0)
    assert training_speed([]) is None


def test_a_run_stopped_by_its_time_limit_counts_and_reports_the_steps_it_trained(tmp_path, capsys):
    """Equal-compute comparisons stop every run on ``train.time_limit_s``: each is scored, and
    its row says how many steps it trained, not the (unreached) planned count."""
    cfg = write_config(tmp_path / "van.yaml", {"name": "vanilla", "z_dim": 2, "g_hidden": [16],
                                               "d_hidden": [16]})
    out = tmp_path / "bench"
    code = main(["bench", str(cfg), "--seeds", "1", "--out", str(out), "-n", "200", "--eval-points", "1",
                 "--threads", "1", "train.steps=1000000", "train.time_limit_s=1"])
    assert code == 0, capsys.readouterr().err[-600:]
    r = json.loads((out / "van" / "seed0" / "bench.json").read_text())
    (ckpt,) = (out / "van" / "seed0" / "checkpoints").glob("step_*.pt")
    trained = int(ckpt.stem.split("_")[1])
    assert 0 < trained < 1_000_000
    assert r["steps"] == trained and r["planned_steps"] == 1_000_000
    assert r["metrics"][0]["step"] == trained
    row = next(line for line in (out / "results.md").read_text().splitlines() if line.startswith("| `van` | 0 |"))
    assert f"| `van` | 0 | {trained} |" in row
