"""Checks the commands share: argument types with ranges, and output paths checked before work.

Only the standard library at module level: ``ganzoo --help`` imports every command module.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

#: Most samples one ``sample`` call draws: they are generated, gridded and saved at once.
MAX_SAMPLES = 100_000
#: Most samples an ``eval`` scores (50k is the usual FID protocol).
MAX_EVAL_SAMPLES = 1_000_000
#: Largest image side ``translate`` works at; the generator's activations grow with its square.
MAX_IMAGE_SIDE = 4096

DEVICE_RE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def int_range(low: int, high: int):
    """An argparse ``type``: an integer in [low, high], else a one-line usage error."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value
    parse.__name__ = "int"
    return parse


def device(text: str) -> str:
    """An argparse ``type`` for ``--device``: the spellings a run config accepts."""
    if not DEVICE_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda, cuda:N or mps, got {text!r}")
    return text


def check_output_file(path: str | os.PathLike, option: str) -> Path:
    """Refuse, before any work, an output file that cannot be written: a folder in its place, a
    file where one of its folders should be, or a folder that exists but is not writable.
    Missing folders are fine (they are created when the file is written)."""
    from ..errors import GanzooError

    path = Path(path)
    if path.is_dir():
        raise GanzooError(f"{option} {path} is a folder; give a file name")
    if path.exists() and not path.is_file():  # a FIFO or device would block or swallow the output
        raise GanzooError(f"{option} {path} is not a regular file; give another file name")
    parent = path.parent
    while not parent.exists():
        if parent.is_symlink():  # dangling link
            break
        parent = parent.parent
    blocker = next((p for p in [parent, *parent.parents] if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise GanzooError(f"cannot write {option} {path}: {blocker} is a file, not a folder; choose "
                          f"another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise GanzooError(f"cannot write {option} {path}: the folder {parent} is not writable; choose "
                          f"another path")
    return path
