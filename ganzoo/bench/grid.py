"""Override grids: ``--grid KEY=V1,V2,...`` (repeatable) multiplies every config by each
combination of values, so a learning-rate or loss comparison is one command.

Each combination is a cell of its own in the table, in a folder whose name says its overrides:
``OUT/<config stem>,variant.lr_g=1e-4,variant.loss=lsgan/seed<k>``.
"""

from __future__ import annotations

import itertools
import re

from ..errors import GanzooError

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def split_values(text: str) -> list[str]:
    """``a,[1, 2],{x: 1}`` -> ``["a", "[1, 2]", "{x: 1}"]``: commas inside brackets stay."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return out


def parse_grid(items: list[str]) -> list[tuple[str, list[str]]]:
    """The ``--grid`` options as (key, values), checked: one line naming the bad item otherwise."""
    grid: list[tuple[str, list[str]]] = []
    for item in items:
        key, sep, rest = item.partition("=")
        key = key.strip()
        if not sep or not _KEY.fullmatch(key):
            raise GanzooError(f"--grid '{item}' is not KEY=V1,V2,... (e.g. --grid variant.lr_g=1e-4,2e-4)")
        values = split_values(rest)
        if any(not v for v in values):
            raise GanzooError(f"--grid '{item}': an empty value; separate values by single commas")
        if len(set(values)) != len(values):
            raise GanzooError(f"--grid '{item}': a value is repeated; give each value once")
        if any(k == key for k, _ in grid):
            raise GanzooError(f"--grid: key '{key}' given twice; put all its values in one --grid")
        grid.append((key, values))
    return grid


def grid_points(grid: list[tuple[str, list[str]]]) -> list[list[str]]:
    """Every combination as a list of ``KEY=VALUE`` overrides (one empty combination without a grid)."""
    keys = [k for k, _ in grid]
    return [[f"{k}={v}" for k, v in zip(keys, combo)] for combo in itertools.product(*(vs for _, vs in grid))]


def cell_name(stem: str, point: list[str]) -> str:
    """The folder name of a config at one grid point: the stem, then each ``key=value``."""
    parts = [stem]
    for override in point:
        key, _, value = override.partition("=")
        parts.append(f"{key}={_UNSAFE.sub('_', value).strip('_') or '_'}")
    return ",".join(parts)
