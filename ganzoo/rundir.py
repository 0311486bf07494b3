"""Run folders: claimed atomically, held by their run, and watched while it trains.

* A new run claims ``out_dir/name`` (or ``name-2``, ``name-3`` ...) with ``mkdir``, which exactly
  one process can win, so runs started at once never share a folder.
* The running process holds an exclusive lock on ``<run>/.lock`` (``fcntl.flock``, released by
  the kernel when the process dies, even by SIGKILL); a second ``resume`` of a run that is still
  training is refused.
* :func:`check_present` notices a run folder deleted (or replaced) under a running training.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import GanzooError

try:  # POSIX; elsewhere runs are not locked (documented in docs/training.md)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"


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

    def __enter__(self) -> "RunLock":
        if fcntl is None:
            return self
        try:
            self._fd = os.open(self.run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
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

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
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
