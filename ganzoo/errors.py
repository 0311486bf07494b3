"""User-facing errors.

Every failure a user can cause (bad config, missing data, corrupt checkpoint, offline download)
raises a :class:`GanzooError`. The CLI prints its message on one line, exits with status 2 and
shows no traceback unless ``--debug`` is given. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


#: Characters that ``str.splitlines`` breaks at, shown escaped so a message stays on one line.
_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


class GanzooError(Exception):
    """An error caused by input the user can fix; the message says what and how."""

    exit_code = 2

    def __str__(self) -> str:
        # Messages echo user input (keys, values, overrides, paths), which may hold line breaks.
        return super().__str__().translate(_LINE_BREAKS)


class ConfigError(GanzooError):
    """A run configuration that cannot be used (syntax, unknown key, wrong type or value)."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 key: str | None = None):
        self.file, self.line, self.key = file, line, key
        where = ""
        if file:
            where = f"{file}:{line}: " if line else f"{file}: "
        super().__init__(where + message)


class PluginError(GanzooError):
    """A plugin that cannot be loaded or that conflicts with another one."""


class CheckpointError(GanzooError):
    """A checkpoint that is missing, truncated, unsafe or from another run."""


class DataError(GanzooError):
    """A data set that is missing, empty, corrupt or not in the expected format."""


class DownloadError(GanzooError):
    """A download that failed (offline, bad checksum, unsafe archive)."""


class TrainingError(GanzooError):
    """Training cannot go on (for example a NaN or infinite loss)."""
