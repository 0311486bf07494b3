"""The one way ganzoo writes a file: atomically, so a reader never sees half of it.

The content goes to a temporary file in the target's folder, is flushed to disk and renamed over
the final name; a crash, a full disk or a killed process leaves the old file (or none) and no
truncated one. Errors become one :class:`~ganzoo.errors.GanzooError` line naming the path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Callable

from .errors import GanzooError


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable (not supported on every platform and file system)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_error(path: Path, exc: OSError) -> GanzooError:
    """One line naming ``path`` and why it cannot be written (a file where a folder should be,
    no permission, a full disk)."""
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        reason = f"{blocker} is a file, not a folder"
    else:
        reason = exc.strerror or str(exc)
    return GanzooError(f"cannot write {path}: {reason}; choose another path or free the disk")


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None], *,
                 durable: bool = True) -> Path:
    """Call ``write(f)`` on a temporary binary file, then rename it to ``path``.

    ``durable`` also fsyncs the file and its folder (checkpoints, configs); caches skip it.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    if durable:
        _fsync_folder(path.parent)
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, durable: bool = True) -> Path:
    return atomic_write(path, lambda f: f.write(data), durable=durable)


def atomic_write_text(path: str | os.PathLike, text: str, *, durable: bool = True) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), durable=durable)
