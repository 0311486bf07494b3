"""``ganzoo bench CONFIG... --seeds N [KEY=VALUE ...]``: compare configs over seeds in one table."""

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
                    "TensorBoard HParams in OUT/tb_hparams. KEY=VALUE overrides apply to every config.")
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
    p.set_defaults(func=run)


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
    return shlex.join(words + overrides)


def run(args: argparse.Namespace) -> int:
    from ..bench import BenchSettings, main_table, run_bench
    from ..errors import GanzooError

    configs, overrides = split_items(args.items)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    settings = BenchSettings(configs=configs, seeds=args.seeds, out=args.out, metrics=metrics, n=args.num,
                             eval_points=args.eval_points, eval_seed=args.eval_seed, threads=args.threads,
                             overrides=overrides, command=command_line(args, configs, overrides))
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
