"""``ganzoo upscale RUN_DIR INPUT -o OUTPUT``: enlarge images with a trained super-resolution run.

INPUT is an image file (OUTPUT: a file, or a folder to write it into under the same name) or a
folder of images (OUTPUT: a folder; every image keeps its file name; entries that are not regular
files are skipped and counted). Each image is up-sampled at its own size by the run's factor
(``data.lr_scale``; the generators are fully convolutional) and converted to the run's channels.
An existing OUTPUT file is kept unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ._args import add_force, device

    p = sub.add_parser("upscale", help="enlarge images with a trained super-resolution run (srgan, esrgan)",
                       description=__doc__.split("\n\n", 1)[1].strip(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="a run folder trained on 'sr_pairs' data (its latest good checkpoint)")
    p.add_argument("input", help="an image file or a folder of images")
    p.add_argument("-o", "--output", required=True, help="output file, or folder for a folder INPUT")
    p.add_argument("--checkpoint", default=None, help="a specific checkpoint file of the run")
    p.add_argument("--device", type=device, default="cpu", help="cpu (default), auto, cuda, cuda:N, mps")
    add_force(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import GanzooError
    from ..safety import memory_guard
    from ._args import MAX_IMAGE_SIDE
    from ._image_io import load_paired_run, pairs, read, save

    src, dst = Path(args.input), Path(args.output)
    todo = pairs(src, dst, args.force)  # every path checked before a model is loaded
    trained = load_paired_run(args.run_dir, args.checkpoint, args.device, "super_resolution", "upscale")
    info = trained.info
    scale = info.shape[-1] // info.extras["input_shape"][-1]
    for path, out in todo:
        x = read(path, info.channels)
        h, w = x.shape[-2:]
        if max(h, w) * scale > MAX_IMAGE_SIDE:
            raise GanzooError(f"{path} is {w}x{h} pixels; x{scale} would exceed {MAX_IMAGE_SIDE} per side: "
                              f"crop or shrink it first")
        with memory_guard(f"upscaling {path} ({w}x{h}, x{scale})", "use a smaller image"):
            y = trained.variant.predict({"x": x})
        save(y, out, args.force)
    where = dst if src.is_dir() else todo[0][1]
    print(f"{len(todo)} image(s) upscaled x{scale} with {trained.checkpoint} (step {trained.step}) -> "
          f"{where}", file=sys.stderr)
    return 0
