"""The ``ganzoo`` command line.

Each command lives in ``ganzoo/commands/<name>.py`` with an ``add_parser(subparsers)`` function and
stdlib-only imports at module level, so ``ganzoo --help`` imports neither torch nor any plugin.
User errors (:class:`~ganzoo.errors.GanzooError`) print one line and exit 2; ``--debug`` shows the
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from . import __version__

#: Command modules under ganzoo.commands, in the order ``--help`` lists them.
COMMANDS = ("run", "resume", "sample", "translate", "eval", "fid", "config", "data", "plugins",
            "list", "bench", "new_plugin")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ganzoo", description="A plugin-based GAN zoo: train, sample and evaluate GANs "
                                   "from one YAML file.")
    parser.add_argument("--version", action="version", version=f"ganzoo {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"ganzoo.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"ganzoo.commands.{name}":
                continue  # command not shipped in this build
            raise
        module.add_parser(sub)
    return parser


def _one_line_warnings(message, category, filename, lineno, file=None, line=None) -> str:
    return f"ganzoo: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    if not args.debug:
        warnings.formatwarning = _one_line_warnings
    from .errors import GanzooError

    try:
        return int(args.func(args) or 0)
    except GanzooError as exc:
        if args.debug:
            raise
        print(f"ganzoo: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("ganzoo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
