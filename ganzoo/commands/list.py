"""``ganzoo list variants|losses|datasets|metrics|loggers``: registered names."""

from __future__ import annotations

import argparse

KINDS = ("variants", "losses", "datasets", "metrics", "feature_extractors", "regularizers", "loggers")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list registered variants, losses, datasets, metrics or loggers")
    p.add_argument("kind", choices=KINDS)
    p.set_defaults(func=run)


def description(obj) -> str:
    """The first sentence of the class's (or factory's) own docstring, else of its module's: the
    places a plugin author already writes a summary, so no registration has an empty line."""
    import inspect
    import re
    import sys

    own = obj.__dict__.get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    for doc in (own, getattr(module, "__doc__", None)):
        paragraph = " ".join(inspect.cleandoc(doc or "").split("\n\n")[0].split())
        if paragraph:  # its first sentence (a summary may wrap over lines; "et al." goes on)
            return re.split(r"(?<!\bal)\.\s+(?=[A-Z])", paragraph)[0].rstrip(".") + "."
    return ""


def run(args: argparse.Namespace) -> int:
    from ..plugins import get_registry

    registry = get_registry()
    for name in registry.names(args.kind):
        entry = registry.entry(args.kind, name)
        print(f"{name:<20} {description(entry.obj)}  [{entry.plugin}]")
    return 0
