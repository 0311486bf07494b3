"""Downloading and unpacking files safely: checksums, atomic writes, archive-escape refusal.

A download streams into a temporary file next to its destination and is moved into place only
once complete and verified, so an interrupted or corrupted transfer never leaves a file that
looks valid. Every failure is a :class:`~ganzoo.errors.DownloadError` whose message names the URL
and says where the file can be put by hand.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from .errors import DownloadError

_CHUNK = 1 << 16


def cache_dir(sub: str = "") -> Path:
    """ganzoo's cache folder (``$GANZOO_CACHE`` or the platform's user cache), created."""
    env = os.environ.get("GANZOO_CACHE", "").strip()
    if env:
        base = Path(env).expanduser()
    else:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("ganzoo"))
    path = base / sub if sub else base
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """Where data sets live by default (``$GANZOO_DATA`` or ``cache_dir("data")``), created."""
    env = os.environ.get("GANZOO_DATA", "").strip()
    if env:
        path = Path(env).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        return path
    return cache_dir("data")


def _checks(sha256: str | None, md5: str | None, sha256_prefix: str | None) -> list[tuple[str, str, bool]]:
    """``(algorithm, expected hex, is_prefix)`` for every checksum given."""
    out = []
    if sha256:
        out.append(("sha256", sha256.lower(), False))
    if sha256_prefix:
        out.append(("sha256", sha256_prefix.lower(), True))
    if md5:
        out.append(("md5", md5.lower(), False))
    return out


def file_digests(path: Path, algorithms: set[str]) -> dict[str, str]:
    """Hex digests of ``path`` for each algorithm, in one pass over the file."""
    hashers = {a: hashlib.new(a) for a in algorithms}
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            for h in hashers.values():
                h.update(chunk)
    return {a: h.hexdigest() for a, h in hashers.items()}


def _mismatch(digests: dict[str, str], checks: list[tuple[str, str, bool]]) -> tuple[str, str, str] | None:
    """The first failing check as ``(algorithm, expected, got)``, or None when all pass."""
    for algo, expected, prefix in checks:
        got = digests[algo]
        ok = got.startswith(expected) if prefix else got == expected
        if not ok:
            return algo, expected, got
    return None


def verify(path: Path, *, sha256: str | None = None, md5: str | None = None,
           sha256_prefix: str | None = None) -> bool:
    """True when ``path`` exists and matches every checksum given (no checksum: exists)."""
    path = Path(path)
    if not path.is_file():
        return False
    checks = _checks(sha256, md5, sha256_prefix)
    if not checks:
        return True
    return _mismatch(file_digests(path, {c[0] for c in checks}), checks) is None


def _by_hand(url: str, dest: Path) -> str:
    return f"download {url} by hand and put it at {dest}"


def download(url: str, dest: Path, *, sha256: str | None = None, md5: str | None = None,
             sha256_prefix: str | None = None, progress: bool = True, timeout: float = 60.0,
             what: str = "") -> Path:
    """Fetch ``url`` to ``dest`` (verified) and return ``dest``; a verified ``dest`` is reused.

    ``what`` names the file in the progress bar and in error messages (e.g. "MNIST train images").
    """
    dest = Path(dest)
    label = what or dest.name
    checks = _checks(sha256, md5, sha256_prefix)
    if dest.is_file() and (not checks or verify(dest, sha256=sha256, md5=md5, sha256_prefix=sha256_prefix)):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    hashers = {a: hashlib.new(a) for a in {c[0] for c in checks}}
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                request = urllib.request.Request(url, headers={"User-Agent": "ganzoo"})
                response = urllib.request.urlopen(request, timeout=timeout)
            except urllib.error.HTTPError as exc:
                raise DownloadError(f"could not download {label} from {url}: HTTP {exc.code} {exc.reason}; "
                                    f"{_by_hand(url, dest)}") from None
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                raise DownloadError(f"could not download {label} from {url} (offline or unreachable: "
                                    f"{reason}); {_by_hand(url, dest)}") from None
            with response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                received = 0
                bar = None
                if progress:
                    from tqdm import tqdm

                    bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                               desc=label, leave=False)
                try:
                    while True:
                        try:
                            chunk = response.read(_CHUNK)
                        except (OSError, http.client.HTTPException, ValueError) as exc:
                            raise DownloadError(f"download of {label} from {url} was interrupted after "
                                                f"{received} bytes ({type(exc).__name__}: {exc}); try again "
                                                f"or {_by_hand(url, dest)}") from None
                        if not chunk:
                            break
                        out.write(chunk)
                        for h in hashers.values():
                            h.update(chunk)
                        received += len(chunk)
                        if bar is not None:
                            bar.update(len(chunk))
                finally:
                    if bar is not None:
                        bar.close()
                if total is not None and received != total:
                    raise DownloadError(f"download of {label} from {url} was interrupted: got {received} of "
                                        f"{total} bytes; try again or {_by_hand(url, dest)}")
        bad = _mismatch({a: h.hexdigest() for a, h in hashers.items()}, checks)
        if bad is not None:
            algo, expected, got = bad
            raise DownloadError(f"checksum mismatch for {label} from {url}: expected {algo} {expected}, "
                                f"got {got}; the file is corrupt or has changed upstream; "
                                f"{_by_hand(url, dest)} after checking it")
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def _inside(target: Path, name: str) -> bool:
    """True when archive member ``name`` resolves to a path inside ``target``."""
    if not name or name.startswith(("/", "\\")) or PurePosixPath(name).is_absolute():
        return False
    if len(name) > 1 and name[1] == ":":  # a Windows drive letter
        return False
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        return False
    root = target.resolve()
    resolved = (root / name).resolve()
    return resolved == root or root in resolved.parents


def _check_tar(tar: tarfile.TarFile, target: Path, archive: Path) -> list[tarfile.TarInfo]:
    members = tar.getmembers()
    for m in members:
        if not _inside(target, m.name):
            raise DownloadError(f"refusing to extract {archive}: member '{m.name}' would be written "
                                f"outside {target}; the archive is unsafe, delete it")
        if m.issym():
            link = (PurePosixPath(m.name).parent / m.linkname).as_posix()
            if m.linkname.startswith("/") or not _inside(target, link):
                raise DownloadError(f"refusing to extract {archive}: symlink '{m.name}' -> '{m.linkname}' "
                                    f"points outside {target}; the archive is unsafe, delete it")
        elif m.islnk():
            if not _inside(target, m.linkname):
                raise DownloadError(f"refusing to extract {archive}: hard link '{m.name}' -> '{m.linkname}' "
                                    f"points outside {target}; the archive is unsafe, delete it")
        elif not (m.isfile() or m.isdir()):
            raise DownloadError(f"refusing to extract {archive}: member '{m.name}' is a device or fifo; "
                                f"the archive is unsafe, delete it")
    return members


def _check_zip(zf: zipfile.ZipFile, target: Path, archive: Path) -> None:
    for info in zf.infolist():
        if not _inside(target, info.filename):
            raise DownloadError(f"refusing to extract {archive}: member '{info.filename}' would be written "
                                f"outside {target}; the archive is unsafe, delete it")
        mode = (info.external_attr >> 16) & 0o170000
        if mode == 0o120000:  # a symlink stored in the zip; zipfile would write it as a plain file
            raise DownloadError(f"refusing to extract {archive}: member '{info.filename}' is a symlink; "
                                f"the archive is unsafe, delete it")


def extract(archive: Path, target: Path) -> None:
    """Unpack a .tar(.gz/.bz2/.xz) or .zip ``archive`` into ``target``, checking every member first.

    Nothing is written when any member would land outside ``target`` (absolute path, '..', or a
    link pointing out).
    """
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                _check_zip(zf, target, archive)
                zf.extractall(target)
            return
        if tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tar:
                members = _check_tar(tar, target, archive)
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(target, members=members, filter="data")
                else:  # pragma: no cover - Python without extraction filters
                    tar.extractall(target, members=members)
            return
    except DownloadError:
        raise
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DownloadError(f"could not extract {archive}: {exc}; the archive is corrupt, delete it "
                            f"and download again") from None
    if not archive.exists():
        raise DownloadError(f"cannot extract {archive}: no such file")
    raise DownloadError(f"cannot extract {archive}: not a tar or zip archive; delete it and download again")


def remove_tree(path: Path) -> None:
    """Delete a folder if it exists (used to clear a half-extracted set)."""
    if Path(path).exists():
        shutil.rmtree(path)
