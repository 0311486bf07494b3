"""``ganzoo eval RUN_DIR [--metrics fid,kid,pr] [-n 10000]``: score a checkpoint."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ._args import MAX_EVAL_SAMPLES, device, int_range

    p = sub.add_parser("eval", help="score a trained run against its data set",
                       description="Score a checkpoint against its data set. Every score is saved "
                                   "with its protocol to RUN_DIR/eval.jsonl.")
    p.add_argument("run_dir")
    p.add_argument("--metrics", default=None,
                   help="comma-separated metric names (default: fid,kid,pr for images, modes for "
                        "2-D points); see 'ganzoo list metrics'")
    p.add_argument("-n", "--num", type=int_range(2, MAX_EVAL_SAMPLES), default=10000,
                   help=f"generated and real samples, 2 to {MAX_EVAL_SAMPLES} (default 10000)")
    p.add_argument("--checkpoint", default=None, help="a specific checkpoint (default: latest good)")
    p.add_argument("--split", default="train", help="real data split (default train)")
    p.add_argument("--extractor", default=None, help="feature extractor (default: inception if its "
                                                     "weights are here, else the data set's classifier)")
    p.add_argument("--weights", default=None, help="Inception weights file")
    p.add_argument("--seed", type=int_range(0, 2**32 - 1), default=0)
    p.add_argument("--device", type=device, default="cpu", help="cpu (default), auto, cuda, cuda:N, mps")
    p.add_argument("--json", action="store_true", help="print the full records as JSON")
    p.set_defaults(func=run)


def metric_names(text: str | None, kind: str) -> list[str]:
    """The metrics to score: ``--metrics`` split on commas, or the data kind's defaults."""
    from ..errors import GanzooError

    if text is None:
        return ["modes"] if kind == "points" else ["fid", "kid", "pr"]
    names = [m.strip() for m in text.split(",") if m.strip()]
    if not names:
        raise GanzooError(f"--metrics {text!r} names no metric; give comma-separated names such as "
                          f"fid,kid (see 'ganzoo list metrics')")
    return names


def _print_scores(records: list[dict], as_json: bool) -> None:
    if as_json:
        print(json.dumps(records, indent=2))
        return
    for r in records:
        extras = ", ".join(f"{k} {v:.4g}" for k, v in r["values"].items() if k != r["metric"])
        print(f"{r['metric']:<22} {r['value']:.6g}" + (f"  ({extras})" if extras else "")
              + f"  [{r['protocol'].get('extractor') or 'no extractor'}, "
                f"n={r['protocol'].get('n_fake')}]")


def _append_records(out, records: list[dict]) -> None:
    """Append to the JSONL file atomically: the old lines and the new ones, or the old file as it
    was if the write fails (a full disk must not truncate earlier scores)."""
    from ..errors import GanzooError
    from ..fileio import atomic_write_text

    try:
        old = out.read_text(encoding="utf-8") if out.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise GanzooError(f"cannot read {out} to append to it: {getattr(exc, 'strerror', None) or exc}; "
                          f"the scores are printed above") from None
    if old and not old.endswith("\n"):
        old += "\n"
    atomic_write_text(out, old + "".join(json.dumps(r) + "\n" for r in records))


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..evaluation import score
    from ..inference import load_run
    from ..plugins import get_registry
    from ..safety import memory_guard
    from ._args import check_output_file

    metric_names(args.metrics, "")  # a bad --metrics fails before anything loads
    check_output_file(Path(args.run_dir) / "eval.jsonl", "the scores file")
    trained = load_run(args.run_dir, args.checkpoint, args.device)
    info = trained.info
    names = metric_names(args.metrics, info.kind)
    source = get_registry().get("datasets", trained.config.data.name)(trained.config.data)
    with memory_guard(f"-n {args.num} samples", "use a smaller -n"):
        records = score(trained.variant, source, info, names, n=args.num, seed=args.seed,
                        split=args.split, extractor=args.extractor, weights=args.weights,
                        device=args.device, progress=True)
    for r in records:
        r.update(checkpoint=str(trained.checkpoint), step=trained.step)
    _print_scores(records, args.json)  # before the file: a failed write must not lose them
    sys.stdout.flush()
    out = Path(args.run_dir) / "eval.jsonl"
    _append_records(out, records)
    print(f"scores with their protocol appended to {out}", file=sys.stderr)
    return 0
