"""``ganzoo interpolate RUN_DIR -o strip.png``: rows of images between pairs of latent codes.

Each row moves from one code to another in ``--steps`` frames: slerp between z's (the default
space), lerp between w's for StyleGAN2. Conditional runs draw row r from class r mod K; with
``--classes A B`` (variants that mix class embeddings) each row keeps its code and moves from
class A to class B. ``-o strip.gif`` writes an animation whose frame t shows step t of every row.
RUN_DIR may also be a folder written by ``ganzoo export``.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ._args import device, int_range

    p = sub.add_parser("interpolate", help="image strips between latent codes (or classes) of a "
                                           "trained run",
                       description=__doc__.split("\n\n", 1)[1].strip(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="a run folder (its latest good checkpoint) or an exported folder")
    p.add_argument("-o", "--output", required=True, help="a .png strip or an animated .gif")
    p.add_argument("--steps", type=int_range(2, 256), default=8,
                   help="frames per row, both ends included, 2 to 256 (default 8)")
    p.add_argument("--rows", type=int_range(1, 256), default=4, help="rows, 1 to 256 (default 4)")
    p.add_argument("--classes", type=int_range(0, 2**31 - 1), nargs=2, metavar=("A", "B"),
                   default=None, help="conditional runs: move from class A to class B")
    p.add_argument("--truncation", type=float, default=None, metavar="PSI",
                   help="truncation trick for the end codes (stylegan2: psi in [0, 1]; biggan: "
                        "threshold > 0)")
    p.add_argument("--checkpoint", default=None, help="a specific checkpoint file of the run")
    p.add_argument("--seed", type=int_range(0, 2**32 - 1), default=0)
    p.add_argument("--device", type=device, default="cpu", help="cpu (default), auto, cuda, cuda:N, mps")
    p.set_defaults(func=run)


def _output(text: str):
    """The output path, checked before any model loads: .png or .gif, writable."""
    from pathlib import Path

    from ..errors import GanzooError
    from ._args import check_output_file

    path = Path(text)
    if path.suffix.lower() not in (".png", ".gif"):
        raise GanzooError(f"-o {path}: give a .png (a strip) or .gif (an animation) file name")
    return check_output_file(path, "-o")


def save_strip(frames, rows: int, steps: int, path) -> None:
    """A PNG grid with one row per path, or a GIF whose frame t tiles step t of every row."""
    from PIL import Image

    from ..fileio import atomic_write
    from ..images import make_grid, save_png

    if path.suffix.lower() == ".png":
        save_png(make_grid(frames, nrow=steps), path)
        return
    pictures = [Image.fromarray(make_grid(frames[t::steps])) for t in range(steps)]
    atomic_write(path, lambda f: pictures[0].save(f, format="GIF", save_all=True,
                                                  append_images=pictures[1:], duration=120, loop=0),
                 durable=False)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..inference import load_model
    from ..latent import check_interpolation, check_truncation, interpolation_frames
    from ..safety import memory_guard

    out = _output(args.output)
    trained = load_model(args.run_dir, args.checkpoint, args.device)
    variant, info, name = trained.variant, trained.info, trained.config.variant.name
    check_interpolation(variant, name, info, args.classes)
    psi = None
    if args.truncation is not None:
        psi = check_truncation(name, variant.truncation, args.truncation)
    gen = torch.Generator().manual_seed(args.seed)
    with memory_guard(f"{args.rows} rows of {args.steps} frames", "use fewer --rows or --steps"):
        frames = interpolation_frames(variant, info, args.rows, args.steps, gen, psi, args.classes)
    save_strip(frames, args.rows, args.steps, out)
    what = f"classes {args.classes[0]} -> {args.classes[1]}" if args.classes else \
        f"{variant.interpolation_space} space"
    print(f"{args.rows} x {args.steps} frames ({what}) from {trained.checkpoint} (step {trained.step}) "
          f"-> {out}", file=sys.stderr)
    return 0
