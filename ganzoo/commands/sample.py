"""``ganzoo sample RUN_DIR -n 64 -o grid.png``: draw samples from a trained run."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="draw samples from a trained run into a PNG grid")
    p.add_argument("run_dir", help="a run folder (uses its latest good checkpoint)")
    p.add_argument("-n", "--num", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("-o", "--output", default=None, help="PNG path (default RUN_DIR/samples/sample.png)")
    p.add_argument("--checkpoint", default=None, help="a specific checkpoint file")
    p.add_argument("--class", dest="label", type=int, default=None,
                   help="conditional runs: sample only this class (default: one row per class)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--npz", default=None, help="also save the raw samples to this .npz file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np
    import torch

    from ..errors import GanzooError
    from ..images import render, save_png
    from ..inference import class_labels, load_run

    if args.num <= 0:
        raise GanzooError(f"-n must be positive, got {args.num}")
    trained = load_run(args.run_dir, args.checkpoint, args.device)
    info, variant = trained.info, trained.variant
    labels = class_labels(args.num, info.num_classes if getattr(variant, "conditional", False) else None,
                          args.label, variant._device())
    gen = torch.Generator().manual_seed(args.seed)
    samples = variant.sample(args.num, generator=gen, labels=labels).float().cpu()
    nrow = None
    if labels is not None and args.label is None:
        nrow = -(-args.num // info.num_classes)  # one row per class (see class_labels)
    out = Path(args.output) if args.output else Path(args.run_dir or trained.checkpoint.parent.parent) / "samples" / "sample.png"
    save_png(render(samples, info.kind, centers=info.extras.get("centers"), nrow=nrow), out)
    if args.npz:
        np.savez(args.npz, samples=samples.numpy(),
                 **({"labels": labels.cpu().numpy()} if labels is not None else {}))
    print(f"{args.num} samples from {trained.checkpoint} (step {trained.step}) -> {out}", file=sys.stderr)
    return 0
