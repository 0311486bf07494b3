"""``ganzoo run CONFIG [KEY=VALUE ...]``: train a run from a YAML config."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="train from a YAML config",
                       description="Train from a YAML config; KEY=VALUE overrides any setting "
                                   "(values are YAML), e.g. train.steps=200 variant.lr_g=1e-4.")
    p.add_argument("config", help="run config (zoo_configs/*.yaml)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--resume", choices=["auto", "never"], default="never",
                   help="auto: if the run folder (out_dir/name) already has a good checkpoint, "
                        "continue from it (corrupt ones are skipped with a warning); "
                        "never (default): always start a new run folder")
    p.set_defaults(func=run)


def report(result) -> int:
    """Tell the user where everything is (after SIGTERM one line: a scheduler's log is short)."""
    if result.status == "terminated":
        print(f"ganzoo: terminated (SIGTERM) at step {result.step}; checkpoint {result.checkpoint} "
              f"written; continue with: ganzoo resume {result.run_dir}", file=sys.stderr)
        return 143
    lines = [f"run folder:   {result.run_dir}"]
    if result.tb_dir:
        lines.append(f"tensorboard:  tensorboard --logdir {result.tb_dir}")
    if result.jsonl:
        lines.append(f"log:          {result.jsonl}")
    if result.grid:
        lines.append(f"samples:      {result.grid}")
    if result.checkpoint:
        lines.append(f"checkpoint:   {result.checkpoint}")
    heads = {"finished": f"finished {result.step} steps",
             "time_limit": f"stopped at the time limit (train.time_limit_s) after {result.step} steps; "
                           f"continue with: ganzoo resume {result.run_dir}",
             "interrupted": f"interrupted at step {result.step}; continue with: ganzoo resume {result.run_dir}"}
    print(heads[result.status] + "\n" + "\n".join("  " + line for line in lines), file=sys.stderr)
    return 130 if result.status == "interrupted" else 0


def check_run_folder(cfg) -> None:
    """A file where the run folder would go cannot become one; say so before anything starts."""
    from pathlib import Path

    from ..errors import ConfigError

    base = Path(cfg.run.out_dir) / cfg.run.name
    if base.exists() and not base.is_dir():
        raise ConfigError(f"run.name: {base} is a file, not a run folder; choose another run.name "
                          f"or run.out_dir", file=cfg.source, key="run.name")


def run(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..trainer import train

    from pathlib import Path

    from ..checkpoint import latest_good_checkpoint

    cfg = load_config(args.config, args.overrides)
    check_run_folder(cfg)
    run_dir = Path(cfg.run.out_dir) / cfg.run.name
    if args.resume == "auto" and run_dir.is_dir():
        if latest_good_checkpoint(run_dir) is not None:
            print(f"resuming {run_dir}", file=sys.stderr)
        return report(train(cfg, run_dir=run_dir, resume="auto"))
    return report(train(cfg))
