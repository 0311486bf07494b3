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
    from ._args import add_force, device, int_range

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
    p.add_argument("--vary-code", default=None, metavar="CODE",
                   help="runs with named latent codes (infogan): each row holds one draw and moves "
                        "only CODE (cat: every category; cont0, cont1 ...: --steps values from "
                        "-span to span)")
    p.add_argument("--span", type=float, default=1.0,
                   help="--vary-code: continuous codes from -span to span (default 1: the prior's range)")
    p.add_argument("--checkpoint", default=None, help="a specific checkpoint file of the run")
    p.add_argument("--seed", type=int_range(0, 2**32 - 1), default=0)
    p.add_argument("--device", type=device, default="cpu", help="cpu (default), auto, cuda, cuda:N, mps")
    add_force(p)
    p.set_defaults(func=run)


def _output(text: str, force: bool):
    """The output path, checked before any model loads: .png or .gif, writable."""
    from pathlib import Path

    from ..errors import GanzooError
    from ..outputs import check_output

    path = Path(text)
    if path.suffix.lower() not in (".png", ".gif"):
        raise GanzooError(f"-o {path}: give a .png (a strip) or .gif (an animation) file name")
    return check_output(path, "-o", force=force)


def save_strip(frames, rows: int, steps: int, path, force: bool = False) -> None:
    """A PNG grid with one row per path, or a GIF whose frame t tiles step t of every row."""
    from PIL import Image

    from ..images import make_grid, png_writer
    from ..outputs import write_output

    if path.suffix.lower() == ".png":
        write_output(path, png_writer(make_grid(frames, nrow=steps)), "-o", force=force, durable=False)
        return
    pictures = [Image.fromarray(make_grid(frames[t::steps])) for t in range(steps)]
    write_output(path, lambda f: pictures[0].save(f, format="GIF", save_all=True,
                                                  append_images=pictures[1:], duration=120, loop=0),
                 "-o", force=force, durable=False)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..inference import load_model
    from ..latent import check_interpolation, check_truncation, interpolation_frames
    from ..safety import memory_guard

    out = _output(args.output, args.force)
    trained = load_model(args.run_dir, args.checkpoint, args.device)
    variant, info, name = trained.variant, trained.info, trained.config.variant.name
    if args.vary_code is not None:
        return _vary_code(args, trained, out)
    check_interpolation(variant, name, info, args.classes)
    psi = None
    if args.truncation is not None:
        psi = check_truncation(name, variant.truncation, args.truncation)
    gen = torch.Generator().manual_seed(args.seed)
    with memory_guard(f"{args.rows} rows of {args.steps} frames", "use fewer --rows or --steps"):
        frames = interpolation_frames(variant, info, args.rows, args.steps, gen, psi, args.classes)
    save_strip(frames, args.rows, args.steps, out, force=args.force)
    what = f"classes {args.classes[0]} -> {args.classes[1]}" if args.classes else \
        f"{variant.interpolation_space} space"
    print(f"{args.rows} x {args.steps} frames ({what}) from {trained.checkpoint} (step {trained.step}) "
          f"-> {out}", file=sys.stderr)
    return 0


def _vary_code(args: argparse.Namespace, trained, out) -> int:
    """``--vary-code``: rows that move one named code and hold the rest (see ganzoo.codes)."""
    import torch

    from ..codes import check_vary_code, code_frames
    from ..errors import GanzooError
    from ..safety import memory_guard

    check_vary_code(trained.variant, trained.config.variant.name)
    if args.classes or args.truncation is not None:
        raise GanzooError("--vary-code moves one latent code; leave out --classes and --truncation")
    gen = torch.Generator().manual_seed(args.seed)
    with memory_guard(f"{args.rows} rows of {args.steps} frames", "use fewer --rows or --steps"):
        frames, steps = code_frames(trained.variant, args.vary_code, args.rows, args.steps, gen, args.span)
    save_strip(frames, args.rows, steps, out, force=args.force)
    print(f"{args.rows} x {steps} frames (code {args.vary_code}) from {trained.checkpoint} "
          f"(step {trained.step}) -> {out}", file=sys.stderr)
    return 0
