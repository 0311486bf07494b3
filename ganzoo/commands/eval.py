"""``ganzoo eval FOLDER [data.KEY=VALUE ...] [--metrics fid,kid,pr] [-n 10000] [-o FILE]``:
score a run's checkpoint, or the generator of a ``ganzoo export`` / ``ganzoo import`` folder."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ._args import MAX_EVAL_SAMPLES, add_force, device, int_range

    p = sub.add_parser("eval", help="score a trained run or an exported/imported model against data",
                       description="Score a run's checkpoint, or the generator of a 'ganzoo export' "
                                   "or 'ganzoo import' folder, against real data (the folder's "
                                   "config.yaml data: block; data.KEY=VALUE overrides it, e.g. "
                                   "data.root=PATH for an imported model, whose real data is not "
                                   "known). A run's scores are appended with their protocol to "
                                   "RUN_DIR/eval.jsonl; an exported folder is left as its manifest "
                                   "describes it: its scores are printed (and written by -o FILE).")
    p.add_argument("run_dir", metavar="FOLDER", help="a run folder, or an exported or imported folder")
    p.add_argument("overrides", nargs="*", metavar="data.KEY=VALUE",
                   help="real-data options over the folder's config.yaml (values are YAML)")
    p.add_argument("-o", "--out", default=None,
                   help="also write the score records to this JSONL file")
    add_force(p)
    p.add_argument("--metrics", default=None,
                   help="comma-separated metric names (default: fid,kid,pr for images, modes for "
                        "2-D points, psnr,ssim for image-to-image runs); see 'ganzoo list metrics'")
    p.add_argument("-n", "--num", type=int_range(2, MAX_EVAL_SAMPLES), default=10000,
                   help=f"generated and real samples, 2 to {MAX_EVAL_SAMPLES} (default 10000)")
    p.add_argument("--checkpoint", default=None, help="a specific checkpoint (default: latest good)")
    p.add_argument("--split", default=None,
                   help="real data split (default train; test for image-to-image runs)")
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
        if kind in ("paired", "multi_domain"):
            return ["psnr", "ssim"]
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
        base = r.get("baseline")  # image-to-image runs: the trivial baseline's score
        extras = ", ".join(f"{k} {v:.4g}" for k, v in r["values"].items()
                           if k != r["metric"] and not (base and k.startswith("baseline")))
        extras += f"; baseline ({base['name']}) {base['value']:.6g}" if base else ""
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


def _check_overrides(overrides: list[str]) -> None:
    """Only the real data can be changed: the model is what the folder holds."""
    from ..errors import GanzooError

    bad = [o for o in overrides if not o.startswith("data.") or "=" not in o]
    if bad:
        raise GanzooError(f"{bad[0]!r}: 'ganzoo eval' takes data.KEY=VALUE overrides only (the real "
                          f"data to score against), e.g. data.root=PATH")


def _data_source(trained, folder, overrides: list[str]):
    """The real data: the folder's ``data:`` block with the overrides; an imported model's
    block names no data, so it must be given."""
    from pathlib import Path

    from ..config import config_from_dict
    from ..errors import GanzooError
    from ..plugins import get_registry

    cfg = trained.config
    if overrides:
        cfg = config_from_dict(cfg.to_dict(), file=str(Path(folder) / "config.yaml"), overrides=overrides)
    data = cfg.data.model_dump()
    if str(trained.info.name).startswith("imported:") and "root" in data and data["root"] is None:
        layout = "one sub-folder of images per class" if trained.info.num_classes else "images"
        raise GanzooError(f"{folder}: an imported model's config.yaml names no real data; give a "
                          f"folder of {layout} to score against: ganzoo eval {folder} data.root=PATH")
    return get_registry().get("datasets", cfg.data.name)(cfg.data)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..evaluation import PAIRED_KINDS, score
    from ..inference import is_export, load_model
    from ..outputs import check_output, check_writable, write_output_bytes
    from ..safety import memory_guard

    metric_names(args.metrics, "")  # a bad --metrics fails before anything loads
    _check_overrides(args.overrides)
    exported = Path(args.run_dir).is_dir() and is_export(args.run_dir)
    if not exported:
        check_writable(Path(args.run_dir) / "eval.jsonl", "the scores file")
    if args.out is not None:
        check_output(args.out, "-o", force=args.force)
    trained = load_model(args.run_dir, args.checkpoint, args.device)
    info = trained.info
    names = metric_names(args.metrics, info.kind)
    split = args.split or ("test" if info.kind in PAIRED_KINDS else "train")
    source = _data_source(trained, args.run_dir, args.overrides)
    with memory_guard(f"-n {args.num} samples", "use a smaller -n"):
        records = score(trained.variant, source, info, names, n=args.num, seed=args.seed,
                        split=split, extractor=args.extractor, weights=args.weights,
                        device=args.device, progress=True)
    for r in records:
        r.update(checkpoint=str(trained.checkpoint), step=trained.step)
    _print_scores(records, args.json)  # before the file: a failed write must not lose them
    sys.stdout.flush()
    if not exported:
        out = Path(args.run_dir) / "eval.jsonl"
        _append_records(out, records)
        print(f"scores with their protocol appended to {out}", file=sys.stderr)
    if args.out is not None:
        text = "".join(json.dumps(r) + "\n" for r in records)
        print(f"scores with their protocol written to {write_output_bytes(args.out, text.encode(), '-o', force=args.force)}",
              file=sys.stderr)
    return 0
