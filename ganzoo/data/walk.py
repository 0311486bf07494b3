"""The one way ganzoo lists input files: regular files only, every other entry counted.

A folder of images may hold things that are not files: a named pipe (opening it blocks until a
writer comes), a device, a socket, a link that points nowhere or at itself. Reading any of them
either hangs, fails deep inside a decoder or "reads" nothing. Every input walker (training data,
``translate``, ``fid``, and the commands that take image folders) goes through
:func:`list_files`, which keeps regular files (links to them included), skips everything else
with ONE warning that says how many and names the first, and never follows links to folders
(so a link loop cannot make it walk forever).
"""

from __future__ import annotations

import errno
import os
import stat
import warnings
from pathlib import Path
from typing import Callable


class SkippedEntriesWarning(UserWarning):
    """Entries of an input folder that are not regular files were left out."""


def entry_kind(path: str | os.PathLike) -> str:
    """"file", "folder", "named pipe", "device", "socket", "looping link", "broken link" or
    "unreadable entry" (what ``path`` is, following links)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "looping link"
        if exc.errno == errno.ENOENT and os.path.islink(path):
            return "broken link"
        return "unreadable entry"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def _entries(folder: Path, recursive: bool) -> list[Path]:
    """Non-hidden entries of ``folder`` that are not folders (sub-folders walked if
    ``recursive``; links to folders are never followed)."""
    if not recursive:
        with os.scandir(folder) as it:
            return [Path(e.path) for e in it if not e.name.startswith(".") and not _is_dir(e)]
    out: list[Path] = []
    for here, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out += [Path(here) / n for n in names if not n.startswith(".")]
    return out


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def list_files(folder: str | os.PathLike, accept: Callable[[str], bool], *,
               recursive: bool = False, what: str = "images") -> list[Path]:
    """Regular files in ``folder`` whose names ``accept`` takes, sorted by relative path;
    entries with such names that are not regular files are skipped with one warning."""
    folder = Path(folder)
    files, skipped = [], []
    for path in _entries(folder, recursive):
        if not accept(path.name):
            continue
        kind = entry_kind(path)
        if kind == "file":
            files.append(path)
        elif kind != "folder":
            skipped.append((path, kind))
    if skipped:
        first, kind = skipped[0]
        warnings.warn(f"{folder}: skipped {len(skipped)} of the {what} that are not regular files "
                      f"(named pipes, devices, broken or looping links), e.g. {first} ({kind})",
                      SkippedEntriesWarning, stacklevel=2)
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def check_regular(path: str | os.PathLike, what: str = "file") -> None:
    """Refuse to open anything but a regular file (a named pipe would block the reader)."""
    from ..errors import DataError

    kind = entry_kind(path)
    if kind != "file":
        raise DataError(f"{path}: the {what} is a {kind}, not a regular file; replace it with a "
                        f"file or leave it out")
