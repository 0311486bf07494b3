"""Checkpoints: what they hold, written atomically, read safely, checked against their run.

A checkpoint is a plain dict (:func:`training_state`) saved with ``torch.save`` through
:func:`ganzoo.fileio.atomic_write`, so a crash mid-write never leaves a truncated ``step_*.pt``.
It is read with ``torch.load(weights_only=True)`` (a pickle that would run code is refused), and
its structure is checked before anything is restored from it (:func:`check_structure`), so a
crafted or damaged file gets one line naming it and what is wrong.
"""

from __future__ import annotations

import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from . import __version__
from .errors import CheckpointError
from .fileio import atomic_write

FORMAT = "ganzoo-checkpoint"
FORMAT_VERSION = 1
_NAME = re.compile(r"step_(\d+)\.pt$")


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "checkpoints"


def checkpoint_path(run_dir: str | Path, step: int) -> Path:
    return checkpoint_dir(run_dir) / f"step_{step:08d}.pt"


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Save ``state`` atomically: temporary file, fsync, rename."""
    return atomic_write(path, lambda f: torch.save(state, f))


def is_refused_pickle(exc: BaseException) -> bool:
    """Whether ``torch.load(weights_only=True)`` failed because the pickle asks for code (a
    global it would import and call), not because the bytes are no pickle at all (random bytes
    give "Unsupported operand")."""
    text = str(exc)
    return isinstance(exc, pickle.UnpicklingError) and ("GLOBAL" in text or "Unsupported global" in text)


def load_error_reason(exc: BaseException) -> str:
    """One line saying why ``torch.load(weights_only=True)`` failed; torch's own text is many
    lines of advice about its API (and suggests ``weights_only=False``, which ganzoo never uses)."""
    text = str(exc).strip()
    if is_refused_pickle(exc):
        found = re.search(r"GLOBAL ([\w.]+)", text)
        what = f" that would call {found.group(1)}" if found else ""
        return f"refused to load: the file holds pickled code{what}, which ganzoo never runs"
    operand = re.search(r"Unsupported operand (\d+)", text)
    if operand:
        return f"its bytes are not a PyTorch file (byte {operand.group(1)} is no pickle instruction)"
    first = text.splitlines()[0] if text else type(exc).__name__
    return first.split(". ")[0][:160]


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu",
                    training: bool = False) -> dict[str, Any]:
    """Load a ganzoo checkpoint safely; errors name the file and what to do. ``training``
    also checks what a resume restores (:func:`check_training_fields`)."""
    from .data.walk import entry_kind

    path = Path(path)
    kind = entry_kind(path)
    if kind != "file":
        what = "checkpoint not found" if kind == "unreadable entry" else f"a {kind}, not a checkpoint file"
        raise CheckpointError(f"{path}: {what}; give a step_*.pt file from a run's checkpoints folder")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if is_refused_pickle(exc):
            raise CheckpointError(f"{path}: {load_error_reason(exc)}; use a checkpoint written by "
                                  f"ganzoo (it holds plain tensors only)") from None
        raise CheckpointError(f"{path}: not a readable checkpoint ({load_error_reason(exc)}); "
                              f"it may be truncated or corrupt") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({load_error_reason(exc)}); "
                              f"use an earlier one in the same folder") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a ganzoo checkpoint (no '{FORMAT}' marker); "
                              f"for raw network weights use the command's --weights option")
    check_structure(state, path, training=training)
    return state


#: The entries every checkpoint holds, with their types (the training ones are checked on resume).
_REQUIRED = {"variant": str, "data": str, "config": dict, "model": dict}
_TRAINING = {"step": int, "data_position": int, "optimizers": dict, "schedulers": dict,
             "rng": (dict, list)}


def check_structure(state: dict[str, Any], path: str | Path, training: bool = False) -> None:
    """Refuse a checkpoint that lacks an entry or holds one of the wrong type, naming it; with
    ``training`` also what a resume needs (step, data position, optimizers, RNG state)."""
    wanted = {**_REQUIRED, **(_TRAINING if training else {})}
    for key, kind in wanted.items():
        if key not in state:
            problem = "has no"
        elif not isinstance(state[key], kind) or isinstance(state[key], bool):
            problem = f"has a {type(state[key]).__name__} as its"
        else:
            continue
        raise CheckpointError(f"{path}: damaged or not written by ganzoo: it {problem} '{key}' "
                              f"entry; use another checkpoint of the run")
    bad = next((k for k, v in state["model"].items() if not torch.is_tensor(v)), None)
    if bad is not None:
        raise CheckpointError(f"{path}: damaged or not written by ganzoo: model entry '{bad}' is "
                              f"not a tensor; use another checkpoint of the run")
    if training:
        check_training_fields(state, path)


def _training_field_problem(state: dict[str, Any]) -> tuple[str, str] | None:
    """(entry, what is wrong) for the first resume-only entry that cannot be used as saved."""
    from .runtime import rng_state_problem

    if state["step"] < 0 or state["data_position"] < 0:
        return "step", "a negative step or data position"
    ranks = state["rng"] if isinstance(state["rng"], list) else [state["rng"]]
    problems = [rng_state_problem(r) for r in ranks] if ranks else ["it is empty"]
    if any(problems):
        return "rng", next(p for p in problems if p)
    ema = state.get("ema", {})
    if not isinstance(ema, dict) or not all(torch.is_tensor(v) for v in ema.values()):
        return "ema", "not a mapping of tensors"
    best = state.get("best", {})
    if not isinstance(best, dict) or best and not (
            isinstance(best.get("metric"), str) and isinstance(best.get("value"), (int, float))
            and isinstance(best.get("step"), int)):
        return "best", "not a record of metric, value and step"
    for key in ("optimizers", "schedulers", "scaler"):
        value = state.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()) \
                and key != "scaler":
            return key, "not a mapping of state dicts"
    return None


def check_training_fields(state: dict[str, Any], path: str | Path) -> None:
    """Refuse a checkpoint whose resume-only entries (step, RNG states, EMA, best score,
    optimizer/scheduler/scaler states) cannot be restored as saved, naming the entry: checked
    before anything is restored or written."""
    problem = _training_field_problem(state)
    if problem is not None:
        key, what = problem
        raise CheckpointError(f"{path}: damaged or not written by ganzoo: its '{key}' entry cannot "
                              f"be restored ({what}); use another checkpoint of the run")


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """The run's checkpoints, oldest first."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.search(p.name))]
    return [p for _, p in sorted(found)]


def latest_good_checkpoint(run_dir: str | Path, skipped: list[str] | None = None,
                           training: bool = False) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that loads (and, with ``training``, that a resume can restore),
    skipping corrupt ones with a warning (and their reasons appended to ``skipped``, for an
    error that says why none could be used)."""
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load_checkpoint(path, training=training)
        except CheckpointError as exc:
            warnings.warn(f"skipping {exc}", stacklevel=2)
            if skipped is not None:
                skipped.append(str(exc))
    return None


def prune_checkpoints(run_dir: str | Path, keep: int, protect: set[Path] | None = None) -> None:
    """Delete all but the newest ``keep`` checkpoints (never those in ``protect``)."""
    protect = protect or set()
    for path in list_checkpoints(run_dir)[:-keep]:
        if path not in protect:
            path.unlink(missing_ok=True)


def remove_partial_writes(run_dir: Path) -> None:
    """Delete temporary files left by a process killed while writing a checkpoint."""
    for tmp in checkpoint_dir(run_dir).glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def latest_checkpoint_or_none(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


# -- checkpoint contents --------------------------------------------------------------------------
def training_state(variant: Any, schedulers: dict, scaler: Any, cfg: Any, step: int,
                   data_position: int, rng: Any, ema: Any = None,
                   best: dict[str, Any] | None = None, stopped: str | None = None) -> dict[str, Any]:
    """Everything an exact resume needs, in types ``torch.load(weights_only=True)`` accepts;
    ``stopped`` records a planned early stop ("time_limit"), which makes the run complete."""
    state = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "ganzoo_version": __version__,
        "variant": cfg.variant.name, "data": cfg.data.name, "config": cfg.to_dict(),
        "step": step, "data_position": data_position,
        "model": variant.state_dict(),
        "optimizers": {k: o.state_dict() for k, o in variant.optimizers.items()},
        "schedulers": {k: s.state_dict() for k, s in schedulers.items()},
        "extra": variant.extra_state(),
        "rng": rng,
    }
    if ema is not None:
        state["ema"] = ema.state_dict()
    if best:
        state["best"] = dict(best)
    if scaler is not None:
        state["scaler"] = scaler.state_dict()
    if stopped is not None:
        state["stopped"] = stopped
    return state


def check_compatible(state: dict[str, Any], cfg: Any, path: Path) -> None:
    """Refuse a checkpoint from another variant, data set or network shape."""
    if state.get("variant") != cfg.variant.name:
        raise CheckpointError(f"{path}: checkpoint is from variant '{state.get('variant')}', but the "
                              f"config uses '{cfg.variant.name}'; use that run's own config")
    if state.get("data") != cfg.data.name:
        raise CheckpointError(f"{path}: checkpoint was trained on data '{state.get('data')}', but "
                              f"the config uses '{cfg.data.name}'; use that run's own data set")


def load_model_state(variant: Any, state: dict[str, Any], path: Path) -> None:
    """The networks' weights (and the variant's extra state), or one line saying why not."""
    try:
        variant.load_state_dict(state["model"])
    except (RuntimeError, KeyError) as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()] or [repr(exc)]
        first = lines[1] if len(lines) > 1 and lines[0].endswith(":") else lines[0]  # skip the heading
        raise CheckpointError(f"{path}: its networks do not fit this config's ({first[:200]}); "
                              f"it comes from a run with other variant options") from None
    extra = state.get("extra", {})
    if not isinstance(extra, dict):
        raise CheckpointError(f"{path}: damaged: its 'extra' entry is a {type(extra).__name__}, "
                              f"not a mapping; use another checkpoint of the run")
    try:
        variant.load_extra_state(extra)
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: the variant's extra state does not fit this run "
                              f"({type(exc).__name__}: {str(exc)[:160]}); use the run's own config") from None


def restore_training_state(variant: Any, schedulers: dict, state: dict[str, Any], path: Path,
                           cfg: Any) -> None:
    """Networks, optimizers and schedulers from ``state``, after checking it fits the run."""
    check_structure(state, path, training=True)
    check_compatible(state, cfg, path)
    load_model_state(variant, state, path)
    try:
        for k, opt in variant.optimizers.items():
            opt.load_state_dict(state["optimizers"][k])
        for k, sched in schedulers.items():
            sched.load_state_dict(state["schedulers"][k])
    except (KeyError, ValueError, RuntimeError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: optimizer/scheduler state does not fit this run "
                              f"({type(exc).__name__}: {str(exc)[:160]})") from None
