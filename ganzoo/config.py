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
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError
from .plugins import suggest


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunSection(_Section):
    name: str = Field("run", description="run name; the run folder is out_dir/name")
    out_dir: str = Field("runs", description="parent folder of run folders")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._-]+", v):
            raise ValueError("use letters, digits, '.', '_' and '-' only")
        return v


class TrainSection(_Section):
    steps: int = Field(1000, gt=0, description="generator updates")
    batch_size: int = Field(64, gt=0, description="items per batch and process (per micro-batch "
                                                   "when accumulating)")
    accumulate: int = Field(1, gt=0, description="gradient accumulation: micro-batches of batch_size "
                                                 "per optimizer step (effective batch = batch_size x "
                                                 "accumulate x processes)")
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes")
    channels_last: bool = Field(False, description="channels-last memory format (image data)")
    compile: bool = Field(False, description="torch.compile the networks (CUDA only)")


class LogSection(_Section):
    every: int = Field(50, gt=0, description="log scalars every N steps")
    image_every: int = Field(500, gt=0, description="log a sample grid every N steps")
    num_images: int = Field(64, gt=0, le=1024, description="samples in the grid")
    tensorboard: bool = True
    jsonl: bool = True
    progress: bool = True


class CheckpointSection(_Section):
    every: int = Field(1000, gt=0, description="checkpoint every N steps (and at the end)")
    keep: int = Field(3, gt=0, description="keep the last K checkpoints")


class EMASection(_Section):
    decay: float = Field(0.999, gt=0, lt=1, description="weight of the running average")
    start: int = Field(0, ge=0, description="copy the weights (no averaging) until this step")


class DistributedSection(_Section):
    sync_batchnorm: bool = Field(False, description="SyncBatchNorm across ranks (CUDA only)")


class EvalSection(_Section):
    every: int = Field(1000, gt=0, description="score every N steps (and at the end)")
    metrics: list[str] = Field(["fid"], min_length=1, description="see 'ganzoo list metrics'")
    n: int = Field(1000, gt=1, description="generated and real samples per evaluation")
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
    seed: int = Field(0, ge=0)
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.model_dump(), "seed": self.seed, "device": self.device,
            "precision": self.precision, "variant": self.variant.model_dump(mode="json"),
            "data": self.data.model_dump(mode="json"), "train": self.train.model_dump(),
            "log": self.log.model_dump(), "checkpoint": self.checkpoint.model_dump(),
            "ema": self.ema.model_dump() if self.ema else None,
            "distributed": self.distributed.model_dump(),
            "eval": self.eval.model_dump() if self.eval else None,
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


def parse_yaml(text: str, file: str) -> tuple[Any, dict]:
    """``yaml.safe_load`` the text, with a map of key paths to lines; syntax errors name the line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
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
        parsed = yaml.safe_load(value) if value.strip() else ""
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


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Read, override and validate a run config; raise :class:`ConfigError` naming file and line."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("config file not found; check the path", file=file) from None
    except IsADirectoryError:
        raise ConfigError("is a folder; give the path of a YAML config file in it", file=file) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the config as "
                          f"UTF-8", file=file) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror or exc}", file=file) from None
    data, lines = parse_yaml(text, file)
    return config_from_dict(data, file=file, lines=lines, overrides=overrides or [])


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
    return RunConfig(source=file, run=top.run, seed=top.seed, device=top.device,
                     precision=top.precision, variant=variant_opts, data=data_opts, train=top.train,
                     log=top.log, checkpoint=top.checkpoint, ema=top.ema,
                     distributed=top.distributed, eval=top.eval, overrides=overrides)
