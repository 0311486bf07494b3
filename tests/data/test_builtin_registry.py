"""The built-in data sets are found through the plugin registry, like a third party's."""

from __future__ import annotations

import warnings

import pytest

from ganzoo.data import DataSource
from ganzoo.plugins import get_registry

NAMES = ["ring", "grid", "ring8_wgangp", "grid25_wgangp", "swiss_roll", "shapes", "two_domain"]


@pytest.fixture(scope="module")
def registry():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # other built-in plugins may not exist yet
        return get_registry()


def test_names_registered_by_builtin_data(registry):
    names = registry.names("datasets")
    for name in NAMES:
        assert name in names
        entry = registry.entry("datasets", name)
        assert entry.plugin == "builtin_data"
        assert issubclass(entry.obj, DataSource)
    assert registry.plugins["builtin_data"].status == "loaded"


@pytest.mark.parametrize("name", NAMES)
def test_options_validate_and_info_is_cheap(registry, name):
    cls = registry.get("datasets", name)
    source = cls(cls.Options.model_validate({"name": name, "size": 5}))
    info = source.info()
    assert info.name == name
    assert info.kind in ("points", "images", "unpaired")
    item = source.dataset("train")[0]
    key = "a" if info.kind == "unpaired" else "x"
    assert tuple(item[key].shape) == info.shape
