"""Evaluation from the command line and during training (protocol saved with every score)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from ganzoo.config import config_from_dict
from ganzoo.errors import ConfigError
from ganzoo.testing import tiny_config
from ganzoo.trainer import train

VANILLA = {"name": "vanilla", "z_dim": 2, "g_hidden": [32, 32], "d_hidden": [32, 32]}


def test_eval_block_scores_during_training_and_keeps_the_best(tmp_path):
    cfg = tiny_config(VANILLA, {"name": "ring", "size": 1024}, tmp_path / "runs", steps=6, batch_size=32)
    cfg["eval"] = {"every": 3, "metrics": ["modes"], "n": 500, "best": "modes"}
    result = train(config_from_dict(cfg))
    records = [json.loads(l) for l in result.jsonl.read_text().splitlines()]
    evals = [r for r in records if r.get("kind") == "eval"]
    assert [r["step"] for r in evals] == [3, 6] and all("eval/modes" in r for r in evals)
    protocol = [r for r in records if r.get("kind") == "eval_record"]
    assert protocol and {"metric", "value", "protocol"} <= set(protocol[0])
    assert {"n_fake", "n_real", "seed", "ganzoo_version", "real_source"} <= set(protocol[0]["protocol"])
    assert protocol[0]["protocol"]["n_fake"] == 500 and protocol[0]["real_split"] == "train"
    best = result.run_dir / "checkpoints" / "best.pt"
    assert best.is_file()
    import torch

    state = torch.load(best, weights_only=True)
    values = {r["step"]: r["eval/modes"] for r in evals}
    assert state["best"]["value"] == max(values.values()) and state["best"]["step"] in values


def test_ganzoo_eval_command_appends_records_with_protocol(tmp_path):
    cfg = tiny_config(VANILLA, {"name": "grid", "size": 1024}, tmp_path / "runs", steps=4, batch_size=32)
    result = train(config_from_dict(cfg))
    out = subprocess.run([sys.executable, "-m", "ganzoo", "eval", str(result.run_dir), "--metrics", "modes",
                          "-n", "400", "--json"], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    printed = json.loads(out.stdout)
    saved = [json.loads(l) for l in (result.run_dir / "eval.jsonl").read_text().splitlines()]
    assert printed[0]["metric"] == saved[0]["metric"] == "modes"
    assert saved[0]["step"] == 4 and saved[0]["protocol"]["n_fake"] == 400
    assert 0 <= saved[0]["value"] <= 25
    bad = subprocess.run([sys.executable, "-m", "ganzoo", "eval", str(result.run_dir), "--metrics", "fdi"],
                         capture_output=True, text=True, timeout=240)
    assert bad.returncode == 2 and "unknown metric 'fdi' (did you mean 'fid'?)" in bad.stderr


def test_unknown_metric_in_config_names_the_line(tmp_path):
    cfg = tiny_config(VANILLA, {"name": "ring"}, tmp_path / "runs")
    cfg["eval"] = {"metrics": ["modes", "kdi"]}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    from ganzoo.config import load_config

    with pytest.raises(ConfigError, match=r"c.yaml:\d+: eval.metrics.1: unknown metric 'kdi' \(did you mean 'kid'\?\)"):
        load_config(path)
