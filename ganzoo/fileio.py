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


def _publish(tmp: Path, path: Path, replace: bool) -> None:
    """Give the finished temporary file its name: ``os.replace``, or (``replace=False``) a hard
    link that fails if the name exists, so two writers racing for one name never clobber each
    other (file systems without hard links fall back to a check and a rename)."""
    if replace:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network and FAT file systems)
        if os.path.lexists(path):
            raise FileExistsError(17, "File exists", str(path)) from None
        os.replace(tmp, path)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None], *,
                 durable: bool = True, replace: bool = True) -> Path:
    """Call ``write(f)`` on a temporary binary file, then rename it to ``path``.

    ``durable`` also fsyncs the file and its folder (checkpoints, configs); caches skip it.
    ``replace=False`` refuses (one line) when ``path`` exists by the time the file is complete.
    Besides ``OSError``, a writer's own "cannot write" failure (torch's zip writer raises
    ``RuntimeError`` on a full disk) becomes the same one line; the old file is kept.
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
        _publish(tmp, path, replace)
    except FileExistsError:
        if not replace and os.path.lexists(path):
            raise GanzooError(f"{path} appeared while it was being written (another process?); it "
                              f"is kept: choose another path") from None
        raise write_error(path, FileExistsError(17, "File exists")) from None
    except OSError as exc:
        raise write_error(path, exc) from None
    except RuntimeError as exc:
        if not is_write_failure(exc):
            raise
        raise write_error(path, OSError(27, _writer_reason(exc))) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    if durable:
        _fsync_folder(path.parent)
    return path


def is_write_failure(exc: BaseException) -> bool:
    """Whether a writer library's RuntimeError means the bytes could not be written (torch's
    "PytorchStreamWriter failed writing file ...", "file write failed", "unexpected pos")."""
    text = str(exc).lower()
    return any(m in text for m in ("failed writing", "file write failed", "unexpected pos",
                                   "no space left", "file too large"))


def _writer_reason(exc: BaseException) -> str:
    text = str(exc).lower()
    if "no space" in text:
        return "No space left on device"
    return "File too large or disk full (the writer could not write all of it)"


def write_cache(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> bool:
    """A cache file (statistics, a trained classifier): written atomically without fsync, or,
    when it cannot be written (full disk, read-only cache folder), skipped with one warning, the
    result still used; returns whether it was written."""
    import warnings

    try:
        atomic_write(path, write, durable=False)
        return True
    except GanzooError as exc:
        warnings.warn(f"{exc} (a cache: computed and used without it)", stacklevel=2)
        return False


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, durable: bool = True,
                       replace: bool = True) -> Path:
    return atomic_write(path, lambda f: f.write(data), durable=durable, replace=replace)


def atomic_write_text(path: str | os.PathLike, text: str, *, durable: bool = True,
                      replace: bool = True) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), durable=durable, replace=replace)
