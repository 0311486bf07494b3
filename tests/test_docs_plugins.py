"""docs/plugins.md cannot rot: every hook is documented with its signature, and the guide's example
plugin and its test file (the ``<!-- docs-test: FILE -->`` blocks) are run as written."""

from __future__ import annotations

import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ganzoo import hookspecs

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
BLOCK = re.compile(r"<!-- docs-test: (?P<file>[\w./-]+) -->\s*\n```python\n(?P<code>.*?)\n```", re.S)


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def doc_files() -> dict[str, str]:
    """Each marked file: its blocks joined in the order the guide shows them."""
    files: dict[str, list[str]] = {}
    for m in BLOCK.finditer(doc_text()):
        files.setdefault(m["file"], []).append(m["code"])
    return {name: "\n\n\n".join(blocks) + "\n" for name, blocks in files.items()}


def hookspec_functions() -> dict[str, object]:
    """Every function in ganzoo/hookspecs.py marked with ``@hookspec``."""
    marker = f"{hookspecs.PROJECT}_spec"
    return {name: fn for name, fn in vars(hookspecs).items()
            if inspect.isfunction(fn) and hasattr(fn, marker)}


def signature_text(name: str, fn: object) -> str:
    """``def name(arg: Type) -> Ret`` as written in the source (annotations are strings there)."""
    sig = inspect.signature(fn)
    params = ", ".join(p.name if p.annotation is inspect.Parameter.empty else f"{p.name}: {p.annotation}"
                       for p in sig.parameters.values())
    ret = "" if sig.return_annotation is inspect.Signature.empty else f" -> {sig.return_annotation}"
    return f"def {name}({params}){ret}"


def test_hook_kinds_and_hookspecs_agree():
    assert set(hookspec_functions()) == set(hookspecs.HOOK_KINDS)


@pytest.mark.parametrize("hook", sorted(set(hookspecs.HOOK_KINDS) | set(hookspec_functions())))
def test_every_hook_is_documented_with_its_signature(hook):
    text = doc_text()
    fn = hookspec_functions().get(hook)
    assert fn is not None, f"{hook} is in HOOK_KINDS but has no @hookspec function"
    assert f"\n### `{hook}`\n" in text, f"docs/plugins.md has no section '### `{hook}`'"
    sig = signature_text(hook, fn)
    assert f"`{sig}`" in text, f"docs/plugins.md does not show the signature `{sig}`"


def test_guide_has_the_example_files():
    files = doc_files()
    assert set(files) == {"my_zoo/plugin.py", "tests/test_my_zoo.py"}
    for hook in hookspecs.HOOK_KINDS:   # each hook's section carries a runnable implementation
        assert f"@hookimpl\ndef {hook}(register):" in files["my_zoo/plugin.py"]


def write_example(root: Path) -> None:
    for name, code in doc_files().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code, encoding="utf-8")
    (root / "my_zoo" / "__init__.py").write_text("")


def test_example_plugin_registers_every_hook(tmp_path, monkeypatch, ganzoo_plugin):
    write_example(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        module = importlib.import_module("my_zoo.plugin")
        info = ganzoo_plugin(module, "my_zoo")
        assert info.hooks == sorted(hookspecs.HOOK_KINDS)
        assert {k: sorted(v) for k, v in info.registered.items()} == {
            "variants": ["example_circle_gan", "example_mlp"], "losses": ["example_softhinge"],
            "datasets": ["example_circle"], "metrics": ["example_radius_error"],
            "feature_extractors": ["example_polar"], "loggers": ["example_csv"],
            "regularizers": ["example_r1"]}
    finally:
        for name in [m for m in sys.modules if m == "my_zoo" or m.startswith("my_zoo.")]:
            del sys.modules[name]


def test_example_test_file_passes_under_pytest(tmp_path):
    """The guide's test file, run by pytest as a plugin author would (fixtures from ganzoo.testing)."""
    write_example(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANZOO_")}
    env["PYTHONPATH"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/test_my_zoo.py"], cwd=tmp_path, capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "5 passed" in out.stdout, out.stdout


def test_pyproject_example_declares_the_entry_point():
    tomllib = pytest.importorskip("tomllib")
    block = re.search(r"```toml\n(.*?)\n```", doc_text(), re.S)
    assert block is not None
    data = tomllib.loads(block[1])
    assert data["project"]["entry-points"]["ganzoo"] == {"my_zoo": "my_zoo.plugin"}
    assert "my_zoo/plugin.py" in doc_files()   # the module the entry point names is the one run above
