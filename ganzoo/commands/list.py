"""``ganzoo list variants|losses|datasets|metrics``: registered names."""

from __future__ import annotations

import argparse

KINDS = ("variants", "losses", "datasets", "metrics", "feature_extractors")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list registered variants, losses, datasets or metrics")
    p.add_argument("kind", choices=KINDS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..plugins import get_registry

    registry = get_registry()
    for name in registry.names(args.kind):
        entry = registry.entry(args.kind, name)
        doc = (getattr(entry.obj, "__doc__", None) or "").strip().splitlines()
        print(f"{name:<20} {doc[0] if doc else ''}  [{entry.plugin}]")
    return 0
