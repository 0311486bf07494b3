"""Property-based test of the config loader: any YAML document and any overrides give either a
valid RunConfig or a GanzooError with a one-line message, never another exception.

Documents are random nested dicts/lists/scalars (keys drawn from the real section and option
names, near-misses and arbitrary text), mutations of a valid tiny config (so the variant and data
schemas are reached, not only the top level), and random or damaged YAML text. A config that is
accepted must also survive its own ``to_yaml`` round trip unchanged.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganzoo.config import RunConfig, config_from_dict, load_config
from ganzoo.errors import GanzooError
from ganzoo.testing import tiny_config

SECTIONS = ["run", "seed", "device", "precision", "variant", "data", "train", "log", "checkpoint",
            "ema", "distributed", "eval"]
NEAR_MISSES = ["trian", "varient", "dta", "Run", "seed ", "logs", "checkpoints", "emma", "", "name",
               "steps", "variant.name", "TRAIN", "data_", "__class__"]
OPTION_KEYS = ["name", "out_dir", "steps", "batch_size", "num_workers", "every", "image_every",
               "num_images", "keep", "decay", "start", "z_dim", "g_hidden", "d_hidden", "loss", "lr_g",
               "lr_d", "betas", "d_steps", "pack", "size", "preset", "seed", "root", "image_size",
               "channels", "transforms", "limit", "stpes", "nmae", "lr", "tensorboard", "progress",
               "metrics", "best", "n", "extractor", "split"]
NAMES = ["vanilla", "dcgan", "wgan", "wgan_gp", "conditional", "cyclegan", "vae", "ring", "grid",
         "swiss_roll", "shapes", "two_domain", "image_folder", "npz", "mnist", "vanila", "rign", "bce",
         "hinge", "hinj", "fp16", "cpu", "cuda:0", "gpu", "auto", "fid", "fdi", "kid", "modes"]

keys = st.sampled_from(SECTIONS + NEAR_MISSES + OPTION_KEYS) | st.text(max_size=8)
scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True)
           | st.sampled_from(NAMES) | st.text(max_size=12))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys | st.integers(-3, 3), inner, max_size=4),
    max_leaves=12)

BASE = tiny_config({"name": "vanilla", "z_dim": 2, "g_hidden": [8], "d_hidden": [8]},
                   {"name": "ring", "size": 64}, "runs", steps=2)


@st.composite
def mutated_configs(draw) -> dict:
    """A valid tiny config with a few sections or options replaced, removed or added."""
    cfg = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(0, 2))):
        section = draw(st.sampled_from(["variant", "data", "train"]) | st.sampled_from(SECTIONS + NEAR_MISSES))
        action = draw(st.sampled_from(["replace", "remove", "option", "option", "option", "option"]))
        if action == "replace":
            cfg[section] = draw(values)
        elif action == "remove":
            cfg.pop(section, None)
        else:
            if not isinstance(cfg.get(section), dict):
                cfg[section] = {}
            cfg[section][draw(st.sampled_from(OPTION_KEYS) | keys)] = draw(scalars | values)
    return cfg


# mostly near-valid configs, so that the variant and data schemas are reached
documents = st.one_of(mutated_configs(), mutated_configs(), mutated_configs(),
                      st.dictionaries(keys, values, max_size=6), values)

YAML_CHARS = list("abcnrtu:{}[]-#&*!|>'\"%@`,?.=\\ \n\t0123456789")
damaged_yaml = st.builds(
    lambda text, at, junk: text[:at % (len(text) + 1)] + junk + text[at % (len(text) + 1):],
    st.just(yaml.safe_dump(BASE, sort_keys=False)), st.integers(0, 10_000),
    st.text(st.sampled_from(YAML_CHARS), min_size=1, max_size=6))
random_yaml = st.text(st.sampled_from(YAML_CHARS), max_size=80)

override_values = st.sampled_from(["1", "0", "-1", "abc", "[1, 2]", "{a: 1}", "null", "true", "1e30",
                                   ".nan", "'x'", "hinge", "vanila", "", "{name: dcgan}", "[", "]:",
                                   "!!python/object/apply:os.system ['true']"]) | st.text(max_size=10)
dotted_keys = st.lists(st.sampled_from(SECTIONS + OPTION_KEYS + NEAR_MISSES), min_size=1,
                       max_size=3).map(".".join)
overrides = st.one_of(st.just([]), st.lists(st.builds(lambda k, v: f"{k}={v}", dotted_keys, override_values),
                                            min_size=1, max_size=2), st.lists(st.text(max_size=15), max_size=2))

FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def check(load) -> RunConfig | None:
    """Call ``load``; a GanzooError must carry a one-line message; anything else fails the test."""
    try:
        cfg = load()
    except GanzooError as exc:
        message = str(exc)
        assert message.strip(), f"empty message from {type(exc).__name__}"
        assert len(message.splitlines()) == 1 and "\r" not in message, f"not one line: {message!r}"
        return None
    assert isinstance(cfg, RunConfig)
    again = config_from_dict(yaml.safe_load(cfg.to_yaml()))
    assert _same(again.to_dict(), cfg.to_dict()), "an accepted config changed in its own round trip"
    return cfg


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "cfg.yaml"


@FUZZ
@given(document=documents, extra=overrides)
def test_load_config_accepts_or_explains_any_document(config_file: Path, document, extra) -> None:
    config_file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    check(lambda: load_config(config_file, extra))


@FUZZ
@given(text=damaged_yaml | random_yaml, extra=overrides)
def test_load_config_accepts_or_explains_any_text(config_file: Path, text: str, extra) -> None:
    config_file.write_text(text, encoding="utf-8")
    check(lambda: load_config(config_file, extra))


@FUZZ
@given(data=documents | st.tuples(scalars) | st.sets(st.integers(), max_size=2), extra=overrides)
def test_config_from_dict_accepts_or_explains_any_object(data, extra) -> None:
    check(lambda: config_from_dict(data, overrides=extra))


def test_the_fuzzer_reaches_valid_configs_and_deep_errors(config_file: Path) -> None:
    """The strategies are not all rejected at the top level: the base config loads, and a bad
    option deep inside the variant is reported by the variant's own schema."""
    config_file.write_text(yaml.safe_dump(BASE, sort_keys=False), encoding="utf-8")
    assert check(lambda: load_config(config_file)) is not None
    with pytest.raises(GanzooError, match=r"variant\.g_hidden"):
        load_config(config_file, ["variant.g_hidden=[]"])
