"""``ganzoo eval RUN_DIR [--metrics fid,kid,pr] [-n 10000]``: score a checkpoint."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score a trained run against its data set",
                       description="Score a checkpoint against its data set. Every score is saved "
                                   "with its protocol to RUN_DIR/eval.jsonl.")
    p.add_argument("run_dir")
    p.add_argument("--metrics", default=None,
                   help="comma-separated metric names (default: fid,kid,pr for images, modes for "
                        "2-D points); see 'ganzoo list metrics'")
    p.add_argument("-n", "--num", type=int, default=10000, help="generated and real samples (default 10000)")
    p.add_argument("--checkpoint", default=None, help="a specific checkpoint (default: latest good)")
    p.add_argument("--split", default="train", help="real data split (default train)")
    p.add_argument("--extractor", default=None, help="feature extractor (default: inception if its "
                                                     "weights are here, else the data set's classifier)")
    p.add_argument("--weights", default=None, help="Inception weights file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", action="store_true", help="print the full records as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import GanzooError
    from ..evaluation import score
    from ..inference import load_run
    from ..plugins import get_registry

    if args.num <= 0:
        raise GanzooError(f"-n must be positive, got {args.num}")
    trained = load_run(args.run_dir, args.checkpoint, args.device)
    info = trained.info
    names = ([m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics
             else (["modes"] if info.kind == "points" else ["fid", "kid", "pr"]))
    source = get_registry().get("datasets", trained.config.data.name)(trained.config.data)
    records = score(trained.variant, source, info, names, n=args.num, seed=args.seed, split=args.split,
                    extractor=args.extractor, weights=args.weights, device=args.device, progress=True)
    out = Path(args.run_dir or trained.checkpoint.parent.parent) / "eval.jsonl"
    with open(out, "a", encoding="utf-8") as f:
        for r in records:
            r.update(checkpoint=str(trained.checkpoint), step=trained.step)
            f.write(json.dumps(r) + "\n")
    if args.json:
        print(json.dumps(records, indent=2))
    else:
        for r in records:
            extras = ", ".join(f"{k} {v:.4g}" for k, v in r["values"].items() if k != r["metric"])
            print(f"{r['metric']:<22} {r['value']:.6g}" + (f"  ({extras})" if extras else "")
                  + f"  [{r['protocol'].get('extractor') or 'no extractor'}, "
                    f"n={r['protocol'].get('n_fake')}]")
    print(f"scores with their protocol appended to {out}", file=sys.stderr)
    return 0
