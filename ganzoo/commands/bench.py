"""``ganzoo bench CONFIG... --seeds N [--grid KEY=V1,V2] [--launcher ...] [KEY=VALUE ...]``: compare configs
(times override values) over seeds in one table, one cell after another or in parallel."""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path

_OVERRIDE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*=")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="train configs over seeds and compare them (table, plots, HParams)",
        description="Train each config for each seed (each in its own process; finished runs are not "
                    "re-run, interrupted ones resume), score every final checkpoint with the same "
                    "protocol, and write OUT/results.md|csv|json (mean ± standard error over seeds, "
                    "wall time, steps/s, peak memory, parameters), OUT/plots/<metric>.png and "
                    "TensorBoard HParams in OUT/tb_hparams. KEY=VALUE overrides apply to every config; "
                    "--grid KEY=V1,V2 compares values; --launcher runs the cells in parallel here, on SLURM "
                    "or on Ray (docs/sweeps.md).")
    p.add_argument("items", nargs="*", metavar="CONFIG|KEY=VALUE",
                   help="run configs (zoo_configs/*.yaml), then overrides such as train.steps=500")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per config (default 3)")
    p.add_argument("--out", default="runs/bench", help="output folder (default runs/bench)")
    p.add_argument("--metrics", default=None,
                   help="comma-separated metrics (default: modes for 2-D points, fid,kid for images)")
    p.add_argument("-n", "--num", type=int, default=None,
                   help="generated and real samples per evaluation (default 2500 points, 1000 images)")
    p.add_argument("--eval-points", type=int, default=5,
                   help="about this many evaluations during training, for the curves (default 5)")
    p.add_argument("--eval-seed", type=int, default=0,
                   help="sampling seed of the final evaluation, the same for every run (default 0)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads per training process (sets OMP_NUM_THREADS; default: torch's own); "
                        "1 is often fastest and steadiest on a busy machine")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="also compare these values of KEY (repeatable: every combination); each combination "
                        "is a row of the table, in OUT/<config>,KEY=VALUE,.../seed<k>")
    _add_launch_options(p)
    p.set_defaults(func=run)


def _add_launch_options(p: argparse.ArgumentParser) -> None:
    """Where the cells (config x grid point x seed) run; none of this changes their numbers."""
    g = p.add_argument_group("sweeps", "run the cells in parallel: local processes, SLURM (submitit) or Ray "
                                       "(docs/sweeps.md)")
    g.add_argument("--launcher", choices=["serial", "local", "submitit", "ray"], default="serial",
                   help="serial: one cell after another (default); local: --jobs processes here, the cores "
                        "divided among them; submitit: a SLURM job per cell (submitit's local executor "
                        "where sbatch is missing; pip install 'ganzoo[slurm]'); ray: a Ray task per cell "
                        "(pip install 'ganzoo[ray]')")
    g.add_argument("--dry-run", action="store_true",
                   help="list the cells and what each needs (train, resume, score, skip); run nothing")
    g.add_argument("--jobs", type=int, default=None,
                   help="cells at once (default: one per core here; every cell on SLURM or a Ray cluster)")
    g.add_argument("--slurm-partition", default=None, help="submitit: the SLURM partition")
    g.add_argument("--time", default=None,
                   help="submitit: each job's time limit, minutes or [D-]HH:MM[:SS] (default 60 minutes)")
    g.add_argument("--gpus-per-job", type=int, default=None, help="submitit, ray: GPUs per cell")
    g.add_argument("--cpus-per-job", type=int, default=None, help="submitit, ray: CPUs per cell (its threads)")
    g.add_argument("--mem-gb", type=int, default=None, help="submitit: memory per job in GB")
    g.add_argument("--slurm-option", action="append", default=[], metavar="KEY=VALUE",
                   help="submitit: any other sbatch option, e.g. --slurm-option account=myproject (repeatable)")
    g.add_argument("--ray-address", default=None,
                   help="ray: the cluster to use (auto: the one this machine belongs to; default: start "
                        "one here for the bench)")


#: launcher options and the launchers they apply to
_APPLIES = {"jobs": ("local", "submitit", "ray"), "slurm_partition": ("submitit",), "time": ("submitit",),
            "gpus_per_job": ("submitit", "ray"), "cpus_per_job": ("submitit", "ray"), "mem_gb": ("submitit",),
            "slurm_option": ("submitit",), "ray_address": ("ray",)}


def _check_launcher_of_options(args: argparse.Namespace) -> None:
    """An option of another launcher is a mistake (``--jobs 4`` without ``--launcher local``)."""
    from ..errors import GanzooError

    for name, launchers in _APPLIES.items():
        if getattr(args, name) not in (None, []) and args.launcher not in launchers:
            raise GanzooError(f"--{name.replace('_', '-')} applies to --launcher {' or '.join(launchers)}, "
                              f"not {args.launcher}; add e.g. --launcher {launchers[0]}")


def launch_options(args: argparse.Namespace) -> dict:
    """The launcher's own options, checked (one line naming the bad one)."""
    from ..errors import GanzooError

    slurm = {}
    for item in args.slurm_option:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise GanzooError(f"--slurm-option '{item}' is not KEY=VALUE (e.g. --slurm-option account=myproject)")
        slurm[key.strip().lstrip("-").replace("-", "_")] = value
    for name in ("gpus_per_job", "cpus_per_job", "mem_gb"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "gpus_per_job" else 1):
            raise GanzooError(f"--{name.replace('_', '-')} must be at least "
                              f"{0 if name == 'gpus_per_job' else 1}, got {value}")
    if args.time is not None:
        from ..bench.launchers import parse_time

        parse_time(args.time)
    _check_launcher_of_options(args)
    opts = {"slurm_partition": args.slurm_partition, "time": args.time, "gpus_per_job": args.gpus_per_job,
            "cpus_per_job": args.cpus_per_job, "mem_gb": args.mem_gb, "slurm_options": slurm,
            "ray_address": args.ray_address}
    return {k: v for k, v in opts.items() if v not in (None, {})}


def split_items(items: list[str]) -> tuple[list[str], list[str]]:
    """Configs are files; KEY=VALUE words that are not existing files are overrides."""
    configs, overrides = [], []
    for item in items:
        if _OVERRIDE.match(item) and not Path(item).is_file():
            overrides.append(item)
        else:
            configs.append(item)
    return configs, overrides


def command_line(args: argparse.Namespace, configs: list[str], overrides: list[str]) -> str:
    """The command with every option that changes the result, to put above the table."""
    words = ["ganzoo", "bench", *configs, "--seeds", str(args.seeds), "--out", args.out]
    if args.metrics:
        words += ["--metrics", args.metrics]
    if args.num is not None:
        words += ["-n", str(args.num)]
    if args.eval_points != 5:
        words += ["--eval-points", str(args.eval_points)]
    if args.eval_seed != 0:
        words += ["--eval-seed", str(args.eval_seed)]
    if args.threads is not None:
        words += ["--threads", str(args.threads)]
    for item in args.grid:
        words += ["--grid", item]
    return shlex.join(words + overrides)


def run(args: argparse.Namespace) -> int:
    from ..bench import BenchSettings, main_table, run_bench
    from ..errors import GanzooError

    configs, overrides = split_items(args.items)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    settings = BenchSettings(configs=configs, seeds=args.seeds, out=args.out, metrics=metrics, n=args.num,
                             eval_points=args.eval_points, eval_seed=args.eval_seed, threads=args.threads,
                             overrides=overrides, command=command_line(args, configs, overrides),
                             grid=list(args.grid), launcher=args.launcher, jobs=args.jobs,
                             launch=launch_options(args))
    if args.dry_run:
        from ..bench import plan
        from ..bench.schedule import plan_lines

        print("\n".join(plan_lines(plan(settings), settings)))
        return 0
    result = run_bench(settings)
    print(main_table(result.summary))
    out = Path(args.out)
    print(f"table:        {out / 'results.md'} (also .csv, .json)\nplots:        {out / 'plots'}\n"
          f"tensorboard:  tensorboard --logdir {out / 'tb_hparams'}", file=sys.stderr)
    if result.failures:
        first = result.failures[0]
        raise GanzooError(f"{len(result.failures)} of {len(result.failures) + len(result.results)} runs "
                          f"failed (first: {first['error']}); the others are in {out / 'results.md'}")
    return 0
