"""What every importer returns (:class:`ImportedModel`) and the weights-only checkpoint reader."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import GanzooError


@dataclass
class ImportedModel:
    """What an importer read: enough to rebuild a ganzoo variant with the source's weights."""

    variant: str
    options: dict[str, Any]
    image_shape: tuple[int, int, int]
    num_classes: int | None
    g_state: dict[str, Any]
    d_state: dict[str, Any] | None
    source_format: str
    source: Path
    licence: str
    source_url: str
    notes: list[str] = field(default_factory=list)
    #: the source has no average w: estimate ``w_avg`` from mapped z's after loading
    estimate_w_avg: bool = False


def load_state(path: Path) -> Any:
    """A ``torch.save``'d checkpoint read weights-only (tensors, containers, numbers and
    ``argparse.Namespace``, which training scripts store their options in); one line if not."""
    import argparse

    import torch

    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for damaged or unsafe files
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise GanzooError(f"{path}: not a checkpoint torch can read weights-only ({reason})") from None
