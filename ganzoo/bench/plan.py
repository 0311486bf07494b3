"""Planning a bench: every config and option checked up front, one :class:`RunSpec` per run.

A typo or a config that cannot be scored fails here, before hours of training; a run folder that
holds another config's run is refused rather than continued.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, GanzooError
from .grid import cell_name, grid_points, parse_grid

DEFAULT_METRICS = {"points": ["modes"], "images": ["fid", "kid"]}
DEFAULT_N = {"points": 2500, "images": 1000}
RESULT_VERSION = 1
#: Config parts that must match for a run folder to be continued or reused (train.steps may grow).
_IDENTITY = ("seed", "device", "precision", "variant", "data", "train", "ema")


@dataclass
class BenchSettings:
    """What ``ganzoo bench`` was asked to do."""

    configs: list[str]
    seeds: int = 3
    out: str = "runs/bench"
    metrics: list[str] | None = None
    n: int | None = None
    eval_points: int = 5
    eval_seed: int = 0
    threads: int | None = None  # CPU threads per training process (OMP_NUM_THREADS); None: inherit
    overrides: list[str] = field(default_factory=list)
    command: str = ""
    grid: list[str] = field(default_factory=list)  # --grid KEY=V1,V2,... items
    launcher: str = "serial"  # serial, local, submitit or ray (see ganzoo.bench.launchers)
    jobs: int | None = None  # cells at once (None: the launcher's default)
    launch: dict[str, Any] = field(default_factory=dict)  # the launcher's own options


@dataclass
class RunSpec:
    """One (config, seed) run: where it lives and what its training process is told."""

    config: str
    name: str
    seed: int
    run_dir: Path
    steps: int
    kind: str
    metrics: list[str]
    n: int
    eval_every: int
    overrides: list[str]
    cfg: Any  # the RunConfig the training process will see
    text: str = ""  # the config file as read when planning; the training process gets this copy
    grid: list[str] = field(default_factory=list)  # this cell's --grid overrides (in its folder name)

    @property
    def snapshot(self) -> Path:
        """Where the planned config text is kept, so an edit to the file mid-bench changes no run."""
        return self.run_dir.parent / "bench_config.yaml"

    @property
    def label(self) -> str:
        return f"{self.name} seed{self.seed}"

    def to_payload(self) -> dict[str, Any]:
        """The spec as JSON-able data, for a cell that runs in another process or on another machine."""
        return {"config": self.config, "name": self.name, "seed": self.seed, "run_dir": str(self.run_dir),
                "steps": self.steps, "kind": self.kind, "metrics": list(self.metrics), "n": self.n,
                "eval_every": self.eval_every, "overrides": list(self.overrides), "text": self.text,
                "grid": list(self.grid)}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> "RunSpec":
        """The inverse of :meth:`to_payload`: the config is rebuilt from the planned text and overrides."""
        from ..config import config_from_dict, parse_yaml

        parsed, lines = parse_yaml(data["text"], data["config"])
        cfg = config_from_dict(parsed, file=data["config"], lines=lines, overrides=data["overrides"])
        return cls(**{**data, "run_dir": Path(data["run_dir"]), "cfg": cfg})

    def key(self, eval_seed: int) -> dict[str, Any]:
        """What a stored result must have been computed with to be reused."""
        return {"version": RESULT_VERSION, "metrics": list(self.metrics), "n": self.n,
                "eval_seed": eval_seed, "split": "train", "step": self.steps}


class RunFailed(GanzooError):
    """One run of the bench failed; the bench goes on with the others."""


def eval_every(steps: int, points: int, log_every: int) -> int:
    """About ``points`` evaluations; a multiple of ``log.every`` when possible, so that the time an
    evaluation takes can be told apart from training time in the log."""
    raw = max(1.0, steps / points)
    if log_every <= steps:
        return int(log_every * max(1, round(raw / log_every)))
    return int(math.ceil(raw))


def _identity(cfg: dict[str, Any]) -> dict[str, Any]:
    ident = {k: cfg.get(k) for k in _IDENTITY}
    if isinstance(ident["train"], dict):
        ident["train"] = {k: v for k, v in ident["train"].items() if k != "steps"}
    return json.loads(json.dumps(ident, default=str))


def _differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b), key=str):
            out += _differences(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        return out
    return [] if a == b else [prefix]


def checkpoint_steps(run_dir: Path) -> int:
    """The step of the newest checkpoint in ``run_dir`` (0 when none): how far a run got."""
    from ..checkpoint import _NAME, list_checkpoints

    found = list_checkpoints(run_dir)
    return int(_NAME.search(found[-1].name).group(1)) if found else 0


def _check_existing(spec: RunSpec) -> None:
    """Refuse to continue a run folder that holds another config's run or more steps."""
    import yaml

    saved = spec.run_dir / "config.yaml"
    if saved.is_file():
        try:
            old = yaml.safe_load(saved.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            old = None
        if isinstance(old, dict):
            diff = _differences(_identity(old), _identity(spec.cfg.to_dict()))
            if diff:
                raise GanzooError(f"{spec.run_dir} holds a run of another config (differs in "
                                  f"{', '.join(diff[:4])}); use another --out or delete that folder")
    done = checkpoint_steps(spec.run_dir)
    if done > spec.steps:
        raise GanzooError(f"{spec.run_dir} already has {done} steps, more than train.steps={spec.steps} "
                          f"of {spec.config}; use another --out or delete that folder")


def _check_settings(settings: BenchSettings) -> None:
    """The command-line options, before any config is read."""
    from ..plugins import get_registry, suggest

    if not settings.configs:
        raise GanzooError("no configs given: name one or more run configs, e.g. "
                          "'ganzoo bench zoo_configs/grid2d_*.yaml --seeds 3'")
    if settings.seeds < 1:
        raise GanzooError(f"--seeds must be at least 1, got {settings.seeds}")
    if settings.eval_points < 1:
        raise GanzooError(f"--eval-points must be at least 1, got {settings.eval_points}")
    if settings.threads is not None and settings.threads < 1:
        raise GanzooError(f"--threads must be at least 1, got {settings.threads}")
    if settings.n is not None and settings.n < 2:
        raise GanzooError(f"-n must be at least 2, got {settings.n}")
    if settings.jobs is not None and settings.jobs < 1:
        raise GanzooError(f"--jobs must be at least 1, got {settings.jobs}")
    parse_grid(settings.grid)
    known = get_registry().names("metrics")
    for m in settings.metrics or []:
        if m not in known:
            raise GanzooError(f"--metrics: unknown metric '{m}'{suggest(m, known)}; see 'ganzoo list metrics'")


def _read_config(text: str) -> str:
    """The config file's text, read once: the training processes get this copy, not the file."""
    path = Path(text)
    if not path.is_file():
        raise ConfigError("config file not found; check the path", file=text)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config: {exc}", file=text) from None


def _kind_and_metrics(text: str, base: Any, settings: BenchSettings, registry: Any) -> tuple[str, list[str]]:
    """The config's kind of data and the metrics that score it; refused when bench cannot score it."""
    kind = registry.get("datasets", base.data.name)(base.data).info().kind
    if kind not in DEFAULT_N:
        raise GanzooError(f"{text}: data set '{base.data.name}' is {kind} data, which 'ganzoo bench' "
                          f"cannot score (it compares samples with one data set); bench configs on "
                          f"2-D points or images")
    metrics = list(settings.metrics or DEFAULT_METRICS[kind])
    for m in metrics:
        kinds = getattr(registry.get("metrics", m), "kinds", ("images", "points"))
        if kind not in kinds:
            raise GanzooError(f"{text}: metric '{m}' does not apply to {kind} data (data set "
                              f"'{base.data.name}'); choose --metrics for {kind}, e.g. "
                              f"{','.join(DEFAULT_METRICS[kind])}")
    return kind, metrics


def _plan_config(text: str, settings: BenchSettings, registry: Any) -> list[RunSpec]:
    """One config's runs, one per seed, each with the overrides that fix the scoring protocol."""
    from ..config import config_from_dict, parse_yaml

    content = _read_config(text)
    data, lines = parse_yaml(content, text)

    def load(overrides: list[str]):
        return config_from_dict(data, file=text, lines=lines, overrides=overrides)

    specs = []
    for point in grid_points(parse_grid(settings.grid)):
        specs += _plan_point(text, content, load, point, settings, registry)
    return specs


def _plan_point(text: str, content: str, load: Any, point: list[str], settings: BenchSettings,
                registry: Any) -> list[RunSpec]:
    """The runs of one config at one grid point (no grid: the config itself), one per seed."""
    common = [*settings.overrides, *point]
    base = load(["log.progress=false", *common])
    kind, metrics = _kind_and_metrics(text, base, settings, registry)
    n = settings.n or DEFAULT_N[kind]
    every = eval_every(base.train.steps, settings.eval_points, base.log.every)
    out, name = Path(settings.out), cell_name(Path(text).stem, point)
    specs = []
    for k in range(settings.seeds):
        overrides = ["log.progress=false", *common,
                     f"run.out_dir={json.dumps(str(out / name))}", f"run.name=seed{k}", f"seed={k}",
                     f"eval.every={every}", f"eval.metrics=[{', '.join(metrics)}]", f"eval.n={n}",
                     "eval.split=train", "eval.extractor=null"]  # the final scoring's protocol
        if base.eval is not None and base.eval.best is not None and base.eval.best not in metrics:
            overrides.append("eval.best=null")
        cfg = load(overrides)
        spec = RunSpec(config=text, name=name, seed=k, run_dir=out / name / f"seed{k}",
                       steps=cfg.train.steps, kind=kind, metrics=metrics, n=n, eval_every=every,
                       overrides=overrides, cfg=cfg, text=content, grid=list(point))
        _check_existing(spec)
        specs.append(spec)
    return specs


def plan(settings: BenchSettings) -> list[RunSpec]:
    """Check every config and option up front (a typo fails now, not after hours of training)."""
    from ..plugins import get_registry

    _check_settings(settings)
    registry = get_registry()
    seen: dict[str, str] = {}
    specs: list[RunSpec] = []
    for text in settings.configs:
        name = Path(text).stem
        if name in seen and Path(text).is_file():
            raise GanzooError(f"{text} and {seen[name]} have the same file name '{name}' (run folders "
                              f"are OUT/<file name>/seed<k>); rename one")
        seen[name] = text
        specs += _plan_config(text, settings, registry)
    folders: dict[Path, RunSpec] = {}
    for spec in specs:
        other = folders.setdefault(spec.run_dir, spec)
        if other is not spec:
            raise GanzooError(f"--grid: {' '.join(other.grid)} and {' '.join(spec.grid)} of {spec.config} "
                              f"share the folder {spec.run_dir}; give values that differ in letters or digits")
    return specs
