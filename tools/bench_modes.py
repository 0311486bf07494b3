"""Mode-collapse benchmark on the 2-D Gaussian mixtures (VEEGAN / PacGAN protocol).

Trains each config once per seed (``seed=S`` override; the data set itself stays fixed by its
``data.seed``), draws 2500 samples from the trained generator (eval mode, the same sampling path
as ``ganzoo sample``) and scores them with :func:`ganzoo.metrics.modes2d.mode_metrics`: modes
captured, % high-quality samples (within 3 std of the nearest centre) and reverse KL of the mode
histogram vs uniform. Prints (and optionally writes) a Markdown table of mean +- standard error
per config, with the exact command and the setup (steps, batch, seconds per run).

    python tools/bench_modes.py zoo_configs/grid2d_vanilla.yaml zoo_configs/ring2d_vanilla.yaml \
        --seeds 5 --jobs 2 --markdown /tmp/bench.md

``--from-jsonl FILES`` re-tabulates recorded runs without training.
``--set KEY=VALUE`` applies a config override to every config (e.g. ``--set train.steps=2000``).
``--jobs N`` trains N runs at once, one thread each (``--threads`` per job); runs are written
under ``--out-dir`` (default: a temporary folder, deleted at the end unless ``--keep``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

METRICS = ("modes", "high_quality", "reverse_kl")


def run_one(config: str, seed: int, overrides: list[str], out_dir: str, samples: int,
            threads: int) -> dict[str, Any]:
    """Train ``config`` with ``seed`` and score ``samples`` generator samples; one result row."""
    import warnings

    import torch

    warnings.simplefilter("ignore")
    torch.set_num_threads(threads)
    from ganzoo.config import load_config
    from ganzoo.errors import GanzooError
    from ganzoo.inference import load_run
    from ganzoo.metrics.modes2d import mode_metrics
    from ganzoo.trainer import train

    name = f"{Path(config).stem}-s{seed}"
    cfg = load_config(config, overrides=[*overrides, f"seed={seed}", f"run.out_dir={out_dir}",
                                         f"run.name={name}", "log.progress=false",
                                         "log.tensorboard=false"])
    t0 = time.perf_counter()
    result = train(cfg)
    seconds = time.perf_counter() - t0
    trained = load_run(checkpoint=result.checkpoint)
    extras = trained.info.extras or {}
    if trained.info.kind != "points" or "centers" not in extras:
        raise GanzooError(f"{config}: bench_modes needs a 2-D mixture data set (ring or grid), "
                          f"got '{cfg.data.name}'")
    x = trained.variant.sample(samples, generator=torch.Generator().manual_seed(10_000 + seed))
    scores = mode_metrics(x, extras["centers"], extras["std"])
    return {"config": config, "seed": seed, "steps": cfg.train.steps, "batch": cfg.train.batch_size,
            "seconds": seconds, "run_dir": str(result.run_dir), "setup": describe(config, overrides),
            **scores}


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error (sample std / sqrt(n)); SE is 0 for a single value."""
    vals = [v for v in values if not math.isnan(v)]
    if not vals:
        return math.nan, math.nan
    m = sum(vals) / len(vals)
    if len(vals) < 2:
        return m, 0.0
    var = sum((v - m) ** 2 for v in vals) / (len(vals) - 1)
    return m, math.sqrt(var / len(vals))


def describe(config: str, overrides: list[str]) -> str:
    """A one-line setup for the table: variant, nets, optimiser, steps, batch."""
    import warnings

    warnings.simplefilter("ignore")
    from ganzoo.config import load_config

    cfg = load_config(config, overrides=overrides)
    v = cfg.variant.model_dump()
    keys = ("z_dim", "g_hidden", "g_batchnorm", "d_hidden", "d_act", "pack", "loss", "lr_g", "lr_d",
            "betas", "lr_decay_start", "d_steps", "gp_lambda", "clip")
    parts = [f"{k}={v[k]}" for k in keys if k in v and v[k] is not None]
    ema = f", ema={cfg.ema.decay}" if cfg.ema else ""
    return (f"{cfg.variant.name} on {cfg.data.name}: {', '.join(parts)}; "
            f"{cfg.train.steps} steps x batch {cfg.train.batch_size}{ema}")


def table(rows: list[dict[str, Any]], configs: list[str], overrides: list[str]) -> str:
    lines = ["| config | seeds | modes | % high quality | reverse KL | s / run | setup |",
             "|---|---|---|---|---|---|---|"]
    for config in configs:
        mine = [r for r in rows if r["config"] == config]
        if not mine:
            continue
        k = int(mine[0]["num_modes"])
        cells = []
        for metric in METRICS:
            m, se = mean_se([r[metric] for r in mine])
            cells.append(f"{m:.2f} +- {se:.2f}")
        sec = sum(r["seconds"] for r in mine) / len(mine)
        lines.append(f"| {Path(config).stem} | {len(mine)} | {cells[0]} (of {k}) | {cells[1]} | "
                     f"{cells[2]} | {sec:.0f} | {mine[0].get('setup') or describe(config, overrides)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("configs", nargs="+", help="2-D run configs (ring or grid data)")
    p.add_argument("--seeds", type=int, default=5, help="number of seeds per config")
    p.add_argument("--seed-start", type=int, default=0)
    p.add_argument("--samples", type=int, default=2500)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override applied to every config (repeatable)")
    p.add_argument("--jobs", type=int, default=1, help="runs trained at once")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--out-dir", default=None, help="where runs go (default: a temporary folder)")
    p.add_argument("--keep", action="store_true", help="keep the run folders")
    p.add_argument("--markdown", default=None, help="also write the table (and command) here")
    p.add_argument("--jsonl", default=None, help="append one JSON line per run here")
    p.add_argument("--from-jsonl", nargs="+", default=None, metavar="FILE",
                   help="train nothing: tabulate the runs recorded in these --jsonl files")
    args = p.parse_args(argv)

    if args.from_jsonl:  # the configs given are the rows, in order
        rows = [json.loads(line) for f in args.from_jsonl
                for line in Path(f).read_text(encoding="utf-8").splitlines() if line.strip()]
        text = table(rows, args.configs, args.overrides)
        print(text)
        if args.markdown:
            Path(args.markdown).write_text(text + "\n", encoding="utf-8")
        return 0

    out_dir = args.out_dir or tempfile.mkdtemp(prefix="bench_modes-")
    os.makedirs(out_dir, exist_ok=True)
    jobs = [(c, s) for c in args.configs for s in range(args.seed_start, args.seed_start + args.seeds)]
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()

    def record(row: dict[str, Any]) -> None:
        rows.append(row)
        print(f"{Path(row['config']).stem} seed {row['seed']}: modes {row['modes']:.0f}/"
              f"{row['num_modes']:.0f}, high quality {row['high_quality']:.1f}%, reverse KL "
              f"{row['reverse_kl']:.3f} ({row['seconds']:.0f} s)", file=sys.stderr, flush=True)
        if args.jsonl:
            with open(args.jsonl, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")

    try:
        if args.jobs <= 1:
            for c, s in jobs:
                record(run_one(c, s, args.overrides, out_dir, args.samples, args.threads))
        else:
            with ProcessPoolExecutor(max_workers=args.jobs) as pool:
                futures = [pool.submit(run_one, c, s, args.overrides, out_dir, args.samples,
                                       args.threads) for c, s in jobs]
                for f in futures:
                    record(f.result())
    finally:
        if args.out_dir is None and not args.keep:
            shutil.rmtree(out_dir, ignore_errors=True)

    command = "python tools/bench_modes.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    text = (f"{table(rows, args.configs, args.overrides)}\n\nCommand: `{command}` "
            f"(total {time.perf_counter() - t0:.0f} s wall)\n")
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
