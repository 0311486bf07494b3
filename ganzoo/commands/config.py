"""``ganzoo config show|check CONFIG [KEY=VALUE ...]``."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="show or check a run config")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, text in (("show", "print the resolved config (defaults filled in, overrides applied)"),
                       ("check", "validate a config and exit 0 if it is usable")):
        v = verbs.add_parser(verb, help=text, description=text)
        v.add_argument("config")
        v.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
        v.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import load_config

    cfg = load_config(args.config, args.overrides)
    if args.verb == "show":
        sys.stdout.write(cfg.to_yaml())
    else:
        print(f"{args.config}: ok (variant {cfg.variant.name}, data {cfg.data.name}, "
              f"{cfg.train.steps} steps)")
    return 0
