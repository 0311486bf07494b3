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
    if run_dir is not None:
        check_belongs_to_run(state, path, Path(run_dir))
    dev = resolve_device(device)
    _, info, variant = build(cfg, dev)
    load_model_state(variant, state, path)
    averaged = bool(use_ema and "ema" in state)
    if averaged:  # sample and evaluate with the averaged generator
        variant.generator_net().load_state_dict(state["ema"])
    variant.eval()
    return TrainedRun(cfg, variant, info, path, int(state.get("step", 0)), averaged)


def check_belongs_to_run(state: dict[str, Any], path: Path, run_dir: Path) -> None:
    """A checkpoint given with a run (``--checkpoint``, or one copied into its folder) must be
    of the run's variant and data set; other option values (a resume's new learning rate, say)
    only earn a warning, since the checkpoint's own config always fits its weights."""
    import warnings

    import yaml

    from .data.walk import entry_kind

    if entry_kind(run_dir / "config.yaml") != "file":  # a named pipe there would block the read
        return
    try:
        run_cfg = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return  # no readable config.yaml: the checkpoint's own config is all there is
    if not isinstance(run_cfg, dict):
        return
    mine = {k: (run_cfg.get(k) or {}) for k in ("variant", "data")}
    theirs = {k: state["config"].get(k) or {} for k in ("variant", "data")}
    for key in ("variant", "data"):
        if isinstance(mine[key], dict) and mine[key].get("name") != theirs[key].get("name"):
            raise CheckpointError(f"{path}: checkpoint of {key} '{theirs[key].get('name')}', but the "
                                  f"run {run_dir} uses '{mine[key].get('name')}' ({run_dir / 'config.yaml'}); "
                                  f"give a checkpoint of this run")
    changed = sorted(k for k in set(mine["variant"]) | set(theirs["variant"])
                     if isinstance(mine["variant"], dict) and mine["variant"].get(k) != theirs["variant"].get(k))
    if changed:
        warnings.warn(f"{path}: trained with other variant options than {run_dir / 'config.yaml'} "
                      f"({', '.join('variant.' + k for k in changed[:3])}); it is loaded with its own",
                      stacklevel=2)


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


class GeneratorModule(torch.nn.Module):
    """A loaded generator with one calling convention, whatever folder it came from:
    ``G(z, labels=None, truncation_psi=1.0, noise_mode="const")`` -> images in the generator's
    own value range (not clamped). ``truncation_psi`` and ``noise_mode`` need a variant with
    w-space truncation (StyleGAN2); others accept only psi 1."""

    def __init__(self, trained: TrainedRun) -> None:
        super().__init__()
        self.trained = trained
        self.net = trained.variant.generator_net()
        self.conditional = bool(trained.variant.conditional and trained.info.num_classes)
        self.w_truncation = trained.variant.truncation == "w"

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None,
                truncation_psi: float = 1.0, noise_mode: str = "const") -> torch.Tensor:
        if self.conditional and labels is None:
            raise GanzooError("this generator is conditional: give labels (class indices)")
        args = (z, labels) if self.conditional else (z,)
        if self.w_truncation:
            return self.net(*args, truncation_psi=truncation_psi, noise_mode=noise_mode)
        if truncation_psi != 1.0:
            raise GanzooError(f"variant '{self.trained.config.variant.name}' has no w-space "
                              f"truncation; use truncation_psi=1.0")
        return self.net(*args)

    def ws(self, z: torch.Tensor, labels: torch.Tensor | None = None,
           truncation_psi: float = 1.0) -> torch.Tensor:
        """The mapped (and truncated) ws ``(N, num_ws, w_dim)`` (StyleGAN2 only)."""
        if not self.w_truncation:
            raise GanzooError(f"variant '{self.trained.config.variant.name}' has no w space")
        return self.net.ws_from_z(z, truncation_psi, labels if self.conditional else None)


def load_generator(path: str | Path, device: str = "cpu") -> GeneratorModule:
    """The generator of a run folder, a ``ganzoo export`` folder or a ``ganzoo import`` folder,
    in eval mode (see :class:`GeneratorModule`)."""
    return GeneratorModule(load_model(path, device=device)).eval()
