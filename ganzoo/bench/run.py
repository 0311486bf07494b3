"""Running a bench: each run trains in its own process, then this one scores it.

A run is brought to a stored result (``bench.json``) by skipping it, scoring it only, or training
it (resuming from its checkpoint) and scoring it; one failed run does not stop the others.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from ..errors import GanzooError
from ..fileio import atomic_write_text
from .lock import die_with_parent, run_lock
from .measure import curves, load_average, peak_rss_mib, read_log, training_speed, wait_with_usage
from .plan import BenchSettings, RunFailed, RunSpec, checkpoint_steps
from .state import read_json, run_progress, valid_result


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


def train_run(spec: RunSpec, start_step: int, threads: int | None = None,
              keep_fds: list[int] | None = None) -> tuple[dict[str, Any], str]:
    """Train (or continue) ``spec`` in a child process; returns its segment record and last line.

    ``threads`` sets the child's OMP/MKL thread count: on a busy machine one thread per process
    is often many times faster than several contending ones, and more repeatable. ``keep_fds``
    (the run folder's lock, :mod:`.lock`) are inherited, so the lock lasts as long as the child."""
    cmd = [sys.executable, "-m", "ganzoo", "run", "--resume", "auto", str(spec.snapshot), *spec.overrides]
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    log_path = spec.run_dir / "bench.log"
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"\n=== {started} from step {start_step}: {shlex.join(cmd)}\n")
        log.flush()
        offset = log.tell()
        load_before = load_average()
        t0 = time.perf_counter()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if threads:
            env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True, pass_fds=tuple(keep_fds or ()),
                                preexec_fn=die_with_parent())
        _, usage, stopped = wait_with_usage(proc)
        wall = time.perf_counter() - t0
    with open(log_path, encoding="utf-8", errors="replace") as log:
        log.seek(offset)
        tail = _last_line(log.read())
    segment = {"started": started, "start_step": start_step, "end_step": checkpoint_steps(spec.run_dir),
               "wall_s": round(wall, 3), "peak_rss_mib": peak_rss_mib(usage),
               "returncode": proc.returncode, "threads": threads,
               "load_average": {"start": load_before, "end": load_average()}}
    stats_path = spec.run_dir / "train.json"
    stats = read_json(stats_path) if start_step > 0 else None
    segments = list(stats.get("segments", [])) if isinstance(stats, dict) else []
    segments.append(segment)
    atomic_write_text(stats_path, json.dumps({"command": cmd, "segments": segments}, indent=2) + "\n")
    if stopped:
        raise KeyboardInterrupt
    return segment, tail


def evaluate_run(spec: RunSpec, eval_seed: int) -> dict[str, Any]:
    """Score the final checkpoint of ``spec`` and gather its numbers into one record."""
    from ..evaluation import score
    from ..inference import load_run
    from ..plugins import get_registry
    from ..trainer import resolve_device

    device = resolve_device(spec.cfg.device)
    trained = load_run(spec.run_dir, device=str(device))
    if trained.step != spec.steps and spec.cfg.train.time_limit_s is None:
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
    stats = read_json(spec.run_dir / "train.json")
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
        speed, speed_source = trained.step / wall, "steps / wall time of the training process"
    net = trained.variant.generator_net()
    return {
        "config": spec.config, "name": spec.name, "seed": spec.seed, "run_dir": str(spec.run_dir),
        # the steps trained: fewer than planned when train.time_limit_s stopped the run
        "key": spec.key(eval_seed), "steps": trained.step, "planned_steps": spec.steps,
        "checkpoint": str(trained.checkpoint),
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


def say_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def warm_caches(specs: list[RunSpec], settings: BenchSettings, say: Callable[[str], None]) -> None:
    """Train the images' classifier feature extractor (one per seed) and cache the real features
    before any run is timed, so no run's wall time includes them."""
    from ..download import cache_dir_or_none
    from ..evaluation import real_samples
    from ..metrics.evaluate import evaluate
    from ..plugins import get_registry
    from ..trainer import resolve_device

    done: set[tuple] = set()
    for spec in specs:
        if spec.kind != "images" or checkpoint_steps(spec.run_dir) >= spec.steps:
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
            evaluate(real, real, source.info(), spec.metrics, real_stats_cache=cache_dir_or_none("stats"), seed=s,
                     device=str(resolve_device(spec.cfg.device)), data_source=source)
            done.add(key + (s,))


def run_one(spec: RunSpec, settings: BenchSettings, say: Callable[[str], None], prefix: str) -> dict[str, Any]:
    """Bring one run to a stored result: skip, score only, or train (resuming) then score; under
    the run folder's lock, so two benches never work on one run."""
    with run_lock(spec.run_dir, say, f"{prefix} {spec.label}") as fds:
        return _run_one_locked(spec, settings, say, prefix, fds)


def _run_one_locked(spec: RunSpec, settings: BenchSettings, say: Callable[[str], None], prefix: str,
                    fds: list[int]) -> dict[str, Any]:
    step, complete = run_progress(spec)
    if complete:
        cached = valid_result(spec, settings.eval_seed)
        if cached is not None:
            say(f"{prefix} {spec.label}: done already, skipped ({spec.run_dir / 'bench.json'})")
            return cached
    else:
        say(f"{prefix} {spec.label}: " + (f"resuming at step {step} of {spec.steps}" if step
                                           else f"training {spec.steps} steps") + f" in {spec.run_dir}")
        segment, tail = train_run(spec, step, settings.threads, fds)
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
    atomic_write_text(spec.run_dir / "bench.json", json.dumps(result, indent=2) + "\n")
    record_in_trackers(spec, settings, result)
    return result


def record_in_trackers(spec: RunSpec, settings: BenchSettings, result: dict[str, Any]) -> None:
    """The scores, tagged with the benchmark's name and the seed, in the run's experiment
    trackers (MLflow, W&B: the same tracker run the training logged to)."""
    from ..runlog import record_bench_run

    try:
        record_bench_run(spec.cfg, Path(settings.out).name, spec.seed, result["variant"],
                         result["metrics"], spec.run_dir, step=spec.steps, config=spec.name)
    except GanzooError as exc:  # only a logger with required: true raises
        raise RunFailed(f"{spec.config} seed {spec.seed}: recording in the trackers failed: {exc}") from None
