"""``ganzoo fid A B``: FID between two image folders or ``.npz`` statistics, as pytorch-fid
computes it; ``--save-stats FOLDER OUT.npz`` writes a folder's statistics.

A is treated as the generated set and B as the reference in the ``--json`` record (the distance
itself is symmetric).
"""

from __future__ import annotations

import argparse
import sys

DIMS = (64, 192, 768, 2048)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from ._args import add_force, device, int_range

    p = sub.add_parser("fid", help="FID between two image folders or .npz statistics (pytorch-fid compatible)",
                       description="FID between two image folders or .npz statistics files with "
                                   "pytorch-fid 0.3.0's pipeline (same Inception weights, decoding, "
                                   "resize and statistics); the Frechet distance uses eigenvalues "
                                   "(faster, never complex) unless --exact-sqrtm.")
    p.add_argument("paths", nargs=2, metavar="PATH",
                   help="A B: image folders or .npz files (keys mu, sigma); with --save-stats: FOLDER OUT.npz")
    p.add_argument("--save-stats", action="store_true",
                   help="compute the statistics of FOLDER and save them to OUT.npz")
    p.add_argument("--batch-size", type=int_range(1, 100_000), default=50, help="images per batch (default 50)")
    p.add_argument("--device", type=device, default="auto", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--dims", type=int, default=None, choices=DIMS,
                   help="Inception feature size (default 2048, the standard FID; two .npz files are "
                        "compared at their own size)")
    p.add_argument("--num-workers", type=int_range(0, 64), default=None,
                   help="image decoding processes (default: CPU count, at most 8)")
    p.add_argument("--weights", default=None, metavar="PATH",
                   help="Inception weights file pt_inception-2015-12-05-6726825d.pth "
                        "(default: $GANZOO_INCEPTION_WEIGHTS, then the cache, then a download)")
    p.add_argument("--exact-sqrtm", action="store_true",
                   help="use pytorch-fid's scipy.linalg.sqrtm formula (slower; may fail with few samples)")
    p.add_argument("--json", action="store_true", help="print the full record with its protocol as JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_force(p)
    p.set_defaults(func=run_fid)
    return p


def _folder_stats(folder: str, ext, args: argparse.Namespace):
    """Streamed statistics of an image folder (memory independent of the number of images)."""
    from tqdm import tqdm

    from ..metrics.fid import StatsAccumulator
    from ..metrics.images import image_batches, list_images

    files = list_images(folder)
    batches = image_batches(files, args.batch_size, args.num_workers, pin_memory=ext.device.type == "cuda")
    acc = StatsAccumulator()
    with tqdm(total=len(files), unit="img", desc=str(folder), disable=args.no_progress, leave=False,
              file=sys.stderr) as bar:
        for feats, _ in ext.iter_outputs(batches):
            acc.update(feats)
            bar.update(len(feats))
    return acc.stats(extractor=ext.name, weights=ext.weights_hash, dims=ext.dims, resize=ext.resize,
                     source=str(folder), n=acc.n)


def _check_args(args: argparse.Namespace) -> None:
    """Refuse bad options and missing inputs before any weights load or image decodes."""
    from pathlib import Path

    from ..errors import GanzooError

    if args.batch_size < 1:
        raise GanzooError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.num_workers is not None and args.num_workers < 0:
        raise GanzooError(f"--num-workers must be 0 or more, got {args.num_workers}")
    a, b = args.paths
    for p in ([a] if args.save_stats else [a, b]):
        if not Path(p).exists():
            raise GanzooError(f"{p} does not exist (expected an image folder or a .npz statistics file)")
    if args.save_stats and Path(a).suffix.lower() == ".npz":
        raise GanzooError(f"--save-stats needs an image folder first, got the statistics file {a}")
    if args.save_stats:
        from ..outputs import check_output

        if Path(b).suffix.lower() != ".npz":
            raise GanzooError(f"statistics file {b} must end in .npz (pytorch-fid's format)")
        check_output(b, "--save-stats", force=args.force)


def check_stats(path: str, stats) -> None:
    """Statistics that cannot be a covariance (not finite, not symmetric, not positive
    semi-definite) would still give a number; refuse them, naming the file."""
    import numpy as np

    from ..errors import GanzooError

    mu, sigma = np.asarray(stats.mu), np.asarray(stats.sigma)
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise GanzooError(f"statistics file {path}: mu or sigma holds NaN or infinite values; "
                          f"recompute it with 'ganzoo fid --save-stats'")
    scale = max(float(np.abs(np.diag(sigma)).mean()) if sigma.size else 0.0, 1e-12)
    if not np.allclose(sigma, sigma.T, rtol=1e-5, atol=1e-8 * scale):
        raise GanzooError(f"statistics file {path}: sigma is not symmetric, so it is no covariance "
                          f"matrix; recompute it with 'ganzoo fid --save-stats'")
    try:  # PSD up to rounding: Cholesky of sigma + a relative jitter succeeds
        np.linalg.cholesky(sigma + 1e-6 * scale * np.eye(len(sigma)))
    except np.linalg.LinAlgError:
        raise GanzooError(f"statistics file {path}: sigma is not positive semi-definite, so it is no "
                          f"covariance matrix; recompute it with 'ganzoo fid --save-stats'") from None


class _Stats:
    """Statistics of a folder or an ``.npz``; the Inception network loads once, on first need."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self._ext = None
        self.npz: dict[str, object] = {}  # statistics files, read before any folder

    def dims(self) -> int:
        """--dims, else the size of a given .npz (when an Inception pool gives it), else 2048."""
        from ..errors import GanzooError

        if self.args.dims is not None:
            return self.args.dims
        for path, s in self.npz.items():
            if s.dims not in DIMS:
                raise GanzooError(f"{path} holds {s.dims}-d statistics, which no Inception layer "
                                  f"gives ({', '.join(map(str, DIMS))}); compare it with another "
                                  f".npz of {s.dims}-d statistics, or recompute it with 'ganzoo fid "
                                  f"--save-stats'")
            return s.dims
        return 2048

    def extractor(self):
        if self._ext is None:
            from ..metrics.features import InceptionExtractor

            args = self.args
            self._ext = InceptionExtractor(weights=args.weights, dims=self.dims(), device=args.device,
                                           progress=not args.no_progress)
        return self._ext

    def of_folder(self, folder: str):
        return _folder_stats(folder, self.extractor(), self.args)

    def read_npz(self, path: str) -> None:
        from pathlib import Path

        from ..errors import GanzooError
        from ..metrics.fid import load_stats

        if Path(path).suffix.lower() != ".npz" or not Path(path).is_file():
            return
        s = load_stats(path)
        check_stats(path, s)
        if self.args.dims is not None and s.dims != self.args.dims:
            advice = (f"pass --dims {s.dims}" if s.dims in DIMS else
                      "leave --dims out to compare two .npz files at their own size")
            raise GanzooError(f"{path} holds {s.dims}-d statistics but --dims is {self.args.dims}; "
                              f"{advice}")
        self.npz[path] = s

    def of(self, path: str):
        return self.npz[path] if path in self.npz else self.of_folder(path)


def both(stats: "_Stats", a: str, b: str):
    """The statistics of A and B (.npz files read first); both of one size, or one line."""
    from ..errors import GanzooError

    stats.read_npz(a)
    stats.read_npz(b)
    sa, sb = stats.of(a), stats.of(b)
    if sa.dims != sb.dims:
        raise GanzooError(f"{a} has {sa.dims}-d and {b} {sb.dims}-d statistics; both must come from "
                          f"the same feature layer (--dims)")
    return sa, sb


def _fid_record(args: argparse.Namespace, sa, sb, value: float) -> dict:
    """The ``--json`` record: A is the generated side, B the reference, with both protocols' notes."""
    from ..metrics.base import ScoreRecord

    a, b = args.paths
    metas = [s.meta for s in (sa, sb)]
    weights = {m.get("weights") for m in metas if m.get("weights")}
    notes = [f"A: {a} ({sa.n if sa.n is not None else 'unknown number of'} samples)",
             f"B: {b} ({sb.n if sb.n is not None else 'unknown number of'} samples)"]
    if len(weights) > 1:
        notes.append("the two statistics were computed with different Inception weights")
    if any(not m for m in metas):
        notes.append("a .npz without ganzoo protocol was used: its preprocessing is not known")
    resize = next((m.get("resize") for m in metas if m.get("resize")), None)
    return ScoreRecord(
        metric="fid", value=value, values={"fid": value}, higher_is_better=False,
        extractor="inception", extractor_weights_sha256=weights.pop() if len(weights) == 1 else None,
        feature_dims=sa.dims, resize=resize, n_real=sb.n, n_fake=sa.n or 0, real_source=f"B: {b}",
        seed=0, options={"exact_sqrtm": bool(args.exact_sqrtm), "batch_size": args.batch_size,
                         "a": str(a), "b": str(b)}, notes=notes).to_dict()


def run_fid(args: argparse.Namespace) -> int:
    import json

    import numpy as np

    from ..metrics.fid import fid_from_stats, stats_arrays
    from ..outputs import write_output

    _check_args(args)
    a, b = args.paths
    stats = _Stats(args)
    if args.save_stats:
        saved = stats.of_folder(a)
        arrays = stats_arrays(saved)
        write_output(b, lambda f: np.savez_compressed(f, **arrays), "--save-stats", force=args.force)
        if args.json:
            print(json.dumps({"saved": str(b), "n": saved.n, "protocol": saved.meta}, indent=2))
        else:
            print(f"Saved statistics of {saved.n} images to {b}")
        return 0
    sa, sb = both(stats, a, b)
    value = fid_from_stats(sa, sb, exact_sqrtm=args.exact_sqrtm)
    if args.json:
        print(json.dumps(_fid_record(args, sa, sb, value), indent=2))
    else:
        print(f"FID: {value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command alone (``python -m ganzoo.commands.fid A B``), with the CLI's error policy."""
    from ..cli import GanzooArgumentParser

    parser = GanzooArgumentParser(prog="ganzoo")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["fid", *(sys.argv[1:] if argv is None else argv)])
    from ..errors import GanzooError

    try:
        return run_fid(args)
    except GanzooError as exc:
        print(f"ganzoo: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
