"""``ganzoo resume RUN_DIR [KEY=VALUE ...]``: continue a run from its latest good checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("resume", help="continue a run from its latest good checkpoint",
                       description="Continue a run where it stopped. Overrides apply to the saved "
                                   "config (e.g. train.steps=4000 to train longer).")
    p.add_argument("run_dir", help="a run folder made by 'ganzoo run'")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..errors import GanzooError
    from ..trainer import train
    from .run import report

    from ..rundir import is_export_folder, is_run_folder

    run_dir = Path(args.run_dir)
    cfg_path = run_dir / "config.yaml"
    if not cfg_path.is_file():
        raise GanzooError(f"{run_dir} is not a ganzoo run folder (no config.yaml); "
                          f"give the folder 'ganzoo run' printed")
    if is_export_folder(run_dir) or not is_run_folder(run_dir):
        what = "an exported folder" if is_export_folder(run_dir) else "a config.yaml without checkpoints/"
        raise GanzooError(f"{run_dir} is not a ganzoo run folder ({what}); give the folder "
                          f"'ganzoo run' printed")
    cfg = load_config(cfg_path, args.overrides)
    return report(train(cfg, run_dir=run_dir, resume=True))
