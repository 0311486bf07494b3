"""``ganzoo import FILE -o DIR``: weights trained elsewhere as a ganzoo export folder.

Formats (detected from the file's contents; ``--format`` to say which):

* ``stylegan2-ada``: an NVIDIA StyleGAN2-ADA network pickle (``network-snapshot-*.pkl``), read by
  a restricted unpickler that never runs the code such a pickle embeds; G_ema (and D) become
  ganzoo's ``stylegan2`` (``stylegan2_conditional`` with labels) with the official layout;
* ``biggan-hf``: a ``pytorch-pretrained-biggan`` model folder (``pytorch_model.bin`` and
  ``config.json``, or the .bin with config.json beside it) -> ``biggan_deep`` (sampling only);
* ``rosinality``: a rosinality/stylegan2-pytorch checkpoint (``g_ema``, ``latent_avg``) ->
  ``stylegan2``. Checkpoints are read with ``torch.load(weights_only=True)``.

DIR gets what ``ganzoo export`` writes (``generator.safetensors``, ``config.yaml``,
``data_info.json``, ``export.json``, a ``README.md`` naming the source and its licence) and
``discriminator.safetensors`` when the file had a discriminator. ``ganzoo sample DIR`` samples
it; ``ganzoo.load_generator(DIR)`` gives the generator in Python.
"""

from __future__ import annotations

import argparse
import sys

#: as ganzoo.importers.FORMATS (kept here: command modules import only the standard library)
FORMATS = ("stylegan2-ada", "biggan-hf", "rosinality")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import weights trained elsewhere (StyleGAN2-ADA, BigGAN, "
                                      "rosinality) as an export folder",
                       description=__doc__.split("\n\n", 1)[1].strip(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="the weights file (or BigGAN model folder) to import")
    p.add_argument("-o", "--output", required=True, help="the folder to write")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="the file's format (default: detected from its contents)")
    p.add_argument("--force", action="store_true", help="replace an earlier export or import in DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..export import check_destination
    from ..importers import read_model, write_import

    out = Path(args.output)
    check_destination(out, args.force, None)
    model = read_model(Path(args.file), args.format)
    write_import(model, out, force=args.force)
    what = f"{model.variant} ({model.num_classes} classes)" if model.num_classes else model.variant
    extra = " + discriminator" if model.d_state is not None else ""
    print(f"imported {model.source_format} {args.file} as {what}{extra} -> {out}; sample it with: "
          f"ganzoo sample {out} -n 16 -o grid.png", file=sys.stderr)
    return 0
