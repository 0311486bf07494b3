"""``ganzoo translate RUN_DIR INPUT -o OUTPUT``: translate images with a trained CycleGAN.

INPUT is an image file (OUTPUT: a file, or a folder to write it into under the same name) or a
folder of images (OUTPUT: a folder; every image keeps its file name). ``--weights FILE`` uses a raw
generator state dict instead of a run, e.g. the authors' ``latest_net_G_A.pth``.

Paired runs (pix2pix) map each image to their output (inputs read at the data's input size and
channels); multi-domain runs (StarGAN) need ``--domain K``, the target domain's index
(:mod:`ganzoo.translation`).

Sizes: by default every image is resized (bicubic) to the model's square training size
(``--size`` to change it; 256 with ``--weights``) and written at that size, as the reference's
test script does. With ``--keep-size`` each image is translated at its own size instead (the
ResNet generator is fully convolutional), after rounding each side to the nearest multiple of 4
(at least 8), as the reference does without preprocessing.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ._args import MAX_IMAGE_SIDE, add_force, device, int_range

    p = sub.add_parser("translate", help="translate images with a trained CycleGAN, pix2pix or StarGAN",
                       description=__doc__.split("\n\n", 1)[1].strip(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", nargs="?", default=None,
                   help="a cyclegan run folder (its latest good checkpoint) or a folder 'ganzoo "
                        "export' wrote; leave out with --weights")
    p.add_argument("input", help="an image file or a folder of images")
    p.add_argument("-o", "--output", required=True, help="output file, or folder for a folder INPUT")
    p.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB",
                   help="AtoB uses G_A, BtoA uses G_B (default AtoB; ignored with --weights)")
    p.add_argument("--checkpoint", default=None, help="a specific checkpoint file of the run")
    p.add_argument("--weights", default=None,
                   help="a raw ResNet generator state dict (e.g. latest_net_G_A.pth) instead of a run")
    p.add_argument("--ngf", type=int_range(1, 4096), default=None, help="with --weights: generator width (default: read "
                                                         "from the file)")
    p.add_argument("--n-blocks", type=int_range(0, 1000), default=None, help="with --weights: residual blocks (default: "
                                                              "read from the file)")
    p.add_argument("--size", type=int_range(8, MAX_IMAGE_SIDE), default=None,
                   help=f"resize inputs to SIZE x SIZE, a multiple of 4 from 8 to {MAX_IMAGE_SIDE} "
                        f"(default: the run's image size; 256 with --weights)")
    p.add_argument("--keep-size", action="store_true",
                   help="translate at each image's own size (sides rounded to multiples of 4)")
    p.add_argument("--device", type=device, default="cpu", help="cpu (default), auto, cuda, cuda:N, mps")
    p.add_argument("--domain", type=int_range(0, 1_000_000), default=None,
                   help="multi-domain runs (stargan): the target domain's index (0 .. N-1)")
    add_force(p)
    p.set_defaults(func=run)


def _load_model(args: argparse.Namespace):
    """(translate function, channels, default size, description) for a run or a weights file."""
    from pathlib import Path

    import torch

    from ..errors import GanzooError

    if args.weights is not None:
        if args.run_dir is not None:
            raise GanzooError("give either RUN_DIR or --weights FILE, not both")
        from ..nets.cyclegan import generator_from_state_dict
        from ..trainer import resolve_device

        path = Path(args.weights)
        if not path.is_file():
            raise GanzooError(f"--weights {path}: file not found")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # unpickling refused, truncated or not a torch file
            from ..checkpoint import load_error_reason

            raise GanzooError(f"--weights {path}: cannot load it as a state dict "
                              f"({load_error_reason(exc)})") from None
        if isinstance(state, dict) and state.get("format") == "ganzoo-checkpoint":
            raise GanzooError(f"--weights {path} is a ganzoo checkpoint; use 'ganzoo translate RUN_DIR' "
                              f"or --checkpoint {path} with its run folder")
        try:
            net = generator_from_state_dict(state, args.ngf, args.n_blocks)
        except ValueError as exc:
            raise GanzooError(f"--weights {path}: {exc}; set --ngf/--n-blocks to the file's") from None
        net = net.to(resolve_device(args.device)).eval()

        @torch.no_grad()
        def apply(images: torch.Tensor) -> torch.Tensor:
            from ..variants.cyclegan import check_translatable

            check_translatable(images.shape)
            return net(images.to(next(net.parameters()).device))

        return apply, net.in_channels, 256, f"{path} (ngf={net.ngf}, n_blocks={net.n_blocks})"

    if args.run_dir is None:
        raise GanzooError("give a run folder (RUN_DIR) or --weights FILE")
    from ..inference import load_model

    trained = load_model(args.run_dir, args.checkpoint, args.device)  # a run or an exported folder
    variant = trained.variant
    if not variant.translates:
        raise GanzooError(f"{args.run_dir}: variant '{trained.config.variant.name}' does not translate "
                          f"images; 'ganzoo translate' needs a cyclegan, pix2pix or stargan run (use "
                          f"'ganzoo sample')")
    from ..translation import translator

    apply, channels, size, what = translator(variant, trained.info, trained.config.variant.name,
                                             args.direction, args.domain)
    return apply, channels, size, f"{trained.checkpoint} (step {trained.step}, {what})"


def _multiple_of_4(n: int) -> int:
    return max(8, int(round(n / 4)) * 4)


def _read(path, mode: str, args: argparse.Namespace, size: int):
    """The input image resized to what the generator gets: (SIZE, SIZE), or its own size rounded."""
    from PIL import Image

    from ..data.images import BadImage, decode
    from ..errors import GanzooError
    from ._args import MAX_IMAGE_SIDE

    try:
        img = decode(path, mode)
    except BadImage as exc:  # data.skip_bad is a run option; here the file itself is the input
        raise GanzooError(f"cannot read image {path}: {exc.reason}; replace the file or leave it "
                          f"out of INPUT") from None
    target = (_multiple_of_4(img.width), _multiple_of_4(img.height)) if args.keep_size else (size, size)
    if max(target) > MAX_IMAGE_SIDE:
        raise GanzooError(f"{path} is {img.width}x{img.height} pixels; --keep-size works up to "
                          f"{MAX_IMAGE_SIDE} per side, so use --size instead")
    return img if img.size == target else img.resize(target, Image.BICUBIC)


def _save(picture, out, force: bool) -> None:
    """Write atomically in the format of the file name (quality 95 for JPEG)."""
    from PIL import Image

    from ..errors import GanzooError
    from ..outputs import write_output

    fmt = Image.registered_extensions().get(out.suffix.lower())
    options = {"quality": 95} if fmt == "JPEG" else {}
    try:
        write_output(out, lambda f: picture.save(f, format=fmt, **options), "-o", force=force)
    except (ValueError, KeyError) as exc:  # e.g. a mode the format cannot store
        raise GanzooError(f"cannot write {out}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch
    from PIL import Image

    from ..errors import GanzooError
    from ..images import to_uint8
    from ..safety import memory_guard
    from ._image_io import pairs as image_pairs

    if args.size is not None and args.size % 4:
        raise GanzooError(f"--size must be a multiple of 4 and at least 8, got {args.size}")
    if args.size is not None and args.keep_size:
        raise GanzooError("give --size or --keep-size, not both")
    if args.weights is None and (args.ngf is not None or args.n_blocks is not None):
        raise GanzooError("--ngf and --n-blocks apply to --weights only (a run knows its networks)")
    if args.weights is not None and args.domain is not None:
        raise GanzooError("--domain applies to multi-domain runs (stargan), not to --weights")
    src, dst = Path(args.input), Path(args.output)
    pairs = image_pairs(src, dst, args.force)  # every path checked before a model loads
    apply, channels, default_size, what = _load_model(args)
    size = args.size or default_size
    mode = "L" if channels == 1 else "RGB"
    for path, out in pairs:
        img = _read(path, mode, args, size)
        x = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8)
        x = x.view(img.height, img.width, channels).permute(2, 0, 1).float().div(127.5).sub(1.0)
        with memory_guard(f"translating {path} at {img.width}x{img.height}", "use a smaller --size"):
            y = apply(x.unsqueeze(0)).float().cpu()
        arr = to_uint8(y)[0]
        _save(Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr), out, args.force)
    where = dst if src.is_dir() else pairs[0][1]
    print(f"{len(pairs)} image(s) translated with {what} -> {where}", file=sys.stderr)
    return 0
