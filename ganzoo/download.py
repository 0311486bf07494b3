"""Downloading and unpacking files safely: pooch fetches, ganzoo checks and explains.

:mod:`pooch` (requests underneath) streams a file into a temporary file next to its destination,
retries a failed transfer, checks the known checksum and only then moves the file into place, so
an interrupted or corrupt transfer never leaves a file that looks valid; a verified file already
there is reused (that is the cache). ganzoo adds what pooch does not do: the checks pooch cannot
express (a SHA-256 prefix, a second checksum), no retry of what cannot get better (HTTP 4xx, a
checksum mismatch), and one :class:`~ganzoo.errors.DownloadError` line for every failure, naming
the URL and where the file can be put by hand.

Archive extraction stays hand-written: pooch's Untar/Unzip processors extract members as the
archive names them, while :func:`extract` refuses any member or link that would land outside the
target folder before writing anything.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
import zipfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from .errors import DownloadError

_CHUNK = 1 << 16
#: Further attempts after a failed transfer (pooch waits 1 s, then 2 s, between them).
RETRIES = 2
#: HTTP statuses worth another try; any other 4xx is final.
_TRANSIENT_4XX = {408, 425, 429}
def usable_dir(path: Path, what: str, setting: str) -> Path:
    """``path`` created if missing and checked writable, or one line naming it, what it is for
    and the setting that moves it (a file in its place, no permission, a read-only or virtual
    file system such as /proc)."""
    from .errors import GanzooError

    try:
        path.mkdir(parents=True, exist_ok=True)
        ok = path.is_dir() and os.access(path, os.W_OK | os.X_OK)
        reason = "it is not writable"
    except OSError as exc:
        blocker = next((p for p in [path, *path.parents] if p.exists() and not p.is_dir()), None)
        ok, reason = False, (f"{blocker} is a file, not a folder" if blocker else exc.strerror or str(exc))
    if not ok:
        raise GanzooError(f"cannot use {path} as ganzoo's {what}: {reason}; set {setting} to a "
                          f"writable folder")
    return path


def cache_dir(sub: str = "") -> Path:
    """ganzoo's cache folder (``$GANZOO_CACHE`` or the platform's user cache), created: the one
    place that resolves and checks it."""
    env = os.environ.get("GANZOO_CACHE", "").strip()
    if env:
        base, setting = Path(env).expanduser(), f"GANZOO_CACHE (now {env})"
    else:
        import platformdirs

        base, setting = Path(platformdirs.user_cache_dir("ganzoo")), "GANZOO_CACHE"
    return usable_dir(base / sub if sub else base, "cache folder", setting)


def point_library_cache(env: str, sub: str) -> None:
    """Send a library's cache/config folder (``env``, e.g. ``MPLCONFIGDIR``) to ganzoo's cache
    folder ``sub`` instead of the home folder, unless the user set ``env``; a temporary folder,
    removed at exit, when the cache folder cannot be used. Call it before importing the library."""
    from .errors import GanzooError

    if os.environ.get(env):
        return
    try:
        os.environ[env] = str(cache_dir(sub))
    except GanzooError:
        import atexit
        import tempfile

        tmp = tempfile.mkdtemp(prefix=f"ganzoo-{sub}-")
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        os.environ[env] = tmp


def cache_dir_or_none(sub: str) -> Path | None:
    """``cache_dir(sub)`` for a cache that is only an optimisation: None, with one warning, when
    the cache folder cannot be used (the caller computes without it)."""
    import warnings

    from .errors import GanzooError

    try:
        return cache_dir(sub)
    except GanzooError as exc:
        warnings.warn(f"{exc} (working without the {sub} cache)", stacklevel=2)
        return None


def data_dir() -> Path:
    """Where data sets live by default (``$GANZOO_DATA`` or ``cache_dir("data")``), created."""
    env = os.environ.get("GANZOO_DATA", "").strip()
    if env:
        return usable_dir(Path(env).expanduser(), "data folder", f"GANZOO_DATA (now {env})")
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


def _reason(exc: BaseException) -> str:
    """The root cause in a few words (e.g. "Connection refused"), not requests' nested reprs."""
    todo, seen, text = [exc], set(), ""
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.strerror:
            return e.strerror
        text = text or next((a for a in e.args if isinstance(a, str)), "")
        todo += [x for x in (e.__cause__, e.__context__, getattr(e, "reason", None), *e.args)
                 if isinstance(x, BaseException)]
    return (text or str(exc) or type(exc).__name__)[:200]


class _Transfer:
    """pooch's downloader for one file: one HTTP attempt into pooch's temporary file, then every
    checksum given. Failures that another attempt cannot fix raise :class:`DownloadError`, which
    pooch does not retry; the others propagate for pooch to retry. Remembers how many bytes the
    last attempt wrote, which tells a cut transfer from an unreachable server."""

    def __init__(self, url: str, dest: Path, label: str, checks: list[tuple[str, str, bool]], *,
                 progress: bool, timeout: float):
        self.url, self.dest, self.label, self.checks = url, dest, label, checks
        self.progress, self.timeout = progress, timeout
        self.received = 0

    def __call__(self, url: str, output_file: str, pooch_obj: Any, check_only: bool = False) -> Any:
        import pooch
        import requests

        bar = _progress_bar(self.label) if self.progress else None
        http = pooch.HTTPDownloader(progressbar=False if bar is None else bar, chunk_size=_CHUNK,
                                    timeout=self.timeout, headers={"User-Agent": "ganzoo"})
        try:
            result = http(url, output_file, pooch_obj, check_only=check_only)
        except requests.RequestException as exc:
            if _is_final(exc):
                raise DownloadError(self.failure(exc)) from None
            raise
        finally:
            self.received = os.path.getsize(output_file) if os.path.exists(output_file) else 0
            if bar is not None:
                bar.close()
        if not check_only:
            self.verify(Path(output_file))
        return result

    def verify(self, path: Path) -> None:
        """Every checksum given, in one pass; a mismatch is final (the file changed upstream, or a
        mirror serves another file), so it raises at once with what was expected and what came."""
        if not self.checks:
            return
        bad = _mismatch(file_digests(path, {c[0] for c in self.checks}), self.checks)
        if bad is not None:
            algo, expected, got = bad
            raise DownloadError(f"checksum mismatch for {self.label} from {self.url}: expected {algo} "
                                f"{expected}, got {got}; the file is corrupt or has changed upstream; "
                                f"{_by_hand(self.url, self.dest)} after checking it")

    def failure(self, exc: BaseException) -> str:
        """One line saying why the transfer failed (HTTP status, cut off, offline) and what to do."""
        import requests

        url, label, by_hand = self.url, self.label, _by_hand(self.url, self.dest)
        if _bad_url(exc):
            return f"cannot download {label}: {url} is not an http(s) URL ({_reason(exc)}); {by_hand}"
        if isinstance(exc, requests.HTTPError) and _status(exc) is not None:
            return f"could not download {label} from {url}: HTTP {_status(exc)} {exc.response.reason}; {by_hand}"
        cut = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
        if isinstance(exc, cut) or (isinstance(exc, requests.RequestException) and self.received):
            return (f"download of {label} from {url} was interrupted ({type(exc).__name__}: "
                    f"{_reason(exc)}); try again or {by_hand}")
        return f"could not download {label} from {url} (offline or unreachable: {_reason(exc)}); {by_hand}"


def _progress_bar(label: str) -> Any:
    """A tqdm bar for pooch, which tests a bar's truth (tqdm's is its length, unknown at first)."""
    from tqdm import tqdm

    class Bar(tqdm):
        def __bool__(self) -> bool:
            return True

    return Bar(unit="B", unit_scale=True, unit_divisor=1024, desc=label, leave=False)


def _status(exc: Any) -> int | None:
    response = getattr(exc, "response", None)
    return None if response is None else response.status_code


def _bad_url(exc: BaseException) -> bool:
    import requests

    return isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                            requests.exceptions.InvalidSchema))


def _is_final(exc: BaseException) -> bool:
    """A failure that another attempt cannot fix: a URL requests cannot use, or a client error
    (HTTP 4xx, but for timeouts and rate limits)."""
    status = _status(exc)
    if status is not None:
        return 400 <= status < 500 and status not in _TRANSIENT_4XX
    return _bad_url(exc)


def _warnings_only(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING


@contextmanager
def _pooch_quiet(quiet: bool) -> Iterator[None]:
    """pooch logs each download and retry at INFO on stderr; keep it quiet when no progress is
    shown. A filter, not a level: pooch's logger is outside logging's tree, so a new level would
    not reset its cached decisions."""
    import pooch

    logger = pooch.get_logger()
    if quiet:
        logger.addFilter(_warnings_only)
    try:
        yield
    finally:
        logger.removeFilter(_warnings_only)


def download(url: str, dest: Path, *, sha256: str | None = None, md5: str | None = None,
             sha256_prefix: str | None = None, progress: bool = True, timeout: float = 60.0,
             what: str = "", retries: int = RETRIES) -> Path:
    """Fetch ``url`` to ``dest`` (verified) and return ``dest``; a verified ``dest`` is reused.

    ``what`` names the file in the progress bar and in error messages (e.g. "MNIST train images");
    a failed transfer is tried ``retries`` more times.
    """
    import pooch
    import requests

    from .fileio import write_error

    dest = Path(dest)
    if verify(dest, sha256=sha256, md5=md5, sha256_prefix=sha256_prefix):
        return dest
    transfer = _Transfer(url, dest, what or dest.name, _checks(sha256, md5, sha256_prefix),
                         progress=progress, timeout=timeout)
    known = f"sha256:{sha256.lower()}" if sha256 else f"md5:{md5.lower()}" if md5 else None
    try:
        if dest.is_file():  # failed a check above; pooch would keep it when only a prefix is known
            dest.unlink()
        registry = pooch.create(path=dest.parent, base_url="", registry={dest.name: known},
                                urls={dest.name: url}, retry_if_failed=retries)
        with _pooch_quiet(not progress):
            registry.fetch(dest.name, downloader=transfer)
    except requests.RequestException as exc:
        raise DownloadError(transfer.failure(exc)) from None
    except ValueError as exc:  # pooch's own check of the known hash (ours runs first)
        raise DownloadError(f"checksum mismatch for {transfer.label} from {url}: {exc}; "
                            f"{_by_hand(url, dest)} after checking it") from None
    except OSError as exc:  # the destination folder cannot be written
        raise write_error(dest, exc) from None
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
