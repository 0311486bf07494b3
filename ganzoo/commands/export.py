"""``ganzoo export RUN_DIR -o DIR``: a folder to share a trained generator.

DIR gets ``generator.safetensors`` (the EMA weights when the run kept an average), the resolved
``config.yaml``, ``data_info.json`` (what rebuilds the variant without the data set),
``export.json`` (source, step, checksums) and a ``README.md`` model card with the run's recorded
scores. ``--format torchscript`` adds ``generator.torchscript.pt`` and ``--format onnx``
``generator.onnx`` (pip install 'ganzoo[onnx]'), each checked against the eager generator.
``ganzoo sample DIR`` samples the folder. An existing non-empty DIR is refused unless
``--force`` and it holds an earlier export; the folder is written whole or not at all.
"""

from __future__ import annotations

import argparse
import sys

FORMATS = ("torchscript", "onnx")


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ._args import device

    p = sub.add_parser("export", help="write a shareable generator folder (safetensors, config, "
                                      "model card; TorchScript/ONNX)",
                       description=__doc__.split("\n\n", 1)[1].strip(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", help="a run folder (uses its latest good checkpoint)")
    p.add_argument("-o", "--output", required=True, help="the folder to write")
    p.add_argument("--format", dest="formats", action="append", choices=FORMATS, default=[],
                   help="also write a traced program: torchscript, onnx (repeat for both)")
    p.add_argument("--checkpoint", default=None, help="a specific checkpoint file of the run")
    p.add_argument("--force", action="store_true", help="replace an earlier export in DIR")
    p.add_argument("--device", type=device, default="cpu", help="where to load the run (default cpu)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import GanzooError
    from ..export import check_destination, export_run
    from ..inference import is_export, load_run

    if Path(args.run_dir).is_dir() and is_export(args.run_dir):
        raise GanzooError(f"{args.run_dir} is already an exported folder; export a run folder "
                          f"(or copy this one)")
    formats = list(dict.fromkeys(args.formats))
    out = Path(args.output)
    check_destination(out, args.force, Path(args.run_dir))
    trained = load_run(args.run_dir, args.checkpoint, args.device)
    trained.variant.cpu()
    export_run(trained, Path(args.run_dir), out, formats, force=args.force)
    weights = "EMA" if trained.averaged else "live"
    extra = "".join(f" + {f}" for f in formats)
    use = (f"translate with: ganzoo translate {out} INPUT -o OUTPUT" if trained.variant.translates
           else f"sample it with: ganzoo sample {out} -n 16 -o grid.png")
    print(f"exported {trained.config.variant.name} ({weights} weights{extra}) from {trained.checkpoint} "
          f"(step {trained.step}) -> {out}; {use}", file=sys.stderr)
    return 0
