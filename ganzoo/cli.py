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
import threading
import warnings

from . import __version__

#: Command modules under ganzoo.commands, in the order ``--help`` lists them.
COMMANDS = ("run", "resume", "sample", "interpolate", "translate", "upscale", "inpaint", "encode", "eval", "fid", "export", "import_",
            "config", "data", "plugins", "list", "bench", "new_plugin")


class GanzooArgumentParser(argparse.ArgumentParser):
    """argparse with ganzoo's error policy (one line, exit status 2) that also accepts options
    between positionals, as documented: ``ganzoo translate RUN_DIR --direction AtoB INPUT -o OUT``
    (plain argparse stops at the first option and refuses the positionals after it)."""

    _inside = False

    def parse_known_args(self, args=None, namespace=None):
        commands = any(isinstance(a, argparse._SubParsersAction) for a in self._actions)
        if self._inside or commands:  # intermixed parsing cannot handle sub-commands
            return super().parse_known_args(args, namespace)
        self._inside = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inside = False

    def error(self, message: str):
        self.exit(2, f"ganzoo: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = GanzooArgumentParser(
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


def _one_line_thread_error(args) -> None:
    """A library's background thread that dies (TensorBoard's event writer on a full disk)
    gets one warning line, not a traceback; the command itself reports what it could not do."""
    if args.exc_type is SystemExit:
        return
    name = getattr(args.thread, "name", "a background thread")
    print(f"ganzoo: warning: {name} stopped: {args.exc_type.__name__}: {args.exc_value}", file=sys.stderr)


def _working_folder_exists() -> bool:
    """A deleted working folder makes relative paths meaningless and native libraries (MKL)
    abort while loading; say so in one line before anything is imported."""
    import os

    try:
        os.getcwd()
        return True
    except OSError:
        print("ganzoo: error: the current working folder no longer exists (deleted or moved); "
              "cd to an existing folder and run the command again", file=sys.stderr)
        return False


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit status (0, 2 for bad input, 130 when interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    if not args.debug:
        warnings.formatwarning = _one_line_warnings
        threading.excepthook = _one_line_thread_error
    if not _working_folder_exists():
        return 2
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
    except BrokenPipeError:  # `ganzoo list variants | head -1`: the reader has gone, not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
