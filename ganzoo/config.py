"""Run configurations: one YAML file, validated against typed schemas, with line-numbered errors.

A config has fixed sections (``run``, ``seed``, ``device``, ``precision``, ``train``, ``log``,
``checkpoint``) and two open ones whose schema comes from a plugin: ``variant`` (validated by the
variant's ``Options``) and ``data`` (validated by the data source's ``Options``). Every error
names the file and line, and an unknown key gets a "did you mean" suggestion.

Command-line overrides (``train.steps=200 variant.lr_g=1e-4``) are parsed as YAML values and
validated the same way.
"""

from __future__ import annotations

import copy
import datetime
import math
import re
import stat
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .plugins import suggest


#: Largest integer any section accepts: every count ends up in C code (torch, numpy) as int64.
INT_MAX = 2**63 - 1
#: Most DataLoader worker processes: each is a process with its own copy of the data pipeline.
MAX_WORKERS = 64


class _Section(BaseModel):
    # strict: `steps: true` or `steps: 2.5` is an error, not 1 or a silent truncation
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class RunSection(_Section):
    name: str = Field("run", max_length=100, description="run name; the run folder is out_dir/name")
    out_dir: str = Field("runs", min_length=1, description="parent folder of run folders")

    @field_validator("name", mode="before")
    @classmethod
    def _name_as_written(cls, v: Any) -> Any:
        """YAML reads `2024-01-01` as a date and `42` as a number; as a run name they are text."""
        if isinstance(v, (datetime.date, int)) and not isinstance(v, bool):
            return str(v)
        return v

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._-]+", v):
            raise ValueError("use letters, digits, '.', '_' and '-' only")
        if set(v) == {"."}:
            raise ValueError("'.' and '..' are not run names; use letters or digits")
        return v


class TrainSection(_Section):
    steps: int = Field(1000, gt=0, le=INT_MAX, description="generator updates")
    batch_size: int = Field(64, gt=0, le=INT_MAX, description="items per batch and process (per micro-batch "
                                                   "when accumulating)")
    accumulate: int = Field(1, gt=0, le=INT_MAX, description="gradient accumulation: micro-batches of batch_size "
                                                 "per optimizer step (effective batch = batch_size x "
                                                 "accumulate x processes)")
    num_workers: int = Field(0, ge=0, le=MAX_WORKERS,
                             description=f"DataLoader worker processes (at most {MAX_WORKERS})")
    channels_last: bool = Field(False, description="channels-last memory format (image data)")
    compile: bool = Field(False, description="torch.compile the networks (CUDA only)")
    time_limit_s: float | None = Field(
        None, gt=0, le=1e9, description="stop (with a checkpoint and the final grid) after the step "
                                        "that passes this many seconds of training; resume continues")
    time_limit_clock: Literal["wall", "cpu"] = Field(
        "wall", description="what train.time_limit_s counts: wall-clock seconds, or the CPU seconds "
                            "of this process (equal compute for runs sharing a busy machine)")


class LogSection(_Section):
    every: int = Field(50, gt=0, le=INT_MAX, description="log scalars every N steps")
    image_every: int = Field(500, gt=0, le=INT_MAX, description="log a sample grid every N steps")
    num_images: int = Field(64, gt=0, le=1024, description="samples in the grid")
    tensorboard: bool = Field(True, description="false: no TensorBoard (removes it from loggers)")
    jsonl: bool = Field(True, description="false: no log.jsonl (removes it from loggers)")
    progress: bool = True
    loggers: list[str | dict[str, Any]] | None = Field(
        None, description="loggers: names or {name: NAME, ...options} (default: [tensorboard, jsonl]; "
                          "see 'ganzoo list loggers')")

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        """``tensorboard: false`` / ``jsonl: false`` remove that logger from ``loggers``; with a
        list, the two flags then say whether it holds them (so a saved config reads the same)."""
        from .runlog import SHORTHANDS, entry_name

        if not isinstance(data, dict) or not isinstance(data.get("loggers"), list):
            return data
        data = dict(data)
        for key in SHORTHANDS:
            if data.get(key) is False:
                data["loggers"] = [e for e in data["loggers"] if entry_name(e) != key]
            if data.get(key) is None or isinstance(data.get(key), bool):
                data[key] = any(entry_name(e) == key for e in data["loggers"])
        return data


class CheckpointSection(_Section):
    every: int = Field(1000, gt=0, le=INT_MAX, description="checkpoint every N steps (and at the end)")
    keep: int = Field(3, gt=0, le=INT_MAX, description="keep the last K checkpoints")


class EMASection(_Section):
    decay: float = Field(0.999, gt=0, lt=1, description="weight of the running average")
    start: int = Field(0, ge=0, le=INT_MAX, description="copy the weights (no averaging) until this step")


class DistributedSection(_Section):
    sync_batchnorm: bool = Field(False, description="SyncBatchNorm across ranks (CUDA only)")


class EvalSection(_Section):
    every: int = Field(1000, gt=0, le=INT_MAX, description="score every N steps (and at the end)")
    metrics: list[str] = Field(["fid"], min_length=1, description="see 'ganzoo list metrics'")
    n: int = Field(1000, gt=1, le=1_000_000, description="generated and real samples per evaluation "
                                                        "(50000 is the usual FID protocol)")
    best: str | None = Field(None, description="keep checkpoints/best.pt by this metric")
    extractor: str | None = Field(None, description="feature extractor (default: automatic)")
    split: str = Field("train", description="real data split")

    @field_validator("best")
    @classmethod
    def _best_in_metrics(cls, v, info):
        if v is not None and v not in info.data.get("metrics", []):
            raise ValueError(f"'{v}' is not one of eval.metrics")
        return v


class _TopLevel(_Section):
    run: RunSection = RunSection()
    seed: int = Field(0, ge=0, lt=2**32, description="seeds Python, NumPy and torch")
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N | mps")
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    variant: dict[str, Any]
    data: dict[str, Any]
    train: TrainSection = TrainSection()
    log: LogSection = LogSection()
    checkpoint: CheckpointSection = CheckpointSection()
    ema: EMASection | None = None
    distributed: DistributedSection = DistributedSection()
    eval: EvalSection | None = None
    init_from: str | None = Field(
        None, min_length=1, description="a 'ganzoo export' or 'ganzoo import' folder: a new run starts "
                                        "from its generator (and discriminator.safetensors when present) "
                                        "to fine-tune it; its variant and networks must match this run's")

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", v):
            raise ValueError("expected auto, cpu, mps, cuda or cuda:N")
        return v

    @field_validator("variant", "data")
    @classmethod
    def _named(cls, v: dict[str, Any]) -> dict[str, Any]:
        if "name" not in v:
            raise ValueError("needs a 'name' (see 'ganzoo list variants' / 'ganzoo list datasets')")
        if not isinstance(v["name"], str):
            raise ValueError("'name' must be a string")
        return v




@dataclass
class RunConfig:
    """A validated run configuration."""

    source: str
    run: RunSection
    seed: int
    device: str
    precision: str
    variant: BaseModel
    data: BaseModel
    train: TrainSection
    log: LogSection
    checkpoint: CheckpointSection
    ema: EMASection | None = None
    distributed: DistributedSection = field(default_factory=DistributedSection)
    eval: EvalSection | None = None
    overrides: list[str] = field(default_factory=list)
    init_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.model_dump(), "seed": self.seed, "device": self.device,
            "precision": self.precision, "variant": self.variant.model_dump(mode="json"),
            "data": self.data.model_dump(mode="json"), "train": self.train.model_dump(),
            "log": self.log.model_dump(), "checkpoint": self.checkpoint.model_dump(),
            "ema": self.ema.model_dump() if self.ema else None,
            "distributed": self.distributed.model_dump(),
            "eval": self.eval.model_dump() if self.eval else None,
            **({"init_from": self.init_from} if self.init_from is not None else {}),
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# -- YAML with line numbers -------------------------------------------------------------------
def _line_index(node: yaml.Node | None, path: tuple = (), out: dict | None = None) -> dict:
    """Map each key path to the 1-based line of its key (or list item)."""
    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _line_index(value_node, path + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = item.start_mark.line + 1
            _line_index(item, path + (i,), out)
    return out


#: Limits for YAML read from files and overrides: a config is a few hundred nodes, so these only
#: stop inputs made to exhaust memory, time or the stack (alias bombs, deep nesting, huge numbers).
MAX_CONFIG_BYTES = 1 << 20
MAX_YAML_DEPTH = 64
MAX_YAML_NODES = 100_000
MAX_INT_DIGITS = 100


class YAMLLimitError(yaml.MarkedYAMLError):
    """YAML that is well-formed but refused: too deep, too large once expanded, recursive, or with
    a key given twice."""


class LimitedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys, nesting deeper than :data:`MAX_YAML_DEPTH`
    and integers longer than :data:`MAX_INT_DIGITS` digits while composing; :func:`check_expansion`
    then refuses recursive aliases and alias bombs before anything is constructed."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise YAMLLimitError(problem=f"nested more than {MAX_YAML_DEPTH} levels deep",
                                     problem_mark=self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor):
        node = super().compose_mapping_node(anchor)
        first: dict[tuple, yaml.Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            seen = first.setdefault((key_node.tag, key_node.value), key_node)
            if seen is not key_node:
                raise YAMLLimitError(
                    problem=f"duplicate key '{key_node.value}' (also on line "
                            f"{seen.start_mark.line + 1}); keep one of them",
                    problem_mark=key_node.start_mark)
        return node

    def construct_yaml_int(self, node):
        digits = sum(c.isalnum() for c in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise YAMLLimitError(problem=f"a number with {digits} digits; use a smaller value",
                                 problem_mark=node.start_mark)
        return super().construct_yaml_int(node)


LimitedLoader.add_constructor("tag:yaml.org,2002:int", LimitedLoader.construct_yaml_int)


def check_expansion(root: yaml.Node | None) -> None:
    """Refuse a node graph that refers to itself or expands (aliases copied out) to more than
    :data:`MAX_YAML_NODES` nodes; counts each shared node once, so this is linear in the input."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise YAMLLimitError(problem="an alias refers to the node that contains it (recursive "
                                         "alias); copy the values instead", problem_mark=node.start_mark)
        active.add(key)
        children: list = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        total = 1 + sum(size(child) for child in children)
        active.discard(key)
        if total > MAX_YAML_NODES:
            raise YAMLLimitError(problem=f"expands to more than {MAX_YAML_NODES} values through its "
                                         f"aliases (&anchor / *alias); write the values out",
                                 problem_mark=node.start_mark)
        sizes[key] = total
        return total

    if root is not None:
        size(root)


def load_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """Compose ``text`` with :class:`LimitedLoader`, check it, then construct it (each step once)."""
    loader = LimitedLoader(text)
    try:
        node = loader.get_single_node()
        check_expansion(node)
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return data, node


def parse_yaml(text: str, file: str) -> tuple[Any, dict]:
    """Safely load the text (see :class:`LimitedLoader`), with a map of key paths to lines; syntax
    errors and refused input name the line."""
    try:
        data, node = load_yaml(text)
    except YAMLLimitError as exc:
        mark = exc.problem_mark
        raise ConfigError(f"refused YAML: {exc.problem}", file=file,
                          line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"malformed YAML: {problem}; fix the syntax",
                          file=file, line=mark.line + 1 if mark else None) from None
    return data, _line_index(node)


def parse_override(text: str) -> tuple[tuple[str, ...], Any]:
    """``a.b=value`` -> (("a", "b"), yaml-parsed value)."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' is not KEY=VALUE (e.g. train.steps=200)")
    key, value = text.split("=", 1)
    parts = tuple(key.strip().split("."))
    if not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p) for p in parts):
        raise ConfigError(f"override '{text}': '{key}' is not a dotted key (e.g. variant.lr_g)")
    try:
        parsed = load_yaml(value)[0] if value.strip() else ""
    except YAMLLimitError as exc:
        raise ConfigError(f"override '{text}': refused YAML value: {exc.problem}") from None
    except yaml.YAMLError:
        parsed = value
    return parts, parsed


def apply_overrides(data: dict, overrides: list[str]) -> tuple[dict, dict]:
    data = copy.deepcopy(data)
    origin: dict[tuple, str] = {}
    for text in overrides:
        parts, value = parse_override(text)
        node = data
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise ConfigError(f"override '{text}': '{'.'.join(parts[:i + 1])}' is not a section")
            node = child
        node[parts[-1]] = value
        origin[parts] = text
    return data, origin


# -- validation -------------------------------------------------------------------------------
def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that owns the last element of ``loc`` (for suggestions)."""
    current: Any = model
    for part in loc[:-1]:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return None
        current = fields[part].annotation
        if not (isinstance(current, type) and issubclass(current, BaseModel)):  # X | None
            current = next((a for a in typing.get_args(current)
                            if isinstance(a, type) and issubclass(a, BaseModel)), current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


class _Locator:
    def __init__(self, file: str, lines: dict, origin: dict):
        self.file, self.lines, self.origin = file, lines, origin

    def error(self, loc: tuple, message: str) -> ConfigError:
        dotted = ".".join(str(p) for p in loc)
        for n in range(len(loc), 0, -1):
            if loc[:n] in self.origin:
                return ConfigError(f"{dotted}: {message} (from override '{self.origin[loc[:n]]}')",
                                   file=self.file, key=dotted)
        line = None
        for n in range(len(loc), 0, -1):
            if loc[:n] in self.lines:
                line = self.lines[loc[:n]]
                break
        return ConfigError(f"{dotted}: {message}" if dotted else message,
                           file=self.file, line=line, key=dotted)

    def validate(self, model: type[BaseModel], data: Any, prefix: tuple = ()) -> BaseModel:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = tuple(err["loc"])
            if err["type"] == "extra_forbidden":
                owner = _model_at(model, loc)
                choices = list(owner.model_fields) if owner else []
                key = str(loc[-1])
                hint = suggest(key, choices) or (f"; valid keys: {', '.join(choices)}" if choices else "")
                raise self.error(prefix + loc, f"unknown key '{key}'{hint}") from None
            if err["type"] == "missing":
                raise self.error(prefix + loc, "required key is missing") from None
            got = err.get("input")
            shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
            msg = err["msg"].removeprefix("Value error, ")
            raise self.error(prefix + loc, f"{msg}{shown}") from None


def _file_kind(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    for test, kind in ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "named pipe (FIFO)"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISSOCK, "socket")):
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) else "special file"


def read_config_text(path: Path) -> str:
    """The UTF-8 text of a config file. Checks what the path is before opening it, since opening
    a FIFO or a device blocks or never ends, and reads at most :data:`MAX_CONFIG_BYTES`."""
    file = str(path)
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise ConfigError("config file not found; check the path", file=file) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror or exc}", file=file) from None
    kind = _file_kind(info.st_mode)
    if kind == "folder":
        raise ConfigError("is a folder; give the path of a YAML config file in it", file=file)
    if kind is not None:
        raise ConfigError(f"is a {kind}, not a file; give the path of a YAML config file", file=file)
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"is {info.st_size} bytes; a run config is at most {MAX_CONFIG_BYTES} bytes "
                          f"(check the path)", file=file)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror or exc}", file=file) from None
    if len(raw) > MAX_CONFIG_BYTES:  # grew since stat
        raise ConfigError(f"is over {MAX_CONFIG_BYTES} bytes; a run config is smaller (check the path)",
                          file=file)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the config as "
                          f"UTF-8", file=file) from None


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Read, override and validate a run config; raise :class:`ConfigError` naming file and line."""
    path = Path(path)
    file = str(path)
    text = read_config_text(path)
    data, lines = parse_yaml(text, file)
    return config_from_dict(data, file=file, lines=lines, overrides=overrides or [])


def _check_numbers(node: Any, path: tuple, loc: _Locator) -> None:
    """Refuse NaN, infinities and integers beyond int64 anywhere (plugin options included): most
    schemas let them through, and they fail much later inside torch or as a NaN loss."""
    if isinstance(node, dict):
        for key, value in node.items():
            _check_numbers(value, path + (key,), loc)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_numbers(value, path + (i,), loc)
    elif isinstance(node, float) and not math.isfinite(node):
        raise loc.error(path, f"{node} is not a finite number; give a real value")
    elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > INT_MAX:
        raise loc.error(path, f"{node} is too large (the limit is {INT_MAX})")


def config_from_dict(data: Any, *, file: str = "<config>", lines: dict | None = None,
                     overrides: list[str] | None = None) -> RunConfig:
    from .plugins import get_registry

    overrides = list(overrides or [])
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"the top level must be a mapping of sections, not {type(data).__name__}",
                          file=file, line=1)
    data, origin = apply_overrides(data, overrides)
    loc = _Locator(file, lines or {}, origin)
    for key in data:
        if not isinstance(key, str):
            raise loc.error((key,), f"keys must be strings, got {key!r}")
    _check_numbers(data, (), loc)
    top = loc.validate(_TopLevel, data)
    registry = get_registry()
    try:
        variant_cls = registry.get("variants", top.variant["name"])
    except Exception as exc:
        raise loc.error(("variant", "name"), str(exc)) from None
    try:
        data_cls = registry.get("datasets", top.data["name"])
    except Exception as exc:
        raise loc.error(("data", "name"), str(exc)) from None
    if top.eval is not None:
        known = registry.names("metrics")
        for i, metric in enumerate(top.eval.metrics):
            if metric not in known:
                raise loc.error(("eval", "metrics", i), f"unknown metric '{metric}'"
                                f"{suggest(metric, known)}; see 'ganzoo list metrics'")
    variant_opts = loc.validate(variant_cls.Options, top.variant, prefix=("variant",))
    data_opts = loc.validate(data_cls.Options, top.data, prefix=("data",))
    from .runlog import check_loggers

    check_loggers((data.get("log") or {}).get("loggers"), loc, registry)
    return RunConfig(source=file, run=top.run, seed=top.seed, device=top.device,
                     precision=top.precision, variant=variant_opts, data=data_opts, train=top.train,
                     log=top.log, checkpoint=top.checkpoint, ema=top.ema,
                     distributed=top.distributed, eval=top.eval, overrides=overrides,
                     init_from=top.init_from)
