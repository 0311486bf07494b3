"""``ganzoo new-plugin NAME [--kind KIND] [--dir DIR]``: scaffold a plugin package that installs,
trains and passes its own tests unchanged.

The package (``ganzoo-NAME/``) has a ``pyproject.toml`` with the ``ganzoo`` entry point, a
``ganzoo_NAME/plugin.py`` with a working example of the kind to edit (a variant, loss, data set,
metric or regularizer), a run config that uses it on built-in data, a README and tests built on
:func:`ganzoo.testing.check_variant`. The files are in :mod:`._plugin_templates`.
Only stdlib imports at module level: ``ganzoo --help`` imports this file.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from .. import API_VERSION, __version__
from ._plugin_templates import CONFIG_HEAD, CONFIG_TAIL, INIT, KINDS, PYPROJECT, README, TEST_HEADER

#: lowercase words joined by single underscores: a Python identifier and a readable variant name
NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
MAX_NAME = 40


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new-plugin", help="scaffold a plugin package (a variant, loss, data set, metric "
                                          "or regularizer, with config, README and tests)",
                       description="Create ganzoo-NAME/ (underscores in NAME become hyphens): an "
                                   "installable plugin package whose KIND named NAME works as is; edit "
                                   "ganzoo_NAME/plugin.py from there.")
    p.add_argument("name", metavar="NAME",
                   help="registered name and entry-point name: lowercase letters, digits and single '_'")
    p.add_argument("--kind", choices=tuple(KINDS), default="variant",
                   help="what the plugin adds (default: variant)")
    p.add_argument("--dir", default=".", help="folder to create ganzoo-NAME/ in (default: current)")
    p.set_defaults(func=run)


def names(name: str, kind: str = "variant") -> dict[str, str]:
    """Every spelling the templates need, from the validated NAME and KIND."""
    words = name.split("_")
    camel = "".join(w.capitalize() for w in words)
    major = int(API_VERSION.split(".")[0])
    spec = KINDS[kind]
    n = {
        "name": name,
        "kind": kind,
        "dist": "ganzoo-" + "-".join(words),
        "module": f"ganzoo_{name}",
        "cls": camel + spec["suffix"],
        "options": camel + "Options",
        "api": f">={API_VERSION},<{major + 1}",
        "ganzoo_req": f"ganzoo>={__version__},<{major + 1}",
        "registry_kind": spec["registry_kind"],
        "hook": spec["hook"],
    }
    for key in ("config", "summary", "usage"):
        n[key] = spec[key].format(**n)
    n["run_line"] = f"ganzoo run configs/{n['config']}".ljust(41) + "# about a minute on a CPU\n"
    return n


def validate_name(name: str, *, check_registry: bool = True, kind: str = "variant") -> None:
    """Raise a one-line :class:`GanzooError` for a NAME that is malformed or already taken."""
    from ..errors import GanzooError

    if len(name) > MAX_NAME or not NAME_RE.fullmatch(name):
        raise GanzooError(f"plugin name '{name}' is not valid: use lowercase letters, digits and single "
                          f"underscores, starting with a letter (at most {MAX_NAME} characters), "
                          f"e.g. 'my_gan'")
    if not check_registry:
        return
    from importlib import metadata

    from ..plugins import ENTRY_POINT_GROUP, get_registry

    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            raise GanzooError(f"plugin name '{name}' is already an entry point of an installed plugin "
                              f"({ep.value}); choose another NAME")
    registry = get_registry()
    table = KINDS[kind]["registry_kind"]
    if name in registry.names(table):
        owner = registry.entry(table, name).plugin
        raise GanzooError(f"{kind} '{name}' is already registered by plugin '{owner}'; choose another NAME")


def files(n: dict[str, str]) -> dict[str, str]:
    """{path in the package: text} for the names ``n`` of one NAME and KIND."""
    spec = KINDS[n["kind"]]
    return {
        "pyproject.toml": PYPROJECT.format(**n),
        "README.md": README.format(**n),
        f"{n['module']}/__init__.py": INIT.format(**n),
        f"{n['module']}/plugin.py": spec["plugin"].format(**n),
        f"configs/{n['config']}": (CONFIG_HEAD + spec["config_body"] + CONFIG_TAIL).format(**n),
        f"tests/test_{n['name']}.py": (TEST_HEADER + spec["test"]).format(**n),
    }


def scaffold(name: str, parent: str | Path = ".", *, kind: str = "variant",
             check_registry: bool = True) -> Path:
    """Write the package for ``name`` under ``parent``; returns its folder. Nothing is written
    when a check fails, and an existing folder is never touched."""
    from ..errors import GanzooError
    from ..fileio import atomic_write_text

    validate_name(name, check_registry=False)
    n = names(name, kind)
    root = Path(parent) / n["dist"]
    if root.exists():
        raise GanzooError(f"{root} already exists; remove it or pass --dir to scaffold elsewhere")
    if check_registry:
        validate_name(name, kind=kind)
    from ..outputs import check_output

    written = files(n)
    for rel in written:
        check_output(root / rel, "--dir")
    for rel, text in written.items():
        atomic_write_text(root / rel, text, durable=False, replace=False)
    return root


def run(args: argparse.Namespace) -> int:
    root = scaffold(args.name, args.dir, kind=args.kind)
    n = names(args.name, args.kind)
    print(f"created {root}/ (distribution {n['dist']}, module {n['module']}, {args.kind} '{args.name}')")
    steps = ((f"pip install -e {root}", "registers the entry point"),
             ("ganzoo plugins", f"lists {args.name} with {n['dist']} 0.1.0"),
             (f"python -m pytest {root}/tests", "the plugin's own tests"),
             (f"ganzoo run {root}/configs/{n['config']}", "about a minute on a CPU"))
    width = max(len(c) for c, _ in steps)
    print("next:")
    for command, why in steps:
        print(f"  {command:<{width}}  # {why}")
    return 0
