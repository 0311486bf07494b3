"""Loading a trained run for sampling, evaluation and translation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .checkpoint import latest_good_checkpoint, load_checkpoint
from .config import RunConfig, config_from_dict
from .errors import CheckpointError, GanzooError
from .interfaces import Variant


@dataclass
class TrainedRun:
    config: RunConfig
    variant: Variant
    info: Any
    checkpoint: Path
    step: int


def load_run(run_dir: str | Path | None = None, checkpoint: str | Path | None = None,
             device: str = "cpu", use_ema: bool = True) -> TrainedRun:
    """The variant of a run with the weights of ``checkpoint`` (default: the latest good one).

    A checkpoint holds its own config, so ``checkpoint`` alone is enough.
    """
    from .trainer import build, check_compatible, load_model_state, resolve_device

    if checkpoint is not None:
        path = Path(checkpoint)
        state = load_checkpoint(path)
    else:
        if run_dir is None or not Path(run_dir).is_dir():
            raise GanzooError(f"{run_dir}: not a run folder; give the folder 'ganzoo run' printed")
        found = latest_good_checkpoint(run_dir)
        if found is None:
            raise CheckpointError(f"{run_dir}: no loadable checkpoint in {Path(run_dir) / 'checkpoints'}")
        path, state = found
    cfg = config_from_dict(state["config"], file=str(path))
    check_compatible(state, cfg, path)
    dev = resolve_device(device)
    _, info, variant = build(cfg, dev)
    load_model_state(variant, state, path)
    if use_ema and "ema" in state:  # sample and evaluate with the averaged generator
        variant.generator_net().load_state_dict(state["ema"])
    variant.eval()
    return TrainedRun(cfg, variant, info, path, int(state.get("step", 0)))


def class_labels(n: int, num_classes: int | None, wanted: int | None, device) -> torch.Tensor | None:
    """Labels for conditional sampling: all ``wanted``, or None, or (default) class blocks.

    The default gives each class ``ceil(n / num_classes)`` consecutive samples (the last class
    may get fewer), so a grid with that many per row has exactly one row per class.
    """
    if num_classes is None:
        if wanted is not None:
            raise GanzooError("--class needs a run trained on labelled data with a conditional variant")
        return None
    if wanted is not None:
        if not 0 <= wanted < num_classes:
            raise GanzooError(f"--class {wanted} is out of range: this run has classes 0..{num_classes - 1}")
        return torch.full((n,), wanted, dtype=torch.long, device=device)
    return torch.arange(n, device=device) // -(-n // num_classes)
