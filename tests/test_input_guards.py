"""The guards behind docs/errors.md's second round, at unit level: the limited YAML loader,
allocation failures turned into config errors, data checks on load, FID statistics checks and
the places descriptions come from. (The CLI rows themselves are tests/test_bad_inputs.py.)"""

from __future__ import annotations

import datetime
import warnings

import numpy as np
import pytest

from ganzoo.config import config_from_dict, load_config, parse_override, parse_yaml
from ganzoo.errors import ConfigError, GanzooError

RING = {"name": "ring", "size": 64}


# -- YAML ---------------------------------------------------------------------------------------
def test_ordinary_aliases_and_merge_keys_still_work():
    text = ("base: &b {lr_g: 0.001, lr_d: 0.002}\n"
            "variant:\n  <<: *b\n  name: vanilla\n  lr_d: 0.003\n"
            "hidden: &h [8, 8]\nother: *h\n")
    data, lines = parse_yaml(text, "c.yaml")
    assert data["variant"] == {"lr_g": 0.001, "lr_d": 0.003, "name": "vanilla"}
    assert data["other"] == [8, 8] and lines[("variant", "name")] == 4


@pytest.mark.parametrize("text,where,message", [
    ("x: " + "[" * 65 + "]" * 65 + "\n", "c.yaml:1", "nested more than 64"),
    ("a:\n  b: 1\n  c: 2\n  b: 3\n", "c.yaml:4", "duplicate key 'b' (also on line 2)"),
    ("a: &a\n  b: *a\n", "c.yaml:1", "recursive alias"),
    ("n: " + "1" * 101 + "\n", "c.yaml:1", "101 digits"),
])
def test_refused_yaml_names_file_and_line(text, where, message):
    with pytest.raises(ConfigError) as raised:
        parse_yaml(text, "c.yaml")
    assert str(raised.value).startswith(where + ": ") and message in str(raised.value)


def test_nesting_just_inside_the_limit_is_fine():
    data, _ = parse_yaml("x: " + "[" * 63 + "]" * 63 + "\n", "c.yaml")
    assert isinstance(data["x"], list)


def test_overrides_use_the_same_loader():
    assert parse_override("variant.g_hidden=[8, 16]") == (("variant", "g_hidden"), [8, 16])
    assert parse_override("run.name=[")[1] == "["  # not YAML: taken as text
    with pytest.raises(ConfigError, match="duplicate key 'a'"):
        parse_override("variant.x={a: 1, a: 2}")


def test_date_like_run_name_is_text(tmp_path):
    cfg = config_from_dict({"run": {"name": datetime.date(2024, 1, 1)}, "variant": {"name": "vanilla"},
                            "data": RING})
    assert cfg.run.name == "2024-01-01"
    path = tmp_path / "c.yaml"
    path.write_text("run: {name: 2024-01-01}\nvariant: {name: vanilla}\ndata: {name: ring}\n")
    assert load_config(path, ["run.name=2025-02-03"]).run.name == "2025-02-03"


@pytest.mark.parametrize("override,key", [("train.steps=true", "train.steps"), ("train.steps=2.5", "train.steps"),
                                          ("seed=4294967296", "seed"), ("variant.lr_g=.inf", "variant.lr_g"),
                                          ("data.size=99999999999999999999", "data.size")])
def test_values_that_used_to_pass_are_refused(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        config_from_dict({"variant": {"name": "vanilla"}, "data": RING}, overrides=[override])


# -- allocation and torch's own argument checks -------------------------------------------------
def _variant(variant: dict, data: dict):
    from ganzoo.plugins import get_registry

    cfg = config_from_dict({"variant": variant, "data": data})
    registry = get_registry()
    info = registry.get("datasets", cfg.data.name)(cfg.data).info()
    return registry.get("variants", cfg.variant.name), cfg.variant, info


def test_network_too_large_for_memory_is_a_config_error():
    from ganzoo.safety import build_variant_safely

    cls, options, info = _variant({"name": "dcgan", "ngf": 100_000_000}, {"name": "shapes", "image_size": 16})
    with pytest.raises(ConfigError, match=r"cfg.yaml: variant 'dcgan' .*GiB.*reduce variant.ngf=100000000"):
        build_variant_safely(cls, options, info, file="cfg.yaml")


def test_negative_size_is_a_config_error_naming_it_first():
    from ganzoo.safety import build_variant_safely

    cls, options, info = _variant({"name": "vanilla"}, RING)
    # the built-in schema refuses -1 already; a plugin's options may not, so the guard stays
    options = options.model_copy(update={"g_hidden": [-1]})
    with pytest.raises(ConfigError, match=r"negative dimension.*check variant.g_hidden=\[-1\]"):
        build_variant_safely(cls, options, info)


def test_other_errors_keep_their_traceback():
    from ganzoo.safety import build_variant_safely

    class Broken:
        def __init__(self, options, info):
            raise RuntimeError("a bug, not a size")

    with pytest.raises(RuntimeError, match="a bug"):
        build_variant_safely(Broken, None, None)


def test_optimizer_refusing_options_is_a_config_error():
    from ganzoo.safety import configure_optimizers_safely

    cls, options, info = _variant({"name": "vanilla", "g_hidden": [8], "d_hidden": [8]}, RING)
    options = options.model_copy(update={"betas": (2.0, 3.0)})  # past a schema without bounds
    with pytest.raises(ConfigError, match=r"variant 'vanilla'.*Invalid beta parameter"):
        configure_optimizers_safely(cls(options, info))


def test_memory_guard_names_the_argument():
    from ganzoo.safety import memory_guard

    with pytest.raises(GanzooError, match=r"-n 5 samples does not fit in memory .*use a smaller -n"):
        with memory_guard("-n 5 samples", "use a smaller -n"):
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 99 bytes")
    with pytest.raises(ValueError):
        with memory_guard("x", "y"):
            raise ValueError("not memory")


# -- data ---------------------------------------------------------------------------------------
def _npz(tmp_path, labels, **options):
    from ganzoo.data.npz import Npz, NpzOptions

    x = np.zeros((len(labels), 8, 8), np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.array(labels))
    return Npz(NpzOptions(name="npz", root=str(tmp_path / "d.npz"), images_key="x", labels_key="y", **options))


def test_limit_that_drops_a_class_warns_naming_it(tmp_path):
    from ganzoo.data.common import DataWarning

    with pytest.warns(DataWarning, match=r"data.limit=2 keeps no example of class\(es\) 1, 2 \(of 3\)"):
        _npz(tmp_path, [0, 0, 1, 1, 2, 2], limit=2).dataset("train")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _npz(tmp_path, [0, 1, 2, 0, 1, 2], limit=3).dataset("train")  # every class kept: silent


def test_float_images_with_nan_are_refused_on_load(tmp_path):
    from ganzoo.data.npz import Npz, NpzOptions

    x = np.zeros((3, 8, 8), np.float32)
    x[1, 2, 3] = np.inf
    np.savez(tmp_path / "d.npz", x=x)
    with pytest.raises(GanzooError, match=r"1 of 3 images hold NaN or infinite values \(the first is image 1\)"):
        Npz(NpzOptions(name="npz", root=str(tmp_path / "d.npz"), range=(0, 1))).dataset("train")


# -- FID statistics -----------------------------------------------------------------------------
def test_singular_covariances_from_few_samples_are_accepted():
    """10 samples in 64 dimensions: positive semi-definite but singular, and a valid input."""
    from ganzoo.commands.fid import check_stats
    from ganzoo.metrics.fid import FIDStats

    feats = np.random.default_rng(0).normal(size=(10, 64))
    check_stats("s.npz", FIDStats(feats.mean(0), np.cov(feats, rowvar=False), 10, {}))


@pytest.mark.parametrize("damage,message", [("negative", "not positive semi-definite"),
                                            ("asymmetric", "not symmetric"), ("nan", "NaN")])
def test_impossible_covariances_are_refused(damage, message):
    from ganzoo.commands.fid import check_stats
    from ganzoo.metrics.fid import FIDStats

    sigma = np.eye(8)
    if damage == "negative":
        sigma[0, 0] = -1
    elif damage == "asymmetric":
        sigma[0, 1] = 0.5
    else:
        sigma[2, 2] = np.nan
    with pytest.raises(GanzooError, match=message):
        check_stats("s.npz", FIDStats(np.zeros(8), sigma, None, {}))


# -- where `ganzoo list` descriptions come from ---------------------------------------------------
def test_every_builtin_has_a_description(capsys):
    from ganzoo.cli import main

    for kind in ("variants", "losses", "datasets", "metrics", "regularizers"):
        assert main(["list", kind]) == 0
        for line in capsys.readouterr().out.splitlines():
            name, rest = line.split(None, 1)
            assert not rest.startswith("["), f"{kind} '{name}' has no description"
