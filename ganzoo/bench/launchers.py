"""Where the cells of a bench run: local processes, submitit jobs (SLURM, or submitit's local
executor where there is no SLURM) or Ray tasks. Each runs :func:`ganzoo.bench.cell.run_cell`.

A launcher starts a cell, polls it for its answer (``{"result": ...}`` or ``{"error": ...}``)
and cancels what still runs when the bench is interrupted. submitit and Ray are optional
extras (``ganzoo[slurm]``, ``ganzoo[ray]``), imported only when chosen.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import GanzooError
from ..fileio import atomic_write_text
from .lock import die_with_parent

LAUNCHERS = ("serial", "local", "submitit", "ray")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def divided_threads(threads: int | None, jobs: int, total: int) -> int:
    """Threads per cell when cells share this machine: ``--threads`` if given, else the cores
    divided among the cells that run at once (2 cells on 2 cores: 1 thread each, so they do not
    contend, which slows both several-fold)."""
    return threads or max(1, _cores() // max(1, min(jobs, total)))


def _error(spec: Any, what: str) -> dict[str, str]:
    return {"error": f"{spec.config} seed {spec.seed}: {what}"}


class LocalLauncher:
    """Up to ``--jobs`` cells at once (default: one per core), each a ``python -m
    ganzoo.bench.cell`` process with the cores divided among them."""

    poll_s = 0.2

    def __init__(self, settings: Any, total: int) -> None:
        self.jobs = settings.jobs or _cores()
        self.threads = divided_threads(settings.threads, self.jobs, total)

    def start(self, spec: Any, payload: dict[str, Any]) -> tuple[Any, Path]:
        spec.run_dir.mkdir(parents=True, exist_ok=True)
        task, outcome = spec.run_dir / ".cell_task.json", spec.run_dir / ".cell_outcome.json"
        atomic_write_text(task, json.dumps(payload) + "\n")
        outcome.unlink(missing_ok=True)
        env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS=str(self.threads),
                   MKL_NUM_THREADS=str(self.threads))
        proc = subprocess.Popen([sys.executable, "-m", "ganzoo.bench.cell", str(task), str(outcome)], env=env,
                                stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=die_with_parent())
        return proc, outcome

    def describe(self, handle: tuple[Any, Path]) -> str:
        return f"local process {handle[0].pid}, {self.threads} thread{'s' if self.threads > 1 else ''}"

    def poll(self, spec: Any, handle: tuple[Any, Path]) -> dict[str, Any] | None:
        proc, outcome = handle
        if proc.poll() is None:
            return None
        try:
            return json.loads(outcome.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return _error(spec, f"the cell process exited with code {proc.returncode} without a result; "
                                f"see {spec.run_dir / 'bench.log'}")

    def cancel(self, handles: list[tuple[Any, Path]]) -> None:
        """Ctrl-C to each cell (its training saves a checkpoint and stops); killed after 2 minutes
        or at a second Ctrl-C (the training process then gets SIGTERM and still checkpoints)."""
        procs = [proc for proc, _ in handles if proc.poll() is None]
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        try:
            deadline = time.monotonic() + 120
            for proc in procs:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except (KeyboardInterrupt, subprocess.TimeoutExpired):
            for proc in procs:
                proc.kill()

    def close(self) -> None:
        pass


def parse_time(text: str) -> float:
    """``--time``: minutes (``90``), ``HH:MM:SS``, ``MM:SS`` or ``D-HH:MM:SS`` as SLURM reads them."""
    try:
        days, _, clock = text.strip().rpartition("-")
        parts = [float(p) for p in clock.split(":")]
        if len(parts) > 3:
            raise ValueError
        if days:  # D-H, D-H:M, D-H:M:S
            parts += [0.0] * (3 - len(parts))
            minutes = float(days) * 24 * 60 + parts[0] * 60 + parts[1] + parts[2] / 60
        else:  # M, M:S, H:M:S
            parts = [0.0] * (3 - len(parts)) + parts if len(parts) > 1 else [0.0, parts[0], 0.0]
            minutes = parts[0] * 60 + parts[1] + parts[2] / 60
    except ValueError:
        raise GanzooError(f"--time '{text}' is not minutes or [D-]HH:MM[:SS] (e.g. --time 2:00:00)") from None
    if minutes <= 0:
        raise GanzooError(f"--time '{text}' must be more than 0 minutes")
    return minutes


class SubmititLauncher:
    """Each cell a submitit job: on SLURM where ``sbatch`` is found (``--slurm-partition``,
    ``--gpus-per-job``, ``--cpus-per-job``, ``--mem-gb``, ``--time``, ``--slurm-option KEY=VALUE``
    passed on), else submitit's local executor (processes on this machine)."""

    poll_s = 1.0

    def __init__(self, settings: Any, total: int) -> None:
        try:
            import submitit
        except ImportError:
            raise GanzooError("--launcher submitit needs submitit: pip install 'ganzoo[slurm]'") from None
        opts = settings.launch
        self.executor = submitit.AutoExecutor(folder=Path(settings.out) / "submitit",
                                              cluster=opts.get("cluster"))
        self.local = self.executor.cluster != "slurm"
        self.jobs = settings.jobs or (_cores() if self.local else total)
        cpus = opts.get("cpus_per_job")
        self.threads = divided_threads(settings.threads, self.jobs, total) if self.local else (settings.threads or cpus)
        extra = dict(opts.get("slurm_options") or {})
        params = {"name": "ganzoo-bench", "timeout_min": int(round(parse_time(str(opts.get("time") or "60")))),
                  "cpus_per_task": cpus or self.threads, "gpus_per_node": opts.get("gpus_per_job"),
                  "mem_gb": opts.get("mem_gb"), "slurm_partition": opts.get("slurm_partition"),
                  "slurm_additional_parameters": extra or None}
        try:
            self.executor.update_parameters(**{k: v for k, v in params.items() if v is not None})
        except (NameError, ValueError, TypeError, AssertionError) as exc:  # submitit's own checks
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise GanzooError(f"--launcher submitit refused the job options: {first}") from None

    def start(self, spec: Any, payload: dict[str, Any]) -> Any:
        from .cell import run_cell

        return self.executor.submit(run_cell, payload)

    def describe(self, job: Any) -> str:
        return f"{'local ' if self.local else ''}submitit job {job.job_id}"

    def poll(self, spec: Any, job: Any) -> dict[str, Any] | None:
        if not job.done():
            return None
        try:
            return job.result()
        except Exception as exc:  # the job crashed, was cancelled or timed out: the cell failed
            last = str(exc).strip().splitlines()[-1:] or ["(no message)"]
            return _error(spec, f"submitit job {job.job_id} failed: {last[0][:300]}; its log: {job.paths.stderr}")

    def cancel(self, jobs: list[Any]) -> None:
        for job in jobs:
            job.cancel(check=False)

    def close(self) -> None:
        pass


class RayLauncher:
    """Each cell a Ray task: on the cluster at ``--ray-address`` (``auto``: the one this machine
    belongs to), else on a Ray instance started here for the bench and shut down after it."""

    poll_s = 0.5

    def __init__(self, settings: Any, total: int) -> None:
        try:
            import ray
        except ImportError:
            raise GanzooError("--launcher ray needs Ray: pip install 'ganzoo[ray]'") from None
        self.ray, opts = ray, settings.launch
        address = opts.get("ray_address")
        self.owned = not ray.is_initialized()
        if self.owned:
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True}
            try:
                ray.init(address=address, **kwargs) if address else ray.init(num_cpus=_cores(), **kwargs)
            except Exception as exc:  # no cluster at that address, no shared memory, ...
                where = f"the Ray cluster at {address}" if address else "a local Ray instance"
                raise GanzooError(f"--launcher ray: cannot start or reach {where}: {exc}".splitlines()[0]) from None
        self.jobs = settings.jobs or (_cores() if not address else total)
        cpus = opts.get("cpus_per_job")
        self.threads = settings.threads or cpus or (1 if address else divided_threads(None, self.jobs, total))
        from .cell import run_cell

        self.task = ray.remote(run_cell).options(num_cpus=cpus or self.threads,
                                                 num_gpus=opts.get("gpus_per_job") or 0, max_retries=0)

    def start(self, spec: Any, payload: dict[str, Any]) -> Any:
        return self.task.remote(payload)

    def describe(self, ref: Any) -> str:
        return f"Ray task {ref.task_id().hex()[:12]}"

    def poll(self, spec: Any, ref: Any) -> dict[str, Any] | None:
        ready, _ = self.ray.wait([ref], timeout=0)
        if not ready:
            return None
        try:
            return self.ray.get(ref)
        except Exception as exc:  # the task or its worker died: the cell failed
            last = str(exc).strip().splitlines()[-1:] or ["(no message)"]
            return _error(spec, f"Ray task failed: {last[0][:300]}")

    def cancel(self, refs: list[Any]) -> None:
        """KeyboardInterrupt in each task (its training saves a checkpoint), waited for a minute."""
        for ref in refs:
            self.ray.cancel(ref)
        if refs:
            self.ray.wait(refs, num_returns=len(refs), timeout=60)

    def close(self) -> None:
        if self.owned:
            self.ray.shutdown()


def make_launcher(settings: Any, total: int) -> Any:
    kinds = {"local": LocalLauncher, "submitit": SubmititLauncher, "ray": RayLauncher}
    return kinds[settings.launcher](settings, total)
