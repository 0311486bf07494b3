"""Checkpoints: written atomically, read safely, and checked against the run they belong to.

A checkpoint is a plain dict saved with ``torch.save`` to a temporary file in the same folder,
flushed to disk, then renamed over the final name, so a crash mid-write never leaves a truncated
``step_*.pt``. It is read with ``torch.load(weights_only=True)``: a pickle that would run code is
refused.
"""

from __future__ import annotations

import os
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from .errors import CheckpointError

FORMAT = "ganzoo-checkpoint"
FORMAT_VERSION = 1
_NAME = re.compile(r"step_(\d+)\.pt$")


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "checkpoints"


def checkpoint_path(run_dir: str | Path, step: int) -> Path:
    return checkpoint_dir(run_dir) / f"step_{step:08d}.pt"


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Save ``state`` atomically: temporary file, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
    return path


def is_refused_pickle(exc: BaseException) -> bool:
    """Whether ``torch.load(weights_only=True)`` failed because the pickle asks for code."""
    text = str(exc)
    return isinstance(exc, pickle.UnpicklingError) and (
        "weights_only" in text or "GLOBAL" in text or "Unsupported global" in text)


def load_error_reason(exc: BaseException) -> str:
    """One line saying why ``torch.load(weights_only=True)`` failed; torch's own text is many
    lines of advice about its API (and suggests ``weights_only=False``, which ganzoo never uses)."""
    text = str(exc).strip()
    if is_refused_pickle(exc):
        found = re.search(r"GLOBAL ([\w.]+)", text)
        what = f" that would call {found.group(1)}" if found else ""
        return f"refused to load: the file holds pickled code{what}, which ganzoo never runs"
    first = text.splitlines()[0] if text else type(exc).__name__
    return first.split(". ")[0][:160]


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a ganzoo checkpoint safely; errors name the file and what to do."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found; give a step_*.pt file from a run's "
                              f"checkpoints folder")
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
    return state


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """The run's checkpoints, oldest first."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.search(p.name))]
    return [p for _, p in sorted(found)]


def latest_good_checkpoint(run_dir: str | Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that loads, skipping corrupt ones with a warning."""
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load_checkpoint(path)
        except CheckpointError as exc:
            warnings.warn(f"skipping {exc}", stacklevel=2)
    return None


def prune_checkpoints(run_dir: str | Path, keep: int, protect: set[Path] | None = None) -> None:
    """Delete all but the newest ``keep`` checkpoints (never those in ``protect``)."""
    protect = protect or set()
    for path in list_checkpoints(run_dir)[:-keep]:
        if path not in protect:
            path.unlink(missing_ok=True)
