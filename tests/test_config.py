"""Config loading: line-numbered errors with suggestions, overrides, resolved config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ganzoo.config import load_config, parse_override
from ganzoo.errors import ConfigError

BASE = """\
run:
  name: cfgtest
seed: 3
variant:
  name: vanilla
  z_dim: 8
  lr_g: 1.0e-4
data:
  name: ring
train:
  steps: 20
  batch_size: 16
"""


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_valid_config_fills_defaults(tmp_path):
    cfg = load_config(write(tmp_path, BASE))
    assert cfg.variant.name == "vanilla" and cfg.variant.z_dim == 8 and cfg.variant.lr_g == 1e-4
    assert cfg.variant.lr_d == 2e-4  # default from the variant's schema
    assert cfg.train.steps == 20 and cfg.log.every == 50 and cfg.seed == 3


def test_top_level_typo_names_file_line_and_suggestion(tmp_path):
    path = write(tmp_path, BASE.replace("train:", "trian:"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}:10: trian: unknown key 'trian' (did you mean 'train'?)"


def test_variant_option_typo_is_checked_against_the_variants_schema(tmp_path):
    path = write(tmp_path, BASE.replace("lr_g:", "lr_gg:"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}:7: variant.lr_gg: unknown key 'lr_gg' (did you mean 'lr_g'?)"


def test_wrong_type_names_file_and_line(tmp_path):
    path = write(tmp_path, BASE.replace("batch_size: 16", "batch_size: many"))
    with pytest.raises(ConfigError, match=rf"^{path}:12: train.batch_size: .*integer.*'many'"):
        load_config(path)


def test_out_of_range_value(tmp_path):
    path = write(tmp_path, BASE.replace("steps: 20", "steps: -5"))
    with pytest.raises(ConfigError, match=rf"^{path}:11: train.steps: .*greater than 0"):
        load_config(path)


def test_malformed_yaml_names_the_line(tmp_path):
    path = write(tmp_path, BASE.replace("  z_dim: 8", "  z_dim: [8"))
    with pytest.raises(ConfigError, match=rf"^{path}:\d+: malformed YAML"):
        load_config(path)


def test_unknown_variant_suggests(tmp_path):
    path = write(tmp_path, BASE.replace("name: vanilla", "name: vanila"))
    with pytest.raises(ConfigError, match=rf"^{path}:5: variant.name: unknown variant 'vanila' \(did you mean 'vanilla'\?\)"):
        load_config(path)


def test_overrides_change_the_resolved_config(tmp_path):
    cfg = load_config(write(tmp_path, BASE), ["train.steps=200", "variant.lr_g=3e-4", "variant.betas=[0.0, 0.9]"])
    assert cfg.train.steps == 200 and cfg.variant.lr_g == 3e-4 and cfg.variant.betas == (0.0, 0.9)
    resolved = yaml.safe_load(cfg.to_yaml())
    assert resolved["train"]["steps"] == 200 and resolved["variant"]["lr_d"] == 2e-4


def test_override_typo_is_reported_as_an_override(tmp_path):
    with pytest.raises(ConfigError, match=r"variant.lr_gg: unknown key 'lr_gg' \(did you mean 'lr_g'\?\) \(from override 'variant.lr_gg=1'\)"):
        load_config(write(tmp_path, BASE), ["variant.lr_gg=1"])
    with pytest.raises(ConfigError, match="is not KEY=VALUE"):
        parse_override("train.steps")


def test_yaml_tags_that_build_objects_are_refused(tmp_path):
    path = write(tmp_path, BASE + "extra: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ConfigError, match="malformed YAML"):
        load_config(path)


def test_cli_config_show_and_check(tmp_path):
    path = write(tmp_path, BASE)
    shown = subprocess.run([sys.executable, "-m", "ganzoo", "config", "show", str(path), "train.steps=77"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert yaml.safe_load(shown.stdout)["train"]["steps"] == 77
    bad = write(tmp_path, BASE.replace("train:", "trian:"), "bad.yaml")
    checked = subprocess.run([sys.executable, "-m", "ganzoo", "config", "check", str(bad)],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 2
    assert checked.stderr.strip() == f"ganzoo: error: {bad}:10: trian: unknown key 'trian' (did you mean 'train'?)"
    assert "Traceback" not in checked.stderr
