"""``ganzoo encode RUN_DIR IMAGES -o codes.npz``: latent codes of images from a run that encodes.

Only variants that declare an encoder (``encodes``: bigan, aae) can. IMAGES is an image file, a
folder of images (``--recursive`` for sub-folders; entries that are not regular files, such as
named pipes or looping links, are skipped and counted in one warning) or an .npz of images, read
as the ``npz`` data set reads it (uint8 or float arrays, NHW/NHWC/NCHW; a ``labels`` array is
copied to the output). Every image is converted to the run's channels and resized and
centre-cropped to its image size, as its training data was.

The output .npz holds ``codes`` (N, z_dim, float32), ``files`` (paths relative to IMAGES, for a
file or folder) or ``labels`` (from an .npz), and with ``--reconstructions`` the images decoded
from the codes, ``reconstructions`` (N, C, H, W) in [-1, 1], i.e. G(E(x)).
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ._args import add_force, device, int_range

    p = sub.add_parser("encode", help="latent codes of images from a run that encodes (bigan, aae)",
                       description=__doc__.split("\n\n", 1)[1].strip(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="a run folder of a variant that encodes (its latest good checkpoint)")
    p.add_argument("images", help="an image file, a folder of images or an .npz of images")
    p.add_argument("-o", "--output", required=True, help=".npz file to write ('.npz' is added if missing)")
    p.add_argument("--checkpoint", default=None, help="a specific checkpoint file of the run")
    p.add_argument("--recursive", action="store_true", help="also encode images in sub-folders")
    p.add_argument("--reconstructions", action="store_true",
                   help="also store the images decoded from the codes, G(E(x))")
    p.add_argument("--batch-size", type=int_range(1, 4096), default=256,
                   help="images encoded at once, 1 to 4096 (default 256)")
    p.add_argument("--device", type=device, default="cpu", help="cpu (default), auto, cuda, cuda:N, mps")
    add_force(p)
    p.set_defaults(func=run)


def _inputs(path, recursive: bool):
    """("npz", path) or ("files", [image paths]) for IMAGES; one line if there is nothing to read."""
    from ..data.images import is_image_name, list_images
    from ..data.walk import check_regular
    from ..errors import GanzooError

    if path.is_dir():
        files = list_images(path, recursive)
        if not files:
            raise GanzooError(f"{path}: no images in this folder{' or its sub-folders' if recursive else ''}")
        return "files", files
    if not path.exists() and not path.is_symlink():
        raise GanzooError(f"{path}: no such file or folder; give an image, a folder of images or an .npz")
    check_regular(path, "IMAGES input")
    if path.suffix.lower() == ".npz":
        return "npz", path
    if not is_image_name(path.name):
        raise GanzooError(f"{path}: not an image or .npz file name; give an image, a folder of "
                          f"images or an .npz")
    return "files", [path]


def _dataset(kind: str, source, root, info):
    """The images as a data set at the run's size and channels, with (file names or labels)."""
    import numpy as np

    size, channels = info.image_size, info.channels
    if kind == "npz":
        from ..data.npz import Npz, NpzOptions

        with np.load(source, allow_pickle=False) as npz:
            labels_key = "labels" if "labels" in npz.files else None
        data = Npz(NpzOptions(name="npz", root=str(source), image_size=size, channels=channels,
                              labels_key=labels_key))
        return data.dataset("train"), {}
    from ..data.datasets import FileImages
    from ..data.folder import FolderOptions, ImageFolder, source_shape

    files = source
    pipeline = ImageFolder(FolderOptions(name="image_folder", root=str(files[0].parent),
                                         image_size=size, channels=channels)).pipeline()
    shape, mode = source_shape(files, pipeline, False)
    names = [str(f.relative_to(root)) if root.is_dir() else f.name for f in files]
    return FileImages(files, None, pipeline, pipeline.out_shape(shape), mode), {"files": np.array(names)}


def _load(args: argparse.Namespace):
    """The trained run; refused in one line unless its variant encodes."""
    from pathlib import Path

    from ..errors import GanzooError
    from ..inference import is_export, load_run
    from ..plugins import get_variant, list_variants

    if Path(args.run_dir).is_dir() and is_export(args.run_dir):
        raise GanzooError(f"{args.run_dir} is an exported folder, which holds the generator only; "
                          f"'ganzoo encode' needs the run folder (its checkpoints hold the encoder)")
    trained = load_run(args.run_dir, args.checkpoint, args.device)
    if not trained.variant.encodes:
        able = [n for n in list_variants() if get_variant(n).encodes]
        raise GanzooError(f"{args.run_dir}: variant '{trained.config.variant.name}' has no encoder; "
                          f"'ganzoo encode' needs a run of a variant that encodes "
                          f"({', '.join(able) or 'none registered'})")
    return trained


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np
    import torch

    from ..outputs import check_output, write_output
    from ..safety import memory_guard

    out = Path(args.output if args.output.endswith(".npz") else args.output + ".npz")
    check_output(out, "-o", force=args.force)
    root = Path(args.images)
    kind, source = _inputs(root, args.recursive)
    trained = _load(args)
    data, extra = _dataset(kind, source, root, trained.info)
    codes, recons, labels = [], [], []
    with memory_guard(f"encoding batches of {args.batch_size} images", "use a smaller --batch-size"):
        for start in range(0, len(data), args.batch_size):
            items = [data[i] for i in range(start, min(start + args.batch_size, len(data)))]
            x = torch.stack([item["x"] for item in items])
            labels += [int(item["y"]) for item in items if "y" in item]
            z = trained.variant.encode(x)
            codes.append(z.float().cpu())
            if args.reconstructions:
                recons.append(trained.variant.from_latent(z).float().cpu())
    arrays = {"codes": torch.cat(codes).numpy(), **extra}
    if labels:
        arrays["labels"] = np.asarray(labels, dtype=np.int64)
    if recons:
        arrays["reconstructions"] = torch.cat(recons).numpy()
    write_output(out, lambda f: np.savez(f, **arrays), "-o", force=args.force)
    print(f"{len(data)} image(s) encoded to {arrays['codes'].shape[1]}-d codes with "
          f"{trained.checkpoint} (step {trained.step}) -> {out}", file=sys.stderr)
    return 0
