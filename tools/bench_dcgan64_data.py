"""Is DCGAN training at 64 px waiting on data? Loader images/s next to training images/s.

Three measurements in one process, rounds alternating, on the same JPEG folder (2000 images of
80-128 px, made here as in ``bench_loader.py``):

1. ``loader``: ganzoo's ``image_folder`` + ``make_loader`` alone (decode, resize to 64, batch);
2. ``train from JPEGs``: ``ganzoo.trainer.train`` of the DCGAN at 64 px (ngf = ndf = 64,
   batch 64) reading that folder through the same loader;
3. ``train from memory``: the same training on the same images already decoded to 64x64 and
   stored in one ``.npz`` file (no decoding, no resizing).

Training images/s come from the trainer's own log timestamps (start-up excluded). If (2) is
as fast as (3), training does not wait on data; (1) / (2) is the loader's headroom.

    python tools/bench_dcgan64_data.py --workers 0 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_loader import make_jpegs  # noqa: E402  (the same synthetic JPEG folder)


def loader_images_per_s(folder: Path, workers: int, batch: int, warmup: int = 4, batches: int = 30) -> float:
    from ganzoo.data.folder import ImageFolder
    from ganzoo.data.loader import make_loader

    src = ImageFolder(ImageFolder.Options(name="image_folder", root=str(folder), image_size=64))
    it = make_loader(src.dataset(), batch_size=batch, seed=0, num_workers=workers)
    try:
        for _ in range(warmup):
            next(it)
        t0 = time.perf_counter()
        for _ in range(batches):
            next(it)
        return batches * batch / (time.perf_counter() - t0)
    finally:
        it.close()


def train_images_per_s(out: Path, data: dict, workers: int, batch: int, steps: int) -> float:
    from ganzoo.config import config_from_dict
    from ganzoo.trainer import train

    every = 10
    cfg = config_from_dict({
        "run": {"name": "dcgan64", "out_dir": str(out)}, "device": "cpu",
        "variant": {"name": "dcgan", "ngf": 64, "ndf": 64},
        "data": data,
        "train": {"steps": steps + every, "batch_size": batch, "num_workers": workers},
        "log": {"every": every, "image_every": 100_000, "tensorboard": False, "progress": False},
        "checkpoint": {"every": 100_000},
    })
    result = train(cfg)
    stamps = [(r["step"], r["time"]) for r in map(json.loads, result.jsonl.read_text().splitlines())
              if r.get("kind") == "train"]
    (s0, t0), (s1, t1) = stamps[0], stamps[-1]
    return (s1 - s0) * batch / (t1 - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers for (1) and (2)")
    p.add_argument("--steps", type=int, default=30, help="timed training steps per round")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    warnings.simplefilter("ignore")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = tmp / "jpegs"
        make_jpegs(folder, args.images)
        from ganzoo.data.folder import ImageFolder
        from ganzoo.trainer import take

        src = ImageFolder(ImageFolder.Options(name="image_folder", root=str(folder), image_size=64))
        x = take(src.dataset(), args.images)["x"]                      # (N, 3, 64, 64) in [-1, 1]
        u8 = ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        np.savez(tmp / "decoded.npz", images=u8)
        jpeg_data = {"name": "image_folder", "root": str(folder), "image_size": 64}
        npz_data = {"name": "npz", "root": str(tmp / "decoded.npz"), "image_size": 64}

        rows: dict[str, list[float]] = {"loader": [], "train from JPEGs": [], "train from memory": []}
        for r in range(args.rounds):
            rows["loader"].append(loader_images_per_s(folder, args.workers, args.batch_size))
            rows["train from JPEGs"].append(
                train_images_per_s(tmp / f"j{r}", jpeg_data, args.workers, args.batch_size, args.steps))
            rows["train from memory"].append(
                train_images_per_s(tmp / f"m{r}", npz_data, 0, args.batch_size, args.steps))
            print(f"round {r}: " + ", ".join(f"{k} {v[-1]:.0f} img/s" for k, v in rows.items()), flush=True)

    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, workers {args.workers}, "
          f"batch {args.batch_size}, {args.steps} steps x {args.rounds} rounds")
    print("| measurement | images/s (median) | per round |\n|---|---:|---|")
    for k, v in rows.items():
        print(f"| {k} | {med[k]:.0f} | {', '.join(f'{x:.0f}' for x in v)} |")
    print(f"loader / training from JPEGs: {med['loader'] / med['train from JPEGs']:.1f}x headroom; "
          f"training from JPEGs / from memory: {med['train from JPEGs'] / med['train from memory']:.3f}")


if __name__ == "__main__":
    main()
