"""docs/configs.md is the run-config reference: generated from the schema, and a test fails when
a key is missing from it or it is out of date (``python tools/gen_config_docs.py`` rewrites it)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def generator():
    spec = importlib.util.spec_from_file_location("gen_config_docs", REPO / "tools" / "gen_config_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_config_docs"] = module
    spec.loader.exec_module(module)
    return module


def documented_keys(text: str) -> set[str]:
    return set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.M))


def test_every_config_key_is_documented():
    """Each key of every section, and of every built-in variant's, data set's and regularizer's
    Options, has a row (nested models as dotted keys)."""
    from ganzoo.config import _TopLevel

    gen = generator()
    text = gen.DOC.read_text(encoding="utf-8")
    keys = documented_keys(text)
    sections = {name for name, f in _TopLevel.model_fields.items() if gen._model_of(f.annotation)}
    for name in sections:
        assert f"\n### `{name}`\n" in text, f"docs/configs.md has no section for '{name}:'"
    wanted = {row[0] for row in gen.rows(_TopLevel, "", skip=("variant", "data"))} - sections
    for title, kind, prefix in (("Variants", "variants", "variant."), ("Data sets", "datasets", "data."),
                                ("Regularizers", "regularizers", "variant.regularizers[].")):
        for entry in gen.builtin_entries(kind):
            wanted |= {row[0] for row in gen.rows(entry.obj.Options, prefix)}
            assert f"\n### `{entry.name}`\n" in text, f"docs/configs.md has no section for {kind} '{entry.name}'"
    assert {"train.steps", "run.name", "variant.g_hidden", "data.root", "ema.decay"} <= wanted
    missing = sorted(wanted - keys)
    assert not missing, f"docs/configs.md lacks {missing}; run: python tools/gen_config_docs.py"


def test_reference_is_up_to_date():
    gen = generator()
    assert gen.DOC.read_text(encoding="utf-8") == gen.render(), "run: python tools/gen_config_docs.py"


def test_configs_that_point_to_it_find_it():
    """zoo_configs/*.yaml send readers to docs/configs.md (e.g. dcgan.yaml for real data)."""
    pointing = [p for p in (REPO / "zoo_configs").rglob("*.yaml") if "docs/configs.md" in p.read_text()]
    assert pointing and (REPO / "docs" / "configs.md").is_file()
    text = (REPO / "docs" / "configs.md").read_text(encoding="utf-8")
    assert "## Real data" in text and "data.name=cifar10" in text and "data.name=mnist" in text
