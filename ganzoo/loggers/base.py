"""The logger interface: where a run's scalars, images, parameters, scores and status go.

A logger plugin registers a :class:`Logger` subclass with ``register_loggers``; ``log.loggers`` in
a run config selects loggers by name, each with its options (validated against the class's
``Options`` model like a variant's). The trainer talks to all of them through one fan-out object
(:func:`ganzoo.runlog.open_loggers`), which isolates a failing logger from the others.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ..errors import GanzooError

#: The final states a run can end in (``close(status)``); a logger treats any other word as a
#: run stopped early on purpose, like ``interrupted``.
STATUSES = ("finished", "interrupted", "terminated", "time_limit", "failed")


class LoggerError(GanzooError):
    """A logger that cannot start or cannot go on (a missing package, a tracking server down)."""


class LoggerWarning(UserWarning):
    """A logger failed and was dropped; the run goes on with the other loggers."""


class LoggerOptions(BaseModel):
    """Base of every logger's options: one item of ``log.loggers`` in a run config.

    Subclasses add fields with defaults; unknown keys are errors.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="registered logger name (see 'ganzoo list loggers')")
    required: bool = Field(False, description="if this logger fails, stop the run (exit 2) instead "
                                              "of going on with the other loggers")


@dataclass
class LoggerContext:
    """What a logger is told about the run, and its own small state in ``run_dir/trackers.json``
    (a tracker's run id), so that a resumed training run continues the same tracker run."""

    run_dir: Path
    run_name: str
    start_step: int = 0
    resuming: bool = False
    _states: dict[str, dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def continuing(self) -> bool:
        """True when this process continues a run from a checkpoint: trackers reuse their run."""
        return self.resuming and self.start_step > 0

    @property
    def trackers_path(self) -> Path:
        return Path(self.run_dir) / "trackers.json"

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._states is None:
            try:
                data = json.loads(self.trackers_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            self._states = data if isinstance(data, dict) else {}
        return self._states

    def state(self, name: str) -> dict[str, Any]:
        """The logger ``name``'s saved state when continuing a run; a new empty one otherwise.
        Change it in place and call :meth:`save`."""
        states = self._load()
        if not self.continuing or not isinstance(states.get(name), dict):
            states[name] = {}
        return states[name]

    def save(self, durable: bool = False) -> None:
        from ..fileio import atomic_write_text

        atomic_write_text(self.trackers_path, json.dumps(self._load(), indent=2, sort_keys=True) + "\n",
                          durable=durable)


class SentSteps:
    """The last step a tracker received, per kind of scalars, kept in the logger's state.

    Trackers keep history and cannot delete it, so after a crash the steps between the last
    checkpoint and the crash, which a resumed run logs again, are not sent twice: each step
    reaches the tracker at most once, and its curves stay continuous.
    """

    def __init__(self, context: LoggerContext, state: dict[str, Any]) -> None:
        self.context, self.last = context, state.setdefault("last_step", {})

    def is_new(self, kind: str, step: int) -> bool:
        return step > int(self.last.get(kind, -1))

    def mark(self, kind: str, step: int) -> None:
        self.last[kind] = int(step)
        self.context.save()


def import_optional(module: str, extra: str) -> Any:
    """Import a tracker's package, or a one-line error saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise LoggerError(f"the '{extra}' logger needs the {module} package ({exc}); install it with "
                          f"pip install 'ganzoo[{extra}]'") from None


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"steps": 5}}`` -> ``{"train.steps": 5}``: trackers show flat parameters."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


class Logger:
    """Base of a logger plugin. Every method has a do-nothing default: implement what your
    tracker can show. ``__init__`` opens the tracker (raise to say it cannot); ``close`` ends it.

    * ``params(config)``: the resolved run config (nested dict), once after opening;
    * ``scalars(step, values, kind)``: ``{"loss_d": 0.7, ...}``; kind is ``train``, ``val``
      (held-out scores), ``eval`` (metrics, keys ``eval/<metric>``) or another word;
    * ``image(step, tag, array)``: a sample grid, ``HxWx3`` uint8;
    * ``scores(step, records)``: evaluation records, each with ``metric``, ``value`` and the
      protocol they were computed with (the values also arrive as ``eval`` scalars);
    * ``summary(step, values)``: final numbers of a run (``ganzoo bench`` scores);
    * ``tags(tags)``: labels of the run (``ganzoo bench`` adds the benchmark name and seed);
    * ``event(step, fields)``: other records (only the JSONL log keeps them);
    * ``flush()``: called before each checkpoint is written;
    * ``close(status)``: ``finished``, ``failed``, or a run stopped early on purpose
      (``interrupted`` by Ctrl-C, ``time_limit``).
    """

    Options: ClassVar[type[LoggerOptions]] = LoggerOptions
    #: True for experiment trackers (MLflow, W&B) as opposed to files in the run folder:
    #: ``ganzoo bench`` records its results in trackers only.
    tracker: ClassVar[bool] = False

    def __init__(self, options: LoggerOptions, context: LoggerContext) -> None:
        self.options, self.context = options, context

    def params(self, config: dict[str, Any]) -> None: ...
    def scalars(self, step: int, values: dict[str, float], kind: str = "train") -> None: ...
    def image(self, step: int, tag: str, array: np.ndarray) -> None: ...
    def scores(self, step: int, records: list[dict[str, Any]]) -> None: ...
    def summary(self, step: int, values: dict[str, float]) -> None: ...
    def tags(self, tags: dict[str, str]) -> None: ...
    def event(self, step: int, fields: dict[str, Any]) -> None: ...
    def flush(self) -> None: ...
    def close(self, status: str = "finished") -> None: ...
