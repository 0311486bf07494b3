"""Where a run's scalars, images, parameters, scores and status go: the loggers of ``log.loggers``.

:func:`open_loggers` opens every configured logger (TensorBoard and JSONL by default; MLflow, W&B
or a plugin's) and returns one fan-out object for the trainer. A logger that fails, at start or
later, is named in a one-line warning and dropped, and the run goes on with the others; with
``required: true`` the failure is a one-line error instead (before training if it fails at start).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from .errors import ConfigError, GanzooError
from .loggers.base import Logger, LoggerContext, LoggerError, LoggerWarning

#: The loggers of a run that does not list ``log.loggers``.
DEFAULT_LOGGERS = ("tensorboard", "jsonl")
#: ``log.tensorboard`` / ``log.jsonl``: ``false`` removes that logger from the list.
SHORTHANDS = ("tensorboard", "jsonl")


def entry_name(entry: Any) -> str | None:
    """The logger name of one ``log.loggers`` item (a name, or a mapping with ``name``)."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and isinstance(entry.get("name"), str):
        return entry["name"]
    return None


def logger_specs(log: Any) -> list[dict[str, Any]]:
    """The run's loggers as option mappings: ``log.loggers`` (default: TensorBoard and JSONL),
    less those switched off by ``log.tensorboard: false`` or ``log.jsonl: false``."""
    entries = list(DEFAULT_LOGGERS) if getattr(log, "loggers", None) is None else log.loggers
    off = {k for k in SHORTHANDS if getattr(log, k, True) is False}
    specs = [{"name": e} if isinstance(e, str) else dict(e) for e in entries]
    return [s for s in specs if s["name"] not in off]


def check_loggers(entries: Any, loc: Any, registry: Any) -> None:
    """Validate the raw ``log.loggers`` items against each logger's ``Options``, so an error
    names the file, line and key (``loc`` is the config's locator)."""
    from .plugins import suggest

    seen: dict[str, int] = {}
    for i, entry in enumerate(entries or []):
        where = ("log", "loggers", i)
        name = entry_name(entry)
        if name is None:
            raise loc.error(where, "give a logger name or a mapping with a 'name' (e.g. {name: mlflow}); "
                                   "see 'ganzoo list loggers'")
        known = registry.names("loggers")
        if name not in known:
            raise loc.error(where + (("name",) if isinstance(entry, dict) else ()),
                            f"unknown logger '{name}'{suggest(name, known)}; see 'ganzoo list loggers'")
        if name in seen:
            raise loc.error(where, f"logger '{name}' is listed twice (items {seen[name]} and {i}); "
                                   f"list each logger once")
        seen[name] = i
        spec = {"name": entry} if isinstance(entry, str) else entry
        loc.validate(registry.get("loggers", name).Options, spec, prefix=where)


def _reason(exc: BaseException) -> str:
    """One line saying why a logger failed (trackers' messages can be long and multi-line)."""
    text = str(exc) if isinstance(exc, GanzooError) else f"{type(exc).__name__}: {exc}"
    line = next((part.strip() for part in text.splitlines() if part.strip()), type(exc).__name__)
    return line if len(line) <= 300 else line[:297] + "..."


class LoggerSet:
    """The run's loggers as one object: each call goes to every logger. A logger that raises is
    dropped with a one-line warning, so a tracker down never stops training, unless it is
    ``required``: then the failure is a :class:`LoggerError` that stops the run."""

    def __init__(self, loggers: list[tuple[str, Logger]]) -> None:
        self.loggers = list(loggers)
        self.tb_dir: Path | None = next((lg.tb_dir for _, lg in loggers if hasattr(lg, "tb_dir")), None)
        self.jsonl_path: Path | None = next((lg.jsonl_path for _, lg in loggers
                                             if hasattr(lg, "jsonl_path")), None)
        self._closed = False

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.loggers]

    def _call(self, method: str, *args: Any) -> None:
        for name, logger in list(self.loggers):
            try:
                getattr(logger, method)(*args)
            except Exception as exc:  # a tracker's failure must not take the run down
                self._drop(name, logger, exc)

    def _drop(self, name: str, logger: Logger, exc: Exception, closing: bool = False) -> None:
        self.loggers = [(n, lg) for n, lg in self.loggers if lg is not logger]
        if not closing:
            try:
                logger.close("failed")
            except Exception:
                pass
        if getattr(logger.options, "required", False):
            raise LoggerError(f"logger '{name}' failed: {_reason(exc)}; it is required (required: true "
                              f"in log.loggers), so the run stopped: fix it or set required: false")
        warnings.warn(LoggerWarning(f"logger '{name}' failed: {_reason(exc)}; the run goes on with "
                                    f"the other loggers"), stacklevel=4)

    def params(self, config: dict[str, Any]) -> None:
        self._call("params", config)

    def scalars(self, step: int, values: dict[str, float], kind: str = "train") -> None:
        self._call("scalars", step, values, kind)

    def image(self, step: int, tag: str, array: Any) -> None:
        self._call("image", step, tag, array)

    def scores(self, step: int, records: list[dict[str, Any]]) -> None:
        self._call("scores", step, records)

    def summary(self, step: int, values: dict[str, float]) -> None:
        self._call("summary", step, values)

    def tags(self, tags: dict[str, str]) -> None:
        self._call("tags", tags)

    def event(self, step: int, **fields: Any) -> None:
        self._call("event", step, fields)

    def flush(self) -> None:
        self._call("flush")

    def close(self, status: str = "finished") -> None:
        """End every logger with ``status`` (finished, failed, interrupted, time_limit); once."""
        if self._closed:
            return
        self._closed = True
        error: LoggerError | None = None
        for name, logger in list(self.loggers):
            try:
                logger.close(status)
            except Exception as exc:
                try:
                    self._drop(name, logger, exc, closing=True)
                except LoggerError as err:  # close the others first
                    error = error or err
        if error is not None:
            raise error


class NoLogger:
    """What ranks other than 0 log: nothing."""

    tb_dir = jsonl_path = None
    names: list[str] = []

    def params(self, *a: Any, **k: Any) -> None: ...
    def scalars(self, *a: Any, **k: Any) -> None: ...
    def image(self, *a: Any, **k: Any) -> None: ...
    def scores(self, *a: Any, **k: Any) -> None: ...
    def summary(self, *a: Any, **k: Any) -> None: ...
    def tags(self, *a: Any, **k: Any) -> None: ...
    def event(self, *a: Any, **k: Any) -> None: ...
    def flush(self) -> None: ...
    def close(self, *a: Any, **k: Any) -> None: ...


def open_specs(specs: list[dict[str, Any]], context: LoggerContext, *,
               trackers_only: bool = False) -> LoggerSet:
    """Open the loggers ``specs`` (option mappings); see :func:`open_loggers`."""
    from pydantic import ValidationError

    from .plugins import get_registry

    registry, opened = get_registry(), LoggerSet([])
    for spec in specs:
        name = spec["name"]
        cls = registry.get("loggers", name)
        if trackers_only and not getattr(cls, "tracker", False):
            continue
        try:
            options = cls.Options.model_validate(spec)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"log.loggers: {name}: {key}: {err['msg']}; fix the logger's options") from None
        try:
            opened.loggers.append((name, cls(options, context)))
        except Exception as exc:
            if options.required:
                opened.close("failed")
                raise LoggerError(f"logger '{name}' failed to start: {_reason(exc)}; it is required "
                                  f"(required: true in log.loggers): fix it or set required: false") from None
            warnings.warn(LoggerWarning(f"logger '{name}' failed: {_reason(exc)}; the run goes on with "
                                        f"the other loggers"), stacklevel=3)
    return LoggerSet(opened.loggers)


def open_loggers(cfg: Any, run_dir: Path | None, *, start_step: int, resuming: bool) -> LoggerSet | NoLogger:
    """The loggers of ``cfg.log`` for the run in ``run_dir``, as one :class:`LoggerSet`
    (a :class:`NoLogger` when ``cfg`` is None: ranks other than 0).

    ``resuming`` with ``start_step`` > 0 continues from a checkpoint: TensorBoard and JSONL drop
    what was logged after ``start_step``; trackers continue their run (``run_dir/trackers.json``).
    """
    if cfg is None:
        return NoLogger()
    context = LoggerContext(Path(run_dir), cfg.run.name, start_step=start_step, resuming=resuming)
    return open_specs(logger_specs(cfg.log), context)


def record_bench_run(cfg: Any, bench_name: str, seed: int, variant: str, records: list[dict[str, Any]],
                     run_dir: Path, *, step: int, config: str | None = None) -> list[str]:
    """Record one scored ``ganzoo bench`` run in the experiment trackers of ``cfg.log`` (MLflow,
    W&B; the run folder's TensorBoard and JSONL files are summarised by the bench itself).

    The tracker run is the one the training used (from ``run_dir/trackers.json``): it gets the
    tags ``ganzoo.bench``, ``ganzoo.seed``, ``ganzoo.variant`` (and ``ganzoo.bench.config``),
    each score as ``bench/<metric>`` at ``step`` and each score's protocol as the tag
    ``ganzoo.bench.<metric>``. Returns the names of the trackers that took it.
    """
    context = LoggerContext(Path(run_dir), cfg.run.name, start_step=step, resuming=True)
    loggers = open_specs(logger_specs(cfg.log), context, trackers_only=True)
    tags = {"ganzoo.bench": bench_name, "ganzoo.seed": str(seed), "ganzoo.variant": variant}
    if config is not None:
        tags["ganzoo.bench.config"] = config
    values: dict[str, float] = {}
    for r in records:
        if isinstance(r.get("value"), (int, float)) and not isinstance(r.get("value"), bool):
            values[f"bench/{r['metric']}"] = float(r["value"])
            protocol = {k: v for k, v in r.items() if k not in ("metric", "value")}
            tags[f"ganzoo.bench.{r['metric']}"] = json.dumps(protocol, sort_keys=True, default=str)
    try:
        loggers.tags(tags)
        loggers.summary(step, values)
    finally:
        loggers.close("finished")  # the training run finished; recording it changes nothing
    return loggers.names
