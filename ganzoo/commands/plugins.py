"""``ganzoo plugins``: every plugin, where it comes from, its hooks and what it registered."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plugins", help="list loaded plugins")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ..plugins import get_registry

    # lenient: under GANZOO_STRICT_PLUGINS the failures are listed first, then the error
    plugins = sorted(get_registry(lenient=True).plugins.values(), key=lambda p: p.name)
    if args.json:
        print(json.dumps([asdict(p) for p in plugins], indent=2))
    else:
        _print(plugins)
    _strict_verdict(plugins)
    return 0


def _strict_verdict(plugins) -> None:
    """Under GANZOO_STRICT_PLUGINS, any plugin that did not load is an error (after the listing)."""
    from ..errors import PluginError
    from ..plugins import _strict

    bad = [p.name for p in plugins if p.status in ("failed", "incompatible")]
    if bad and _strict():
        raise PluginError(f"{len(bad)} plugin(s) did not load: {', '.join(bad)} (an error because "
                          f"GANZOO_STRICT_PLUGINS is set; the reasons are listed above)")


def _print(plugins) -> None:
    for p in plugins:
        dist = f"{p.distribution} {p.version}" if p.distribution else "(not from a distribution)"
        print(f"{p.name}  [{p.status}]  {dist}  module {p.module}")
        if p.hooks:
            print(f"    hooks: {', '.join(p.hooks)}")
        for kind, names in sorted(p.registered.items()):
            print(f"    {kind}: {', '.join(sorted(names))}")
        if p.error:
            print(f"    error: {p.error}")
