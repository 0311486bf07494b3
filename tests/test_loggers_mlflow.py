"""The mlflow logger, read back with MLflow's own client from a local SQLite store in tmp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from importlib.util import find_spec

import pytest
import yaml

from ganzoo.checkpoint import list_checkpoints
from ganzoo.cli import main
from ganzoo.config import config_from_dict
from ganzoo.runlog import record_bench_run
from ganzoo.testing import tiny_config
from ganzoo.trainer import train

# mlflow is imported only once the fixture has turned its telemetry off and moved its folders
pytestmark = pytest.mark.skipif(find_spec("mlflow") is None or find_spec("sqlalchemy") is None,
                                reason="needs ganzoo[mlflow]")

VANILLA = {"name": "vanilla", "z_dim": 2, "g_hidden": [16], "d_hidden": [16]}
RING = {"name": "ring", "size": 64}
#: no telemetry, no network, nothing in the home folder
QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
         "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store for the module (creating its tables takes seconds), in a tmp folder."""
    root = tmp_path_factory.mktemp("mlflow")
    env = dict(QUIET, XDG_CONFIG_HOME=str(root / "config"), XDG_CACHE_HOME=str(root / "cache"))
    old = {k: os.environ.get(k) for k in [*env, "MLFLOW_TRACKING_URI"]}
    os.environ.update(env)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    yield f"sqlite:///{root / 'mlflow.db'}"
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def config(tmp_path: Path, uri: str, experiment: str, steps: int = 6, **logger) -> dict:
    cfg = tiny_config(VANILLA, RING, tmp_path / "runs", steps=steps)
    cfg["log"] = {"every": 1, "image_every": 3, "num_images": 4, "progress": False,
                  "loggers": ["jsonl", {"name": "mlflow", "tracking_uri": uri, "experiment": experiment,
                                        **logger}]}
    cfg["checkpoint"] = {"every": 3, "keep": 5}
    cfg["eval"] = {"every": 3, "metrics": ["modes"], "n": 100}
    return cfg


def client_of(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri)


def the_run(client, experiment: str):
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1, [r.info.run_id for r in runs]
    return runs[0]


def test_a_resumed_run_continues_one_mlflow_run_with_each_step_once(tmp_path, store):
    cfg = config_from_dict(config(tmp_path, store, "resume"))
    first = train(cfg)
    run_dir = first.run_dir
    # a crash after step 6 was logged but before its checkpoint was written: back to step 3
    list_checkpoints(run_dir)[-1].unlink()
    longer = config_from_dict(yaml.safe_load((run_dir / "config.yaml").read_text()),
                              overrides=["train.steps=9"])
    second = train(longer, run_dir=run_dir, resume=True)
    assert second.step == 9
    client = client_of(store)
    run = the_run(client, "resume")
    assert run.info.run_id == json.loads((run_dir / "trackers.json").read_text())["mlflow"]["run_id"]
    assert run.info.status == "FINISHED" and run.data.tags["ganzoo.status"] == "finished"
    assert run.info.run_name == "check"
    for key in ("loss_d", "loss_g", "steps_per_s"):
        steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
        assert sorted(steps) == list(range(1, 10)), (key, steps)  # continuous, no duplicates
    # the resolved config as parameters; a value changed on resume is a tag
    assert run.data.params["train.steps"] == "6" and run.data.tags["resume.train.steps"] == "9"
    assert run.data.params["variant.name"] == "vanilla"
    # evaluations: the value as a metric, the records with their protocol as a file per step
    assert [m.step for m in client.get_metric_history(run.info.run_id, "eval/modes")] == [3, 6, 9]
    scores = [a.path for a in client.list_artifacts(run.info.run_id, "scores")]
    assert scores == ["scores/step_00000003.json", "scores/step_00000006.json", "scores/step_00000009.json"]
    record = json.loads(Path(client.download_artifacts(run.info.run_id, scores[-1], str(tmp_path))).read_text())[0]
    assert record["metric"] == "modes" and record["protocol"]["n_fake"] == 100
    pictures = [a.path for a in client.list_artifacts(run.info.run_id, "samples")]
    assert pictures == ["samples/step_00000003.png", "samples/step_00000006.png", "samples/step_00000009.png"]
    # the JSONL log rewound to the checkpoint instead, as before
    lines = (run_dir / "log.jsonl").read_text().splitlines()
    assert [r["step"] for r in map(json.loads, lines) if r.get("kind") == "train"] == list(range(1, 10))


def test_bench_results_land_on_the_training_run(tmp_path, store):
    cfg = config_from_dict(config(tmp_path, store, "bench", steps=3))
    result = train(cfg)
    records = [{"metric": "modes", "value": 6.0, "n": 2500, "seed": 0, "higher_is_better": True}]
    assert record_bench_run(cfg, "ring_bench", 2, "vanilla", records, result.run_dir, step=3) == ["mlflow"]
    client = client_of(store)
    run = the_run(client, "bench")
    assert run.data.tags["ganzoo.bench"] == "ring_bench" and run.data.tags["ganzoo.seed"] == "2"
    assert run.data.tags["ganzoo.variant"] == "vanilla"
    assert json.loads(run.data.tags["ganzoo.bench.modes"])["n"] == 2500
    assert [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "bench/modes")] == [(3, 6.0)]
    assert run.info.status == "FINISHED"


def write(tmp_path: Path, cfg: dict) -> Path:
    path = tmp_path / "cfg.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_a_tracking_server_down_is_one_warning_or_with_required_one_error(tmp_path, store, capsys):
    down = "http://127.0.0.1:9"  # nothing listens there: connection refused
    path = write(tmp_path / "a", config(tmp_path / "a", down, "x", steps=2))
    env = dict(os.environ, **QUIET, OMP_NUM_THREADS="1")
    ran = subprocess.run([sys.executable, "-m", "ganzoo", "run", str(path)], capture_output=True,
                         text=True, cwd=tmp_path, env=env, timeout=120)
    assert ran.returncode == 0, ran.stderr
    warning = [line for line in ran.stderr.splitlines() if line.startswith("ganzoo: warning: logger")]
    assert len(warning) == 1 and warning[0].startswith("ganzoo: warning: logger 'mlflow' failed: ")
    assert warning[0].endswith("; the run goes on with the other loggers")
    assert "Traceback" not in ran.stderr and "finished 2 steps" in ran.stdout + ran.stderr
    assert (tmp_path / "a" / "runs" / "check" / "log.jsonl").is_file()
    # required: one line, exit 2, before training
    path = write(tmp_path / "b", config(tmp_path / "b", down, "x", steps=2, required=True))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ganzoo: error: logger 'mlflow' failed to start: ") and err.count("\n") == 1
    assert "required: true" in err
    assert not list((tmp_path / "b" / "runs" / "check" / "checkpoints").glob("*.pt"))
