"""``ganzoo sample RUN_DIR -n 64 -o grid.png``: draw samples from a trained run.

RUN_DIR may also be a folder written by ``ganzoo export`` (the variant is rebuilt from its
``config.yaml`` and ``data_info.json``, without the data set). ``--truncation PSI`` applies the
truncation trick of variants that declare one (StyleGAN2: psi in [0, 1]; BigGAN: a threshold > 0).
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ._args import MAX_SAMPLES, add_force, device, int_range

    p = sub.add_parser("sample", help="draw samples from a trained run into a PNG grid")
    p.add_argument("run_dir", help="a run folder (uses its latest good checkpoint) or a folder "
                                   "'ganzoo export' wrote")
    p.add_argument("-n", "--num", type=int_range(1, MAX_SAMPLES), default=64,
                   help=f"number of samples, 1 to {MAX_SAMPLES} (default 64)")
    p.add_argument("-o", "--output", default=None, help="PNG path (default RUN_DIR/samples/sample.png)")
    p.add_argument("--checkpoint", default=None, help="a specific checkpoint file")
    p.add_argument("--class", dest="label", type=int_range(0, 2**31 - 1), default=None,
                   help="conditional runs: sample only this class (default: one row per class)")
    p.add_argument("--truncation", type=float, default=None, metavar="PSI",
                   help="truncation trick (stylegan2: psi in [0, 1], 1 = none; biggan: threshold "
                        "> 0 that z is truncated at)")
    p.add_argument("--vary-code", default=None, metavar="CODE",
                   help="runs with named latent codes (infogan): each row moves CODE (cat: through "
                        "every category; cont0, cont1 ...: 8 values from -1 to 1) and holds the "
                        "rest; -n / 8 rows")
    p.add_argument("--seed", type=int_range(0, 2**32 - 1), default=0)
    p.add_argument("--device", type=device, default="cpu", help="cpu (default), auto, cuda, cuda:N, mps")
    p.add_argument("--npz", default=None,
                   help="also save the raw samples to this .npz file ('.npz' is added if missing)")
    add_force(p)
    p.set_defaults(func=run)


def _outputs(args: argparse.Namespace):
    """(PNG path, .npz path or None), both checked before any model is loaded."""
    from pathlib import Path

    from ..errors import GanzooError
    from ..outputs import check_output

    png = Path(args.output) if args.output else Path(args.run_dir) / "samples" / "sample.png"
    check_output(png, "-o", force=args.force)
    npz = None
    if args.npz:
        npz = Path(args.npz if args.npz.endswith(".npz") else args.npz + ".npz")
        check_output(npz, "--npz", force=args.force)
        if npz.resolve() == png.resolve():
            raise GanzooError(f"--npz {npz} is also the -o picture; give two different files")
    return png, npz


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from ..images import png_writer, render
    from ..inference import class_labels, load_model
    from ..latent import check_truncation
    from ..outputs import write_output
    from ..safety import memory_guard

    png, npz = _outputs(args)
    trained = load_model(args.run_dir, args.checkpoint, args.device)
    info, variant = trained.info, trained.variant
    psi = None
    if args.truncation is not None:
        psi = check_truncation(trained.config.variant.name, variant.truncation, args.truncation)
    labels = class_labels(args.num, info.num_classes if variant.conditional else None,
                          args.label, variant._device())
    gen = torch.Generator().manual_seed(args.seed)
    nrow = None
    if labels is not None and args.label is None:
        nrow = -(-args.num // info.num_classes)  # one row per class (see class_labels)
    with memory_guard(f"-n {args.num} samples", "use a smaller -n"):
        if args.vary_code is not None:
            from ..codes import vary_code_samples

            samples, nrow = vary_code_samples(variant, trained.config.variant.name, args.vary_code,
                                              args.num, gen)
        elif psi is None:
            samples = variant.sample(args.num, generator=gen, labels=labels).float().cpu()
        else:
            samples = variant.sample_truncated(args.num, psi, generator=gen, labels=labels).float().cpu()
        grid = render(samples, info.kind, centers=info.extras.get("centers"), nrow=nrow)
    write_output(png, png_writer(grid), "-o", force=args.force, durable=False)
    if npz is not None:
        arrays = {"samples": samples.numpy(), **({"labels": labels.cpu().numpy()} if labels is not None else {})}
        write_output(npz, lambda f: np.savez(f, **arrays), "--npz", force=args.force)
    what = "" if psi is None else f", truncation {psi:g}"
    print(f"{args.num} samples from {trained.checkpoint} (step {trained.step}{what}) -> {png}",
          file=sys.stderr)
    return 0
