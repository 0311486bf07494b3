"""``ganzoo inpaint RUN_DIR INPUT --mask MASK -o OUTPUT``: fill holes with a trained inpainting run.

INPUT is an image file (OUTPUT: a file, or a folder to write it into under the same name) or a
folder of images (OUTPUT: a folder; every image keeps its file name; entries that are not regular
files are skipped and counted). MASK is a grayscale image whose white pixels (value >= 128) mark
the hole, used for every input, or a folder holding a mask of the same file name for each input.
The context encoder works at the run's training size: each image (and its mask, nearest
neighbour) is resized to it and written at that size; pixels outside the hole are kept.
An existing OUTPUT file is kept unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ._args import add_force, device

    p = sub.add_parser("inpaint", help="fill masked holes in images with a trained inpainting run",
                       description=__doc__.split("\n\n", 1)[1].strip(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="a run folder trained on 'inpaint_masks' data")
    p.add_argument("input", help="an image file or a folder of images")
    p.add_argument("--mask", required=True, help="mask image (white = hole), or a folder of masks named "
                                                 "like the inputs")
    p.add_argument("-o", "--output", required=True, help="output file, or folder for a folder INPUT")
    p.add_argument("--checkpoint", default=None, help="a specific checkpoint file of the run")
    p.add_argument("--device", type=device, default="cpu", help="cpu (default), auto, cuda, cuda:N, mps")
    add_force(p)
    p.set_defaults(func=run)


def mask_paths(mask: "Path", inputs: list) -> list:
    """The mask file for each input: MASK itself, or MASK/<input's name> for a folder."""
    from ..data.walk import check_regular
    from ..errors import GanzooError

    if mask.is_dir():
        found = [mask / p.name for p, _ in inputs]
        missing = [m for m in found if not m.exists()]
        if missing:
            raise GanzooError(f"--mask {mask}: no mask named {missing[0].name} for input {missing[0].name} "
                              f"({len(missing)} of {len(found)} missing); give each input a mask of the same name")
    elif not mask.exists() and not mask.is_symlink():
        raise GanzooError(f"--mask {mask}: no such file or folder")
    else:
        found = [mask] * len(inputs)
    for m in set(found):
        check_regular(m, "mask")
    return found


def resized(x, size: int, mode: str):
    import torch.nn.functional as F

    if tuple(x.shape[-2:]) == (size, size):
        return x
    if mode == "nearest":
        return F.interpolate(x, size=(size, size), mode="nearest")
    return F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False, antialias=True).clamp(-1, 1)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import GanzooError
    from ._image_io import load_paired_run, pairs, read, save

    src, dst = Path(args.input), Path(args.output)
    todo = pairs(src, dst, args.force)  # every path checked before a model is loaded
    masks = mask_paths(Path(args.mask), todo)
    trained = load_paired_run(args.run_dir, args.checkpoint, args.device, "inpainting", "inpaint")
    channels, size = trained.info.channels, trained.info.shape[-1]
    for (path, out), mask_path in zip(todo, masks):
        image = resized(read(path, channels), size, "bicubic")
        m = (resized(read(mask_path, 1, "mask"), size, "nearest") > 0).float()
        if not m.any():
            raise GanzooError(f"--mask {mask_path}: no white pixels (>= 128), so there is no hole to fill")
        y = trained.variant.predict({"x": image * (1 - m), "mask": m})
        save(y, out, args.force)
    where = dst if src.is_dir() else todo[0][1]
    print(f"{len(todo)} image(s) inpainted at {size}x{size} with {trained.checkpoint} (step "
          f"{trained.step}) -> {where}", file=sys.stderr)
    return 0
