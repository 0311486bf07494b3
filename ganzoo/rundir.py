"""Run folders: claimed atomically, held by their run, and watched while it trains.

* A new run claims ``out_dir/name`` (or ``name-2``, ``name-3`` ...) with ``mkdir``, which exactly
  one process can win, so runs started at once never share a folder.
* The running process holds an exclusive lock on ``<run>/.lock`` (``fcntl.flock``, released by
  the kernel when the process dies, even by SIGKILL); a second ``resume`` of a run that is still
  training is refused.
* :func:`check_present` notices a run folder deleted (or replaced) under a running training.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .errors import GanzooError

try:  # POSIX; elsewhere runs are not locked (documented in docs/training.md)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"
#: previews the trainer itself writes into ``samples/`` (other files there are the user's outputs)
_TRAINER_PREVIEW = re.compile(r"step_\d+\.png|final\.png")


# -- what a run folder (and an export folder) is --------------------------------------------------
def is_run_folder(folder: str | Path) -> bool:
    """Whether ``folder`` is a training run's folder: its config.yaml beside checkpoints/ (or the
    lock and log a run in progress already holds)."""
    folder = Path(folder)
    return (folder / "config.yaml").is_file() and any(
        (folder / name).exists() for name in ("checkpoints", LOCK_NAME, "log.jsonl"))


def is_export_folder(folder: str | Path) -> bool:
    """Whether ``folder`` was written by ``ganzoo export`` (or ``ganzoo import``): its export.json
    says so."""
    try:
        manifest = json.loads((Path(folder) / "export.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == "ganzoo-export"


def _ancestors(path: str | Path) -> list[Path]:
    """The folders holding ``path``, nearest first (links in them resolved)."""
    parent = Path(path).parent
    try:
        parent = parent.resolve()
    except (OSError, RuntimeError):  # a link loop: take the path as written
        parent = Path(os.path.abspath(parent))
    return [parent, *parent.parents]


def run_folder_of(path: str | Path) -> Path | None:
    """The run folder ``path`` lies in, if any."""
    return next((f for f in _ancestors(path) if is_run_folder(f)), None)


def export_folder_of(path: str | Path) -> Path | None:
    """The export folder ``path`` lies directly in, if any."""
    parent = _ancestors(path)[0]
    return parent if is_export_folder(parent) else None


def run_owns(run: Path, path: str | Path) -> bool:
    """Whether ``path`` (inside ``run``) is one of the run's own files: everything the training
    and its commands write there (config, lock, logs, checkpoints, trackers, the trainer's
    previews); only other files under ``samples/`` (a ``ganzoo sample`` grid) are not."""
    inside = (_ancestors(path)[0] / Path(path).name).relative_to(run)
    return not (len(inside.parts) == 2 and inside.parts[0] == "samples"
                and not _TRAINER_PREVIEW.fullmatch(inside.parts[1]))


def holds_a_run(folder: str | Path, limit: int = 10_000) -> Path | None:
    """A run folder that ``folder`` is or contains (looked for up to ``limit`` folders deep and
    wide), else None: a folder holding runs is never deleted or replaced."""
    folder = Path(folder)
    seen = 0
    for here, dirs, _ in os.walk(folder, followlinks=False):
        if is_run_folder(here):
            return Path(here)
        seen += 1
        if seen >= limit:
            return folder  # too large to check: assume it holds one
        dirs[:] = [d for d in dirs if not d.startswith(".git")]
    return None


def claim_run_dir(out_dir: str | Path, name: str) -> Path:
    """Create and return the first free folder of ``name``, ``name-2``, ``name-3`` ... in
    ``out_dir``. An existing empty folder counts as taken: another run may have just made it."""
    base = Path(out_dir)
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(base, exc) from None
    for n in range(1, 100_000):
        candidate = base / (name if n == 1 else f"{name}-{n}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise _unwritable(candidate, exc) from None
        return candidate
    raise GanzooError(f"{base}: no free run folder name for '{name}'; choose another run.name")


def _unwritable(path: Path, exc: OSError) -> GanzooError:
    blocker = next((p for p in [path, *path.parents] if p.exists() and not p.is_dir()), None)
    reason = f"{blocker} is a file, not a folder" if blocker else (exc.strerror or str(exc))
    return GanzooError(f"cannot create the run folder {path}: {reason}; set run.out_dir to a "
                       f"writable folder")


class RunLock:
    """The running process's hold on its run folder (``with RunLock(run_dir): ...``)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self._fd: int | None = None
        self._created = False

    def __enter__(self) -> "RunLock":
        if fcntl is None:
            return self
        path = self.run_dir / LOCK_NAME
        self._created = not os.path.lexists(path)
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise GanzooError(f"cannot write the run folder {self.run_dir}: "
                              f"{exc.strerror or exc}; check its permissions") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            self._fd = None
            raise GanzooError(f"{self.run_dir} is in use by another ganzoo process (it is still "
                              f"training); wait for it to finish or stop it first") from None
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self._fd is None:
            return
        if exc_type is not None and self._created:  # refused before it trained: leave no trace
            try:
                os.unlink(self.run_dir / LOCK_NAME)
            except OSError:
                pass
        os.close(self._fd)  # closing releases the lock
        self._fd = None


def folder_identity(run_dir: Path) -> tuple[int, int]:
    """(device, inode) of the run folder: a folder deleted and made again has another."""
    st = os.stat(run_dir)
    return st.st_dev, st.st_ino


def check_present(run_dir: Path, identity: tuple[int, int], step: int) -> None:
    """Stop the run when its folder was deleted or replaced while it trained."""
    try:
        same = folder_identity(run_dir) == identity
    except OSError:
        same = False
    if not same:
        raise GanzooError(f"the run folder {run_dir} was deleted or replaced while training (at "
                          f"step {step}); the run stopped and its results are lost: start it again")
