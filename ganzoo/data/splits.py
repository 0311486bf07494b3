"""Split names of the built-in procedural sets and the integers that seed them."""

from __future__ import annotations

from ..errors import DataError

SPLITS: dict[str, int] = {"train": 0, "test": 1}


def split_code(split: str, dataset: str) -> int:
    """The integer that seeds ``split`` of ``dataset``; an unknown split is a user error."""
    if split not in SPLITS:
        raise DataError(f"data set '{dataset}' has no split '{split}'; use one of: "
                        + ", ".join(SPLITS))
    return SPLITS[split]
