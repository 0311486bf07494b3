"""``ganzoo bench``: train several configs over several seeds, score them alike, compare them.

Each (config, seed) trains in its own subprocess (``ganzoo run CONFIG --resume auto ...``), so
its peak memory is that process's own (``os.wait4``) and a crash stays in it. The parent then
scores every final checkpoint with :func:`ganzoo.evaluation.score` under one protocol (same
metrics, sample count, sampling seed and real split) and writes:

* ``OUT/<config stem>/bench_config.yaml``: the config as read when the bench started (what the
  training processes get, so an edit to the file meanwhile changes no run);
* ``OUT/<config stem>/seed<k>/``: the run folder, plus ``train.json`` (time and memory of each
  training process), ``bench.json`` (the run's result) and ``bench.log`` (the process's output);
* ``OUT/results.md|csv|json``: mean +- standard error over seeds for each metric value, wall time,
  steps/s, peak memory and parameter count, with the command line and the protocol;
* ``OUT/plots/<metric>.png``: the in-training evaluations against the step, one line per config;
* ``OUT/tb_hparams/``: TensorBoard HParams (``tensorboard --logdir OUT/tb_hparams``).

A run with a final checkpoint and a ``bench.json`` for the same protocol is not touched again; an
interrupted one resumes from its checkpoint; a deleted ``bench.json`` is only re-scored.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import ConfigError, GanzooError

#: Defaults by the data's kind: the metrics and the sample count of the final evaluation.
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

    @property
    def snapshot(self) -> Path:
        """Where the planned config text is kept, so an edit to the file mid-bench changes no run."""
        return self.run_dir.parent / "bench_config.yaml"

    @property
    def label(self) -> str:
        return f"{self.name} seed{self.seed}"

    def key(self, eval_seed: int) -> dict[str, Any]:
        """What a stored result must have been computed with to be reused."""
        return {"version": RESULT_VERSION, "metrics": list(self.metrics), "n": self.n,
                "eval_seed": eval_seed, "split": "train", "step": self.steps}


class RunFailed(GanzooError):
    """One run of the bench failed; the bench goes on with the others."""


# -- planning ----------------------------------------------------------------------------------
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


def _checkpoint_steps(run_dir: Path) -> int:
    from .checkpoint import _NAME, list_checkpoints

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
    done = _checkpoint_steps(spec.run_dir)
    if done > spec.steps:
        raise GanzooError(f"{spec.run_dir} already has {done} steps, more than train.steps={spec.steps} "
                          f"of {spec.config}; use another --out or delete that folder")


def plan(settings: BenchSettings) -> list[RunSpec]:
    """Check every config and option up front (a typo fails now, not after hours of training)."""
    from .config import config_from_dict, parse_yaml
    from .plugins import get_registry, suggest

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
    registry = get_registry()
    known = registry.names("metrics")
    for m in settings.metrics or []:
        if m not in known:
            raise GanzooError(f"--metrics: unknown metric '{m}'{suggest(m, known)}; see 'ganzoo list metrics'")
    out = Path(settings.out)
    seen: dict[str, str] = {}
    specs: list[RunSpec] = []
    for text in settings.configs:
        path = Path(text)
        if not path.is_file():
            raise ConfigError("config file not found; check the path", file=text)
        name = path.stem
        if name in seen:
            raise GanzooError(f"{text} and {seen[name]} have the same file name '{name}' (run folders "
                              f"are OUT/<file name>/seed<k>); rename one")
        seen[name] = text
        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config: {exc}", file=text) from None
        data, lines = parse_yaml(content, text)

        def load(overrides: list[str]):
            return config_from_dict(data, file=text, lines=lines, overrides=overrides)

        base = load(["log.progress=false", *settings.overrides])
        source = registry.get("datasets", base.data.name)(base.data)
        kind = source.info().kind
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
        n = settings.n or DEFAULT_N[kind]
        every = eval_every(base.train.steps, settings.eval_points, base.log.every)
        for k in range(settings.seeds):
            overrides = ["log.progress=false", *settings.overrides,
                         f"run.out_dir={json.dumps(str(out / name))}", f"run.name=seed{k}", f"seed={k}",
                         f"eval.every={every}", f"eval.metrics=[{', '.join(metrics)}]", f"eval.n={n}",
                         "eval.split=train", "eval.extractor=null"]  # the final scoring's protocol
            if base.eval is not None and base.eval.best is not None and base.eval.best not in metrics:
                overrides.append("eval.best=null")
            cfg = load(overrides)
            spec = RunSpec(config=text, name=name, seed=k, run_dir=out / name / f"seed{k}",
                           steps=cfg.train.steps, kind=kind, metrics=metrics, n=n, eval_every=every,
                           overrides=overrides, cfg=cfg, text=content)
            _check_existing(spec)
            specs.append(spec)
    return specs


# -- training in a subprocess ----------------------------------------------------------------------
def _maxrss_mib(usage: Any) -> float | None:
    """``ru_maxrss`` is KiB on Linux and bytes on macOS; None where it is not measured."""
    if usage is None:
        return None
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return round(float(usage.ru_maxrss) / scale, 1)


def _wait(proc: subprocess.Popen) -> tuple[int, Any, bool]:
    """Wait for ``proc`` with its resource usage. Ctrl-C is passed on to it once per press (it
    checkpoints and stops; a second press aborts it), SIGTERM too; returns (exit code, usage,
    whether the bench was asked to stop)."""
    stopped = False
    previous = None
    if threading.current_thread() is threading.main_thread():
        def forward_term(signum, frame):
            nonlocal stopped
            stopped = True
            proc.send_signal(signal.SIGTERM)
        previous = signal.signal(signal.SIGTERM, forward_term)
    try:
        while True:
            try:
                if not hasattr(os, "wait4"):  # Windows: no per-child resource usage
                    return proc.wait(), None, stopped
                _, status, usage = os.wait4(proc.pid, 0)
                break
            except KeyboardInterrupt:
                stopped = True
                proc.send_signal(signal.SIGINT)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage, stopped


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_text(path: Path, text: str) -> None:
    """Write via a temporary file and a rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


def train_run(spec: RunSpec, start_step: int, threads: int | None = None) -> tuple[dict[str, Any], str]:
    """Train (or continue) ``spec`` in a child process; returns its segment record and last line.

    ``threads`` sets the child's OMP/MKL thread count: on a busy machine one thread per process
    is often many times faster than several contending ones, and more repeatable."""
    cmd = [sys.executable, "-m", "ganzoo", "run", "--resume", "auto", str(spec.snapshot), *spec.overrides]
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    log_path = spec.run_dir / "bench.log"
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"\n=== {started} from step {start_step}: {shlex.join(cmd)}\n")
        log.flush()
        offset = log.tell()
        load_before = _loadavg()
        t0 = time.perf_counter()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if threads:
            env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
        _, usage, stopped = _wait(proc)
        wall = time.perf_counter() - t0
    with open(log_path, encoding="utf-8", errors="replace") as log:
        log.seek(offset)
        tail = _last_line(log.read())
    segment = {"started": started, "start_step": start_step, "end_step": _checkpoint_steps(spec.run_dir),
               "wall_s": round(wall, 3), "peak_rss_mib": _maxrss_mib(usage),
               "returncode": proc.returncode, "threads": threads,
               "load_average": {"start": load_before, "end": _loadavg()}}
    stats_path = spec.run_dir / "train.json"
    stats = _read_json(stats_path) if start_step > 0 else None
    segments = list(stats.get("segments", [])) if isinstance(stats, dict) else []
    segments.append(segment)
    _write_text(stats_path, json.dumps({"command": cmd, "segments": segments}, indent=2) + "\n")
    if stopped:
        raise KeyboardInterrupt
    return segment, tail


# -- reading a run's log ------------------------------------------------------------------------
def read_log(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "log.jsonl"
    out = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
    return out


def curves(records: list[dict[str, Any]]) -> dict[str, dict[str, list[list[float]]]]:
    """``{metric: {value key: [[step, value], ...]}}`` from the in-training evaluations."""
    out: dict[str, dict[str, dict[int, float]]] = {}
    for r in records:
        if r.get("kind") != "eval_record" or "metric" not in r:
            continue
        for k, v in (r.get("values") or {}).items():
            try:
                out.setdefault(r["metric"], {}).setdefault(k, {})[int(r["step"])] = float(v)
            except (TypeError, ValueError):
                continue
    return {m: {k: [[s, v] for s, v in sorted(pts.items())] for k, pts in keys.items()}
            for m, keys in out.items()}


def training_speed(records: list[dict[str, Any]]) -> float | None:
    """Generator steps per second of training proper, from the trainer's own log intervals
    (``steps_per_s`` over each ``log.every`` steps) less the in-training evaluations inside them
    (an evaluation at a logged step runs from that step's train record to its eval record)."""
    train_time = {int(r["step"]): float(r["time"]) for r in records
                  if r.get("kind") == "train" and "time" in r}
    eval_time = {int(r["step"]): float(r["time"]) for r in records if r.get("kind") == "eval" and "time" in r}
    steps = seconds = 0.0
    prev = 0
    for r in records:
        if r.get("kind") != "train" or "steps_per_s" not in r:
            continue
        step = int(r["step"])
        try:
            sps = float(r["steps_per_s"])
        except (TypeError, ValueError):
            sps = math.nan
        d = step - prev
        if d > 0 and math.isfinite(sps) and sps > 0:
            dt = d / sps
            if prev in eval_time and prev in train_time:
                dt -= max(0.0, eval_time[prev] - train_time[prev])
            if dt > 0:
                steps += d
                seconds += dt
        prev = step
    return steps / seconds if seconds > 0 else None


# -- evaluating a finished run ------------------------------------------------------------------
def evaluate_run(spec: RunSpec, eval_seed: int) -> dict[str, Any]:
    """Score the final checkpoint of ``spec`` and gather its numbers into one record."""
    from .evaluation import score
    from .inference import load_run
    from .plugins import get_registry
    from .trainer import resolve_device

    device = resolve_device(spec.cfg.device)
    trained = load_run(spec.run_dir, device=str(device))
    if trained.step != spec.steps:
        raise RunFailed(f"{spec.label}: the latest good checkpoint in {spec.run_dir} is at step "
                        f"{trained.step}, not {spec.steps}; run the bench again to finish it")
    source = get_registry().get("datasets", trained.config.data.name)(trained.config.data)
    t0 = time.perf_counter()
    records = score(trained.variant, source, trained.info, spec.metrics, n=spec.n, seed=eval_seed,
                    device=str(device))
    eval_s = time.perf_counter() - t0
    for r in records:
        r.update(checkpoint=str(trained.checkpoint), step=trained.step)
    log = read_log(spec.run_dir)
    stats = _read_json(spec.run_dir / "train.json")
    segments = stats.get("segments", []) if isinstance(stats, dict) else []
    wall = sum(float(s.get("wall_s", 0)) for s in segments) if segments else None
    peaks = [float(s["peak_rss_mib"]) for s in segments if s.get("peak_rss_mib") is not None]
    peak = max(peaks) if peaks else None
    if wall is None:  # trained outside the bench: the log's first to last record is the best we know
        times = [float(r["time"]) for r in log if "time" in r]
        wall = (max(times) - min(times)) if len(times) > 1 else None
    speed = training_speed(log)
    speed_source = "trainer log intervals, in-training evaluations excluded"
    if speed is None and wall:
        speed, speed_source = spec.steps / wall, "steps / wall time of the training process"
    net = trained.variant.generator_net()
    return {
        "config": spec.config, "name": spec.name, "seed": spec.seed, "run_dir": str(spec.run_dir),
        "key": spec.key(eval_seed), "steps": spec.steps, "checkpoint": str(trained.checkpoint),
        "variant": trained.config.variant.name, "data": trained.config.data.name, "kind": spec.kind,
        "wall_s": wall, "training_processes": len(segments), "steps_per_s": speed,
        "load_average_1min": [x for s in segments for x in _segment_load(s)],
        "steps_per_s_source": speed_source, "peak_rss_mib": peak,
        "params": int(sum(p.numel() for p in trained.variant.parameters())),
        "g_params": int(sum(p.numel() for p in net.parameters())),
        "eval_s": round(eval_s, 3), "metrics": records, "curves": curves(log),
        "hparams": _hparams(spec, trained.config),
        "evaluated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def _segment_load(segment: dict[str, Any]) -> list[float]:
    """The 1-minute load averages sampled when a training process started and ended."""
    load = segment.get("load_average") or {}
    return [float(v[0]) for v in (load.get("start"), load.get("end")) if v]


def _hparams(spec: RunSpec, cfg: Any) -> dict[str, Any]:
    """The run's identity and its key options, as TensorBoard HParams values (scalars only)."""
    hp: dict[str, Any] = {"config": spec.name, "seed": spec.seed, "variant": cfg.variant.name,
                          "data": cfg.data.name, "train.steps": cfg.train.steps,
                          "train.batch_size": cfg.train.batch_size, "ema": cfg.ema is not None}
    for section, model in (("variant", cfg.variant), ("data", cfg.data)):
        for k, v in model.model_dump(mode="json").items():
            if k == "name" or v is None:
                continue
            hp[f"{section}.{k}"] = v if isinstance(v, (bool, int, float, str)) else json.dumps(v)
    return hp


def _valid_result(spec: RunSpec, eval_seed: int) -> dict[str, Any] | None:
    result = _read_json(spec.run_dir / "bench.json")
    if isinstance(result, dict) and result.get("key") == spec.key(eval_seed) and result.get("metrics"):
        return result
    return None


# -- the bench ------------------------------------------------------------------------------------
def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _warm_caches(specs: list[RunSpec], settings: BenchSettings, say: Callable[[str], None]) -> None:
    """Train the images' classifier feature extractor (one per seed) and cache the real features
    before any run is timed, so no run's wall time includes them."""
    from .download import cache_dir
    from .evaluation import real_samples
    from .metrics.evaluate import evaluate
    from .plugins import get_registry
    from .trainer import resolve_device

    done: set[tuple] = set()
    for spec in specs:
        if spec.kind != "images" or _checkpoint_steps(spec.run_dir) >= spec.steps:
            continue  # nothing to time: points need no extractor; a trained run is only scored
        seeds = sorted({spec.seed, settings.eval_seed})
        key = (json.dumps(spec.cfg.data.model_dump(mode="json"), sort_keys=True), tuple(spec.metrics), spec.n)
        todo = [s for s in seeds if key + (s,) not in done]
        if not todo:
            continue
        source = get_registry().get("datasets", spec.cfg.data.name)(spec.cfg.data)
        real = real_samples(source, spec.n)
        for s in todo:
            say(f"preparing evaluation caches for data '{spec.cfg.data.name}' (seed {s})")
            evaluate(real, real, source.info(), spec.metrics, real_stats_cache=cache_dir("stats"), seed=s,
                     device=str(resolve_device(spec.cfg.device)), data_source=source)
            done.add(key + (s,))


def run_one(spec: RunSpec, settings: BenchSettings, say: Callable[[str], None], prefix: str) -> dict[str, Any]:
    """Bring one run to a stored result: skip, score only, or train (resuming) then score."""
    from .checkpoint import latest_good_checkpoint

    found = latest_good_checkpoint(spec.run_dir) if spec.run_dir.is_dir() else None
    step = int(found[1].get("step", 0)) if found else 0
    del found
    if step >= spec.steps:
        cached = _valid_result(spec, settings.eval_seed)
        if cached is not None:
            say(f"{prefix} {spec.label}: done already, skipped ({spec.run_dir / 'bench.json'})")
            return cached
    else:
        say(f"{prefix} {spec.label}: " + (f"resuming at step {step} of {spec.steps}" if step
                                           else f"training {spec.steps} steps") + f" in {spec.run_dir}")
        segment, tail = train_run(spec, step, settings.threads)
        if segment["returncode"] != 0:
            raise RunFailed(f"{spec.config} seed {spec.seed}: training failed (exit "
                            f"{segment['returncode']}) in {spec.run_dir}: {tail}")
        peak = segment["peak_rss_mib"]
        say(f"{prefix} {spec.label}: trained in {segment['wall_s']:.1f} s"
            + ("" if peak is None else f", peak RSS {peak:.0f} MiB"))
    say(f"{prefix} {spec.label}: evaluating {','.join(spec.metrics)} on {spec.n} samples")
    try:
        result = evaluate_run(spec, settings.eval_seed)
    except RunFailed:
        raise
    except GanzooError as exc:
        raise RunFailed(f"{spec.config} seed {spec.seed}: evaluation failed in {spec.run_dir}: {exc}") from None
    _write_text(spec.run_dir / "bench.json", json.dumps(result, indent=2) + "\n")
    return result


@dataclass
class BenchResult:
    results: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    summary: dict[str, Any]
    files: list[Path]


def run_bench(settings: BenchSettings, say: Callable[[str], None] = _say) -> BenchResult:
    """Plan, train and score every run, then write the tables, plots and HParams."""
    specs = plan(settings)
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    load_start = _loadavg()
    import torch

    threads_before = torch.get_num_threads()
    if settings.threads:
        torch.set_num_threads(settings.threads)  # the scoring in this process too
    for spec in specs:
        if not spec.snapshot.is_file() or spec.snapshot.read_text(encoding="utf-8") != spec.text:
            _write_text(spec.snapshot, spec.text)
    results, failures = [], []
    try:
        if any(s.kind == "images" for s in specs):
            _warm_caches(specs, settings, say)
        for i, spec in enumerate(specs, 1):
            try:
                results.append(run_one(spec, settings, say, f"[{i}/{len(specs)}]"))
            except RunFailed as exc:
                say(f"[{i}/{len(specs)}] {spec.label}: FAILED: {exc}")
                failures.append({"config": spec.config, "name": spec.name, "seed": spec.seed,
                                 "run_dir": str(spec.run_dir), "error": str(exc)})
            except KeyboardInterrupt:
                say(f"interrupted during {spec.label}; run the same command again to resume")
                raise
    finally:
        torch.set_num_threads(threads_before)
    summary = summarize(specs, results, failures, settings, load_start)
    files = write_tables(out, summary)
    files += write_plots(out, summary, results)
    files.append(write_hparams(out, results))
    return BenchResult(results, failures, summary, files)


# -- aggregation -----------------------------------------------------------------------------------
def mean_se(values: list[float | None]) -> dict[str, Any]:
    """Mean and standard error (sample std, ddof=1, over sqrt(n); 0 for one value) of the finite
    values; ``n`` says how many there were."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(finite)
    mean = sum(finite) / n if n else math.nan
    se = statistics.stdev(finite) / math.sqrt(n) if n > 1 else (0.0 if n else math.nan)
    return {"mean": mean, "se": se, "n": n}


def _primary_key(rec: dict[str, Any]) -> str:
    """The value key a record reports as its ``value`` (the metric's ``primary``)."""
    try:
        from .plugins import get_registry

        key = getattr(get_registry().get("metrics", rec["metric"]), "primary", "")
    except Exception:  # a metric plugin no longer installed: match by value
        key = ""
    if key in rec["values"]:
        return key
    return next((k for k, v in rec["values"].items() if v == rec["value"]), rec["metric"])


def columns(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Metric value columns in first-seen order: each metric's primary value, then its others."""
    cols: dict[str, dict[str, Any]] = {}
    for res in results:
        for rec in res["metrics"]:
            metric = rec["metric"]
            primary = _primary_key(rec)
            for key in [primary] + [k for k in rec["values"] if k != primary]:
                label = metric if key == primary == metric else f"{metric}.{key}"
                if label not in cols:
                    cols[label] = {"label": label, "metric": metric, "key": key, "primary": key == primary,
                                   "higher_is_better": rec["higher_is_better"] if key == primary else None}
    return list(cols.values())


def _value(result: dict[str, Any], col: dict[str, Any]) -> float | None:
    for rec in result["metrics"]:
        if rec["metric"] == col["metric"]:
            v = rec["values"].get(col["key"])
            return None if v is None else float(v)
    return None


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _load_range(results: list[dict[str, Any]]) -> list[float] | None:
    """Lowest and highest 1-minute load average sampled around the runs' training processes."""
    samples = [x for r in results for x in r.get("load_average_1min") or []]
    return [min(samples), max(samples)] if samples else None


def _protocol(results: list[dict[str, Any]], settings: BenchSettings) -> list[dict[str, Any]]:
    """One entry per distinct protocol (metric, extractor, sample counts, options, notes)."""
    groups: dict[str, dict[str, Any]] = {}
    for res in results:
        for rec in res["metrics"]:
            p = rec["protocol"]
            entry = {"metric": rec["metric"], "extractor": p.get("extractor"),
                     "extractor_weights_sha256": p.get("extractor_weights_sha256"),
                     "feature_dims": p.get("feature_dims"), "resize": p.get("resize"),
                     "n_fake": p.get("n_fake"), "n_real": p.get("n_real"), "seed": p.get("seed"),
                     "real_split": rec.get("real_split"), "options": p.get("options"),
                     "notes": p.get("notes"), "ganzoo_version": p.get("ganzoo_version")}
            key = json.dumps(entry, sort_keys=True, default=str)
            groups.setdefault(key, {**entry, "configs": []})
            if res["name"] not in groups[key]["configs"]:
                groups[key]["configs"].append(res["name"])
    return list(groups.values())


def summarize(specs: list[RunSpec], results: list[dict[str, Any]], failures: list[dict[str, Any]],
              settings: BenchSettings, load_start: list[float] | None = None) -> dict[str, Any]:
    import platform

    import torch

    cols = columns(results)
    configs: dict[str, dict[str, Any]] = {}
    for spec in specs:
        c = configs.setdefault(spec.name, {"name": spec.name, "config": spec.config,
                                           "sha256": hashlib.sha256(spec.text.encode()).hexdigest(),
                                           "steps": spec.steps,
                                           "kind": spec.kind, "metrics_used": spec.metrics, "n": spec.n,
                                           "eval_every": spec.eval_every, "seeds": [], "ok_seeds": [],
                                           "failed_seeds": []})
        c["seeds"].append(spec.seed)
    for f in failures:
        configs[f["name"]]["failed_seeds"].append(f["seed"])
    for name, c in configs.items():
        mine = sorted((r for r in results if r["name"] == name), key=lambda r: r["seed"])
        c["ok_seeds"] = [r["seed"] for r in mine]
        c["values"] = {col["label"]: mean_se([_value(r, col) for r in mine]) for col in cols}
        for k in ("wall_s", "steps_per_s", "peak_rss_mib", "params", "g_params", "eval_s"):
            c[k] = mean_se([r.get(k) for r in mine])
    return {
        "command": settings.command, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "settings": {"seeds": settings.seeds, "out": settings.out, "metrics": settings.metrics,
                     "n": settings.n, "eval_points": settings.eval_points, "eval_seed": settings.eval_seed,
                     "threads": settings.threads, "overrides": settings.overrides},
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "torch": torch.__version__, "cpus": os.cpu_count(),
                    "threads_per_run": settings.threads or "inherited (torch default)",
                    "devices": sorted({str(s.cfg.device) for s in specs}),
                    "load_average_start": load_start, "load_average_end": _loadavg(),
                    "load_average_1min_during_training": _load_range(results)},
        "columns": cols, "configs": configs, "protocol": _protocol(results, settings),
        "runs": [{k: v for k, v in r.items() if k not in ("curves", "hparams")} for r in results],
        "failures": failures,
    }


# -- tables ------------------------------------------------------------------------------------------
def fmt_pm(ms: dict[str, Any], integer: bool = False) -> str:
    """``mean ± se`` with as many decimals as the standard error warrants."""
    if not ms or ms["n"] == 0:
        return "–"
    mean, se = ms["mean"], ms["se"]
    if integer and se == 0:
        text = f"{int(round(mean)):,}"
    elif se > 0 and math.isfinite(se):
        d = min(6, max(0, 1 - math.floor(math.log10(se))))
        text = f"{mean:.{d}f} ± {se:.{d}f}"
    else:
        text = f"{mean:.4g} ± 0"
    return text


def _shown_columns(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Columns for the Markdown table: sub-values that are the same in every run are left out."""
    shown = []
    for col in summary["columns"]:
        vals = {round(_value(r, col), 12) for r in summary["runs"] if _value(r, col) is not None
                and math.isfinite(_value(r, col))}
        if col["primary"] or len(vals) > 1:
            shown.append(col)
    return shown


def _head(col: dict[str, Any]) -> str:
    hib = col["higher_is_better"]
    return col["label"] + ("" if hib is None else (" ↑" if hib else " ↓"))


def main_table(summary: dict[str, Any]) -> str:
    """The comparison table (one row per config) as Markdown."""
    cols = _shown_columns(summary)
    head = ["config", "seeds", *(_head(c) for c in cols), "wall time (s)", "steps/s", "peak RSS (MiB)",
            "params (G+D)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in summary["configs"].values():
        ok = len(c["ok_seeds"])
        cells = [f"`{c['name']}`", f"{ok}/{len(c['seeds'])}"]
        for col in cols:
            ms = c["values"].get(col["label"])
            cell = fmt_pm(ms)
            if ms and 0 < ms["n"] < ok:
                cell += f" ({ms['n']}/{ok} finite)"
            cells.append(cell)
        cells += [fmt_pm(c["wall_s"]), fmt_pm(c["steps_per_s"]), fmt_pm(c["peak_rss_mib"]),
                  fmt_pm(c["params"], integer=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(summary: dict[str, Any]) -> str:
    cols = _shown_columns(summary)
    lines = ["# ganzoo bench", "", "Produced by:", "", "```", summary["command"], "```", ""]
    lines += ["Each value is the mean ± standard error (sample std / √n) over the seeds that finished; "
              "metrics are scored on each run's final checkpoint with the same protocol for every run "
              "(see below). Wall time is the whole training process (start-up, training, in-training "
              "evaluations, checkpoints); steps/s is training proper (trainer log intervals, "
              "evaluations excluded); peak RSS is the training process's maximum resident memory.", ""]
    lines.append(main_table(summary))
    lines += ["", "## Runs", ""]
    primary = [c for c in cols if c["primary"]]
    head = ["config", "seed", "steps", *(c["label"] for c in primary), "wall time (s)", "steps/s",
            "peak RSS (MiB)", "run folder"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in sorted(summary["runs"], key=lambda r: (r["name"], r["seed"])):
        vals = [_value(r, c) for c in primary]
        cells = [f"`{r['name']}`", str(r["seed"]), str(r["steps"]),
                 *("–" if v is None else f"{v:.4g}" for v in vals),
                 "–" if r.get("wall_s") is None else f"{r['wall_s']:.1f}",
                 "–" if r.get("steps_per_s") is None else f"{r['steps_per_s']:.1f}",
                 "–" if r.get("peak_rss_mib") is None else f"{r['peak_rss_mib']:.0f}", f"`{r['run_dir']}`"]
        lines.append("| " + " | ".join(cells) + " |")
    if summary["failures"]:
        lines += ["", "## Failed runs", "", "| config | seed | run folder | error |", "|---|---|---|---|"]
        for f in summary["failures"]:
            err = f["error"].replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{f['name']}` | {f['seed']} | `{f['run_dir']}` | {err} |")
    lines += ["", "## Protocol", ""]
    for c in summary["configs"].values():
        lines.append(f"- `{c['name']}` ({c['config']}, sha256 {c['sha256'][:12]}): {c['steps']} steps, metrics "
                     f"{', '.join(c['metrics_used'])} on n = {c['n']}, in-training evaluation every "
                     f"{c['eval_every']} steps (the curves in plots/)")
    lines.append("- Curves (plots/): each run's own in-training evaluations. The trainer scores with the "
                 "run's seed (its sampling noise and, for images, the seed of the classifier feature "
                 "extractor), so a curve's last point can differ from the table, which scores every run "
                 f"with seed {summary['settings']['eval_seed']}.")
    for p in summary["protocol"]:
        parts = [f"extractor {p['extractor'] or 'none (samples directly)'}"]
        if p.get("extractor_weights_sha256"):
            parts.append(f"weights sha256 {p['extractor_weights_sha256'][:12]}…")
        parts.append(f"{p['n_fake']} generated samples (sampling seed {p['seed']})")
        parts.append(f"{p['n_real']} real samples from the {p['real_split']} split" if p["n_real"]
                     else f"real samples: {p['real_split']} split" if p["metric"] != "modes"
                     else "the data set's known mode centres")
        if p.get("options"):
            parts.append("options " + json.dumps(p["options"], sort_keys=True))
        lines.append(f"- `{p['metric']}` for {', '.join(p['configs'])}: " + "; ".join(parts))
        for note in p.get("notes") or []:
            lines.append(f"  - note: {note}")
    m = summary["machine"]
    lines += ["", f"Machine: {m['platform']}, {m['cpus']} CPUs (threads per training process: "
                  f"{m['threads_per_run']}), Python {m['python']}, torch {m['torch']}, "
                  f"device {', '.join(m['devices'])}; 1-minute load average while the runs trained: "
                  f"{_fmt_range(m['load_average_1min_during_training'])}, while this table was made: "
                  f"{m['load_average_start']} -> {m['load_average_end']} (1, 5, 15 min). "
                  f"Created {summary['created']}.", ""]
    return "\n".join(lines)


def _fmt_range(pair: list[float] | None) -> str:
    return "not recorded" if not pair else f"{pair[0]:.1f} to {pair[1]:.1f}"


def csv_text(summary: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    labels = [c["label"] for c in summary["columns"]]
    extra = ["wall_s", "steps_per_s", "peak_rss_mib", "params", "g_params"]
    head = ["config", "config_path", "steps", "seeds_ok", "seeds_total"]
    for name in labels + extra:
        head += [f"{name}_mean", f"{name}_se", f"{name}_n"]
    w.writerow(head)
    for c in summary["configs"].values():
        row = [c["name"], c["config"], c["steps"], len(c["ok_seeds"]), len(c["seeds"])]
        for ms in [c["values"][name] for name in labels] + [c[k] for k in extra]:
            row += [repr(ms["mean"]), repr(ms["se"]), ms["n"]]
        w.writerow(row)
    return buf.getvalue()


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def write_tables(out: Path, summary: dict[str, Any]) -> list[Path]:
    paths = [out / "results.md", out / "results.csv", out / "results.json"]
    _write_text(paths[0], markdown(summary))
    _write_text(paths[1], csv_text(summary))
    _write_text(paths[2], json.dumps(_json_safe(summary), indent=2) + "\n")
    return paths


# -- plots and HParams -------------------------------------------------------------------------------
def write_plots(out: Path, summary: dict[str, Any], results: list[dict[str, Any]]) -> list[Path]:
    """``plots/<metric>.png`` (primary value) and ``plots/<metric>.<key>.png`` (other values that
    vary): the in-training evaluations against the step, mean ± SE over seeds, one line per config."""
    from .plots import Series, line_plot

    folder = out / "plots"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    written = []
    for col in _shown_columns(summary):
        series = []
        for name, c in summary["configs"].items():
            per_step: dict[int, list[float]] = {}
            mine = [r for r in results if r["name"] == name]
            for r in mine:
                for step, v in r.get("curves", {}).get(col["metric"], {}).get(col["key"], []):
                    per_step.setdefault(int(step), []).append(v)
            if not per_step:
                continue
            steps = sorted(per_step)
            stats = [mean_se(per_step[s]) for s in steps]
            series.append(Series(f"{name} ({len(mine)} seed{'s' if len(mine) != 1 else ''})", steps,
                                 [s["mean"] for s in stats], [s["mean"] - s["se"] for s in stats],
                                 [s["mean"] + s["se"] for s in stats]))
        if not series:
            continue
        hib = col["higher_is_better"]
        better = "" if hib is None else (", higher is better" if hib else ", lower is better")
        written.append(line_plot(series, folder / f"{col['label']}.png",
                                 title=f"{col['label']}: mean ± SE over seeds{better}",
                                 xlabel="training step", ylabel=col["label"], xmin=0))
    return written


def write_hparams(out: Path, results: list[dict[str, Any]]) -> Path:
    """One TensorBoard HParams session per run under ``OUT/tb_hparams/<config>/seed<k>``."""
    import shutil

    from torch.utils.tensorboard import SummaryWriter

    root = out / "tb_hparams"
    shutil.rmtree(root, ignore_errors=True)  # derived output: rewritten whole, never appended to
    cols = columns(results)
    with SummaryWriter(str(root)) as writer:
        for r in sorted(results, key=lambda r: (r["name"], r["seed"])):
            metrics = {}
            for col in cols:
                v = _value(r, col)
                if v is not None and math.isfinite(v):
                    metrics[f"final/{col['label']}"] = v
            for k in ("wall_s", "steps_per_s", "peak_rss_mib", "params"):
                if r.get(k) is not None:
                    metrics[f"bench/{k}"] = float(r[k])
            writer.add_hparams(dict(r.get("hparams") or {"config": r["name"], "seed": r["seed"]}), metrics,
                               run_name=f"{r['name']}/seed{r['seed']}")
    return root
