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


def add_force(parser: argparse.ArgumentParser) -> None:
    """``--force``: the one switch that lets a command replace an existing output file (never a
    run's or an export's own files: see :mod:`ganzoo.outputs`)."""
    parser.add_argument("--force", action="store_true",
                        help="replace an existing output file (never a run's own files)")
