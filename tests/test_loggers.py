"""Loggers as plugins: the log.loggers config, the fan-out, failing loggers, the bench record.

MLflow and W&B themselves are tested in test_loggers_mlflow.py and test_loggers_wandb.py; here
small logger plugins registered at run time stand in for a tracker (real classes, no mocks).
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
import yaml

from ganzoo.cli import main
from ganzoo.config import config_from_dict, load_config
from ganzoo.errors import ConfigError
from ganzoo.hookspecs import hookimpl
from ganzoo.loggers import Logger, LoggerContext, LoggerError, LoggerOptions, LoggerWarning, SentSteps
from ganzoo.runlog import logger_specs, open_loggers, record_bench_run
from ganzoo.testing import tiny_config
from ganzoo.trainer import train

VANILLA = {"name": "vanilla", "z_dim": 2, "g_hidden": [16], "d_hidden": [16]}
RING = {"name": "ring", "size": 64}


def config(tmp_path: Path, steps: int = 4, **log) -> dict:
    cfg = tiny_config(VANILLA, RING, tmp_path / "runs", steps=steps)
    cfg["log"] = {"every": 1, "image_every": 2, "num_images": 4, "progress": False, **log}
    cfg["checkpoint"] = {"every": 2, "keep": 5}
    return cfg


def jsonl_steps(run_dir: Path) -> list[int]:
    lines = (run_dir / "log.jsonl").read_text().splitlines()
    return [r["step"] for r in map(json.loads, lines) if r.get("kind") == "train"]


# -- a tracker plugin, registered at run time ---------------------------------------------------
class Recorder(Logger):
    """Keeps what it receives; fails on a chosen call (``fail_on``) when asked to."""

    class Options(LoggerOptions):
        fail_on: str | None = None
        fail_at: int = 0

    tracker = True
    seen: list[tuple] = []

    def __init__(self, options, context):
        super().__init__(options, context)
        self._maybe_fail("init", 0)
        self.seen.append(("init", context.start_step, context.resuming))

    def _maybe_fail(self, call: str, step: int) -> None:
        if self.options.fail_on == call and step >= self.options.fail_at:
            raise ConnectionError(f"tracking server down\n(at {call}, step {step})")

    def params(self, config):
        self.seen.append(("params", config["train"]["steps"]))

    def scalars(self, step, values, kind="train"):
        self._maybe_fail("scalars", step)
        self.seen.append(("scalars", step, kind, sorted(values)))

    def image(self, step, tag, array):
        self.seen.append(("image", step, tag, array.shape, str(array.dtype)))

    def summary(self, step, values):
        self.seen.append(("summary", step, values))

    def tags(self, tags):
        self.seen.append(("tags", tags))

    def close(self, status="finished"):
        self.seen.append(("close", status))


@pytest.fixture
def recorder(ganzoo_plugin):
    module = types.ModuleType("recorder_plugin")

    @hookimpl
    def register_loggers(register):
        register("recorder", Recorder)

    module.register_loggers = register_loggers
    ganzoo_plugin(module, "recorder_plugin")
    Recorder.seen = []
    return Recorder


# -- the config ---------------------------------------------------------------------------------
def test_tensorboard_and_jsonl_stay_the_default_and_the_flags_remove_them(tmp_path):
    cfg = config_from_dict(config(tmp_path))
    assert [s["name"] for s in logger_specs(cfg.log)] == ["tensorboard", "jsonl"]
    cfg = config_from_dict(config(tmp_path, tensorboard=False))
    assert [s["name"] for s in logger_specs(cfg.log)] == ["jsonl"]
    listed = config(tmp_path, tensorboard=False, loggers=["tensorboard", "jsonl", {"name": "mlflow"}])
    cfg = config_from_dict(listed)
    assert [s["name"] for s in logger_specs(cfg.log)] == ["jsonl", "mlflow"]
    assert cfg.log.tensorboard is False and cfg.log.jsonl is True
    # the saved config reads back the same, and an override switches one off on resume
    again = config_from_dict(yaml.safe_load(cfg.to_yaml()))
    assert logger_specs(again.log) == logger_specs(cfg.log)
    off = config_from_dict(yaml.safe_load(cfg.to_yaml()), overrides=["log.jsonl=false"])
    assert [s["name"] for s in logger_specs(off.log)] == ["mlflow"]


@pytest.mark.parametrize("loggers, where, message", [
    (["tensorbord"], "log.loggers.0", "unknown logger 'tensorbord' (did you mean 'tensorboard'?)"),
    ([{"name": "mlflow", "trackin_uri": "x"}], "log.loggers.0.trackin_uri",
     "unknown key 'trackin_uri' (did you mean 'tracking_uri'?)"),
    ([{"name": "wandb", "mode": "offlin"}], "log.loggers.0.mode", "offlin"),
    (["jsonl", {"name": "jsonl", "required": True}], "log.loggers.1", "listed twice"),
    ([{"experiment": "x"}], "log.loggers.0", "give a logger name"),
])
def test_bad_logger_entries_name_the_file_line_and_key(tmp_path, loggers, where, message):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(config(tmp_path, loggers=loggers), sort_keys=False))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert text.startswith(f"{path}:") and where in text and message in text
    assert "\n" not in text and err.value.line is not None


def test_list_loggers_and_plugins_show_the_built_ins(capsys):
    assert main(["list", "loggers"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == ["jsonl", "mlflow", "tensorboard", "wandb"]
    assert main(["plugins"]) == 0
    assert "    loggers: jsonl, mlflow, tensorboard, wandb" in capsys.readouterr().out


def test_the_cli_imports_no_tracker_at_start():
    import subprocess

    code = ("import sys, ganzoo.cli; ganzoo.cli.build_parser(); "
            "print(sorted(m for m in ('mlflow', 'wandb', 'tensorboard', 'ganzoo.loggers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the fan-out in a training run ---------------------------------------------------------------
def test_a_logger_plugin_gets_params_scalars_images_and_status(tmp_path, recorder):
    cfg = config_from_dict(config(tmp_path, loggers=["jsonl", "recorder"]))
    result = train(cfg)
    seen = recorder.seen
    assert seen[0] == ("init", 0, False) and seen[1] == ("params", 4)
    assert [s[1] for s in seen if s[0] == "scalars"] == [1, 2, 3, 4]
    images = [s for s in seen if s[0] == "image"]
    assert [s[1] for s in images] == [2, 4] and {s[2] for s in images} == {"samples"}
    assert all(len(s[3]) == 3 and s[3][2] == 3 and s[4] == "uint8" for s in images)  # HxWx3 uint8
    assert seen[-1] == ("close", "finished")
    assert result.tb_dir is None and jsonl_steps(result.run_dir) == [1, 2, 3, 4]


def test_a_failing_logger_is_named_in_one_warning_and_the_run_goes_on(tmp_path, recorder):
    cfg = config_from_dict(config(tmp_path, loggers=["jsonl", {"name": "recorder", "fail_on": "scalars",
                                                                "fail_at": 2}]))
    with pytest.warns(LoggerWarning) as caught:
        result = train(cfg)
    message = str(caught[0].message)
    assert message == ("logger 'recorder' failed: ConnectionError: tracking server down; "
                       "the run goes on with the other loggers")
    assert result.status == "finished" and jsonl_steps(result.run_dir) == [1, 2, 3, 4]
    assert [s[1] for s in recorder.seen if s[0] == "scalars"] == [1]  # dropped after failing
    assert recorder.seen[-1] == ("close", "failed")


def test_a_required_logger_that_fails_stops_the_run_with_one_line(tmp_path, recorder):
    cfg = config_from_dict(config(tmp_path, steps=6, loggers=[
        "jsonl", {"name": "recorder", "fail_on": "scalars", "fail_at": 3, "required": True}]))
    with pytest.raises(LoggerError) as err:
        train(cfg)
    assert str(err.value).startswith("logger 'recorder' failed: ConnectionError: tracking server down; "
                                     "it is required")
    run_dir = tmp_path / "runs" / "check"
    assert jsonl_steps(run_dir) == [1, 2, 3]  # the other loggers were closed, their files complete
    assert max(int(p.stem.split("_")[1]) for p in (run_dir / "checkpoints").glob("step_*.pt")) == 2


def test_a_required_logger_that_cannot_start_stops_before_training(tmp_path, recorder):
    cfg = config_from_dict(config(tmp_path, loggers=[
        "jsonl", {"name": "recorder", "fail_on": "init", "required": True}]))
    with pytest.raises(LoggerError, match=r"^logger 'recorder' failed to start: ConnectionError: "
                                          r"tracking server down; it is required"):
        train(cfg)
    assert not list((tmp_path / "runs" / "check" / "checkpoints").glob("*.pt"))


def test_the_cli_prints_one_line_and_exits_2_for_a_required_logger(tmp_path, recorder, capsys):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(config(tmp_path, loggers=[{"name": "recorder", "fail_on": "init",
                                                               "required": True}])))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ganzoo: error: logger 'recorder' failed to start") and err.count("\n") == 1


# -- resume: a tracker receives each step once --------------------------------------------------
def test_sent_steps_survive_a_restart_and_skip_what_was_sent(tmp_path):
    first = LoggerContext(tmp_path, "r")
    sent = SentSteps(first, first.state("t"))
    for step in (1, 2, 3):
        assert sent.is_new("train", step)
        sent.mark("train", step)
    again = LoggerContext(tmp_path, "r", start_step=2, resuming=True)
    resumed = SentSteps(again, again.state("t"))
    assert [s for s in (3, 4) if resumed.is_new("train", s)] == [4]
    assert resumed.is_new("eval", 3)  # per kind
    fresh = LoggerContext(tmp_path, "r", start_step=0, resuming=True)  # resume="auto", no checkpoint
    assert SentSteps(fresh, fresh.state("t")).is_new("train", 1)


def test_a_missing_tracker_package_says_which_extra_installs_it():
    from ganzoo.loggers import import_optional

    with pytest.raises(LoggerError, match=r"^the 'mlflow' logger needs the ganzoo_no_such_module package "
                                          r"\(.*\); install it with pip install 'ganzoo\[mlflow\]'$"):
        import_optional("ganzoo_no_such_module", "mlflow")


def test_open_loggers_on_other_ranks_logs_nothing(tmp_path):
    nothing = open_loggers(None, None, start_step=0, resuming=False)
    nothing.scalars(1, {"x": 1.0})
    nothing.scores(1, [])
    nothing.close("finished")
    assert nothing.tb_dir is None and nothing.jsonl_path is None


# -- ganzoo bench ---------------------------------------------------------------------------------
def test_record_bench_run_tags_the_trackers_only(tmp_path, recorder):
    cfg = config_from_dict(config(tmp_path, loggers=["jsonl", "recorder"]))
    result = train(cfg)
    before = (result.run_dir / "log.jsonl").read_text()
    recorder.seen = []
    records = [{"metric": "modes", "value": 7.0, "n": 2500, "seed": 0, "higher_is_better": True}]
    took = record_bench_run(cfg, "mybench", 3, "vanilla", records, result.run_dir, step=4, config="ring")
    assert took == ["recorder"]
    assert recorder.seen[0] == ("init", 4, True)
    tags = recorder.seen[1][1]
    assert tags["ganzoo.bench"] == "mybench" and tags["ganzoo.seed"] == "3"
    assert tags["ganzoo.variant"] == "vanilla" and tags["ganzoo.bench.config"] == "ring"
    assert json.loads(tags["ganzoo.bench.modes"]) == {"n": 2500, "seed": 0, "higher_is_better": True}
    assert recorder.seen[2] == ("summary", 4, {"bench/modes": 7.0})
    assert recorder.seen[-1] == ("close", "finished")
    assert (result.run_dir / "log.jsonl").read_text() == before  # the run folder's files untouched


def test_the_guides_example_logger_trains_and_rewinds_on_resume(tmp_path, monkeypatch, ganzoo_plugin):
    """docs/plugins.md's CsvLogger, run as written (its my_zoo/plugin.py blocks, joined)."""
    import csv
    import importlib
    import re

    from ganzoo.checkpoint import list_checkpoints

    doc = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- docs-test: my_zoo/plugin.py -->\s*\n```python\n(.*?)\n```", doc, re.S)
    (tmp_path / "my_zoo").mkdir()
    (tmp_path / "my_zoo" / "__init__.py").write_text("")
    (tmp_path / "my_zoo" / "plugin.py").write_text("\n\n\n".join(blocks) + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        ganzoo_plugin(importlib.import_module("my_zoo.plugin"), "my_zoo")
        cfg = config_from_dict(config(tmp_path, loggers=[{"name": "example_csv", "file": "s.csv"}]))
        run_dir = train(cfg).run_dir
        list_checkpoints(run_dir)[-1].unlink()  # back to step 2
        train(cfg, run_dir=run_dir, resume=True)
        rows = list(csv.reader((run_dir / "s.csv").open(newline="")))
        assert [int(r[0]) for r in rows if r[2] == "loss_d"] == [1, 2, 3, 4]
    finally:
        for name in [m for m in sys.modules if m == "my_zoo" or m.startswith("my_zoo.")]:
            del sys.modules[name]
