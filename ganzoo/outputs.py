"""Where commands put what they make: the one way a command writes an output file.

Every ``-o``/``--npz``/``--save-stats`` style path goes through :func:`check_output` before any
work and :func:`write_output` at the end, so every command keeps the same promises:

* an existing file is never replaced unless the command was given ``--force``;
* a run's or an export's own files (checkpoints, config.yaml, logs, weights, manifest) are never
  replaced, not even with ``--force``, and nothing new is put in a run's checkpoints folder;
* a folder, a named pipe or a device at the path is refused (writing would block or vanish);
* the file appears whole or not at all (:func:`ganzoo.fileio.atomic_write`); without ``--force``
  it is published with a hard link, so a file that appears meanwhile is not clobbered either.

Only the standard library is imported here: commands call it before torch is loaded.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO, Callable

from .errors import GanzooError
from .rundir import export_folder_of, run_folder_of, run_owns


def _kind(path: Path) -> str | None:
    """What is at ``path`` ("file", "folder", "link", "named pipe" ...), None if nothing."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # a file where a folder should be: see
        return None                                  # _check_parent, which names it
    except OSError:
        return "unreadable entry"
    if stat.S_ISLNK(st.st_mode):
        target = path.exists() and os.stat(path)
        if not target:
            return "dangling link"
        st = target
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISDIR(st.st_mode):
        return "folder"
    if stat.S_ISFIFO(st.st_mode):
        return "named pipe"
    return "special file"


def _check_parent(path: Path, option: str) -> None:
    """A file where one of the folders should be, or a folder that is not writable."""
    parent = path.parent
    while not parent.exists():
        if parent.is_symlink():  # dangling link: mkdir will say why
            return
        parent = parent.parent
    blocker = next((p for p in [parent, *parent.parents] if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise GanzooError(f"cannot write {option} {path}: {blocker} is a file, not a folder; choose "
                          f"another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise GanzooError(f"cannot write {option} {path}: the folder {parent} is not writable; choose "
                          f"another path")


def _check_owner(path: Path, option: str, exists: bool) -> None:
    """Refuse to replace a run's or an export's own files, or to add files to checkpoints/."""
    run = run_folder_of(path)
    if run is not None and (run_owns(run, path) if exists else path.parent.name == "checkpoints"):
        raise GanzooError(f"{option} {path} belongs to the run in {run}: its config, checkpoints, "
                          f"logs and previews are never replaced or added to (not even with "
                          f"--force); give a path outside them")
    export = export_folder_of(path)
    if export is not None and exists:
        raise GanzooError(f"{option} {path} is a file of the exported folder {export}; ganzoo never "
                          f"replaces it (not even with --force): give another path")


def check_writable(path: str | os.PathLike, option: str = "-o") -> tuple[Path, str | None]:
    """The checks every written path needs (no folder, pipe or device at it, its folders
    creatable and writable), whoever owns it; returns the path and what is there now."""
    path = Path(path)
    kind = _kind(path)
    if kind == "folder":
        raise GanzooError(f"{option} {path} is a folder; give a file name")
    if kind not in (None, "file", "dangling link"):
        raise GanzooError(f"{option} {path} is a {kind}, not a regular file; give another file name")
    _check_parent(path, option)
    return path, kind


def check_output(path: str | os.PathLike, option: str = "-o", *, force: bool = False) -> Path:
    """Refuse, before any work, an output path that must not or cannot be written (see the
    module docstring); returns it as a Path. Missing folders are fine (made when writing)."""
    path, kind = check_writable(path, option)
    _check_owner(path, option, exists=kind is not None)
    if kind is not None and not force:
        raise GanzooError(f"{option} {path} already exists; give a new name, or add --force to "
                          f"replace it")
    return path


def write_output(path: str | os.PathLike, write: Callable[[IO[bytes]], None], option: str = "-o", *,
                 force: bool = False, durable: bool = True) -> Path:
    """Check ``path`` again (it may have appeared since :func:`check_output`) and write it
    atomically with ``write(f)``; without ``force`` an existing file is never replaced."""
    from .fileio import atomic_write

    path = check_output(path, option, force=force)
    return atomic_write(path, write, durable=durable, replace=force)


def write_output_bytes(path: str | os.PathLike, data: bytes, option: str = "-o", *,
                       force: bool = False, durable: bool = True) -> Path:
    return write_output(path, lambda f: f.write(data), option, force=force, durable=durable)
