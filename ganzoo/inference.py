"""Loading a trained run for sampling, evaluation and translation: from a run folder (its
checkpoints) or from a folder written by ``ganzoo export`` (safetensors weights, rebuilt from
``config.yaml`` and ``data_info.json`` without the data set)."""

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
    #: True when the generator holds the run's moving average (EMA) of its weights
    averaged: bool = False


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
    averaged = bool(use_ema and "ema" in state)
    if averaged:  # sample and evaluate with the averaged generator
        variant.generator_net().load_state_dict(state["ema"])
    variant.eval()
    return TrainedRun(cfg, variant, info, path, int(state.get("step", 0)), averaged)


def is_export(folder: str | Path) -> bool:
    """Whether ``folder`` was written by ``ganzoo export`` (it holds generator weights)."""
    from .export import WEIGHTS

    return (Path(folder) / WEIGHTS).is_file()


def _read_manifest(folder: Path, weights: Path) -> dict[str, Any]:
    """``export.json`` (empty if absent); the weights must match its checksum."""
    import hashlib
    import json

    from .export import MANIFEST, WEIGHTS

    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not readable JSON ({exc}); export the run again") from None
    expected = manifest.get("sha256", {}).get(WEIGHTS) if isinstance(manifest, dict) else None
    if expected and hashlib.sha256(weights.read_bytes()).hexdigest() != expected:
        raise CheckpointError(f"{weights}: its SHA-256 differs from the one in {path} (changed or "
                              f"damaged since the export); export the run again")
    return manifest if isinstance(manifest, dict) else {}


def _read_export_inputs(folder: Path) -> tuple[RunConfig, Any]:
    """The run config (validated like any config) and the DataInfo of an export folder."""
    import json

    import yaml

    from .export import CONFIG, DATA_INFO, data_info_from_dict

    for name in (CONFIG, DATA_INFO):
        if not (folder / name).is_file():
            raise CheckpointError(f"{folder}: exported folder without {name}; export the run again")
    try:
        config = yaml.safe_load((folder / CONFIG).read_text(encoding="utf-8"))
        data = json.loads((folder / DATA_INFO).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, json.JSONDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{folder}: cannot read its {CONFIG} or {DATA_INFO} ({reason}); "
                              f"export the run again") from None
    return config_from_dict(config, file=str(folder / CONFIG)), data_info_from_dict(data, folder / DATA_INFO)


def load_export(folder: str | Path, device: str = "cpu") -> TrainedRun:
    """The variant of an exported folder with its generator weights (never unpickled); the
    data set is not opened. Only the generator is loaded: sample, interpolate, export."""
    from .errors import ConfigError
    from .export import WEIGHTS, load_generator
    from .plugins import get_registry
    from .safety import build_variant_safely
    from .trainer import resolve_device

    folder = Path(folder)
    weights = folder / WEIGHTS
    manifest = _read_manifest(folder, weights)
    cfg, info = _read_export_inputs(folder)
    variant_cls = get_registry().get("variants", cfg.variant.name)
    if info.kind not in variant_cls.supports:
        raise ConfigError(f"variant '{cfg.variant.name}' does not take {info.kind} data; "
                          f"{folder / 'data_info.json'} does not belong to this config", file=cfg.source)
    variant = build_variant_safely(variant_cls, cfg.variant, info, file=cfg.source)
    variant.to(resolve_device(device))
    load_generator(variant, weights)
    variant.eval()
    step = manifest.get("step", 0)
    return TrainedRun(cfg, variant, info, weights, step if isinstance(step, int) else 0,
                      manifest.get("weights") == "ema")


def load_model(path: str | Path, checkpoint: str | Path | None = None, device: str = "cpu") -> TrainedRun:
    """A run folder or an exported folder, told apart by their files; one line if neither."""
    if checkpoint is None and path is not None and Path(path).is_dir() and is_export(path):
        return load_export(path, device)
    if checkpoint is not None and path is not None and is_export(path):
        raise GanzooError(f"--checkpoint applies to run folders; {path} is an exported folder "
                          f"(it holds one set of weights)")
    if checkpoint is None and path is not None and Path(path).is_dir() \
            and not (Path(path) / "checkpoints").is_dir():
        raise GanzooError(f"{path}: neither a run folder (no checkpoints/) nor an exported folder "
                          f"(no generator.safetensors); give a folder 'ganzoo run' or 'ganzoo "
                          f"export' wrote")
    return load_run(path, checkpoint, device)


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
