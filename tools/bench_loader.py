"""Benchmark: ganzoo's image-folder loader vs a plain Pillow + torch DataLoader loop.

Both read the same JPEG folder (made here: square images of 80-128 px), resize to 64x64, produce
float32 [-1, 1] batches of (B, 3, 64, 64), shuffle, and use the same number of worker processes.
Rounds alternate between the two; each round discards its first batches (worker start-up) and
times the next ones. Reports the median images/s of each and their ratio, and images per CPU
second of the main and worker processes (robust when other jobs share the machine).

    python tools/bench_loader.py --workers 2 0 --out docs/bench_loader.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def make_jpegs(folder: Path, n: int, seed: int = 0) -> None:
    """Smooth random colour fields plus noise, 80-128 px square, JPEG quality 90."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        s = int(rng.integers(80, 129))
        base = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((s, s), Image.BICUBIC)
        arr = np.asarray(base).astype(np.int16) + rng.integers(-25, 26, (s, s, 3))
        Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(folder / f"{i:05d}.jpg", quality=90)


class PlainFolder(torch.utils.data.Dataset):
    """The usual way: open, convert, resize with Pillow, to a float tensor, one item at a time."""

    def __init__(self, folder: Path, size: int) -> None:
        self.paths = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".jpg")
        self.size = size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        img = Image.open(self.paths[i]).convert("RGB").resize((self.size, self.size), Image.BILINEAR)
        x = torch.from_numpy(np.array(img)).permute(2, 0, 1).float().div(127.5).sub(1.0)
        return {"x": x}


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def time_batches(it, workers, warmup: int, batches: int, batch_size: int) -> tuple[float, float]:
    """(images per wall-clock second, images per CPU second of the main and worker processes)."""
    for _ in range(warmup):
        next(it)
    pids = [os.getpid()] + [w.pid for w in workers()]
    c0, t0 = cpu_seconds(pids), time.perf_counter()
    for _ in range(batches):
        b = next(it)
        assert b["x"].shape[0] == batch_size
    wall, cpu = time.perf_counter() - t0, cpu_seconds(pids) - c0
    n = batches * batch_size
    return n / wall, n / max(cpu, 1e-9)


def round_plain(folder: Path, args: argparse.Namespace) -> tuple[float, float]:
    ds = PlainFolder(folder, args.size)
    dl = torch.utils.data.DataLoader(ds, batch_size=args.batch_size, shuffle=True, drop_last=True,
                                     num_workers=args.workers, persistent_workers=args.workers > 0,
                                     generator=torch.Generator().manual_seed(0))

    def forever():
        while True:
            yield from dl  # persistent workers: every epoch reuses the same processes

    gen = forever()
    try:
        return time_batches(gen, lambda: getattr(dl._iterator, "_workers", []), args.warmup, args.batches,
                            args.batch_size)
    finally:
        gen.close()
        if dl._iterator is not None and hasattr(dl._iterator, "_shutdown_workers"):
            dl._iterator._shutdown_workers()


def round_ganzoo(folder: Path, args: argparse.Namespace) -> tuple[float, float]:
    from ganzoo.data.folder import ImageFolder
    from ganzoo.data.loader import make_loader

    src = ImageFolder(ImageFolder.Options(name="image_folder", root=str(folder), image_size=args.size))
    it = make_loader(src.dataset(), batch_size=args.batch_size, seed=0, num_workers=args.workers)
    try:
        return time_batches(it, lambda: getattr(it._it, "_workers", []), args.warmup, args.batches,
                            args.batch_size)
    finally:
        it.close()


def run_setting(folder: Path, args: argparse.Namespace) -> dict:
    """Alternating rounds for one worker count; medians and ratios."""
    plain, ours = [], []
    for r in range(args.rounds):
        plain.append(round_plain(folder, args))
        ours.append(round_ganzoo(folder, args))
        print(f"workers {args.workers} round {r + 1}: plain {plain[-1][0]:6.0f} img/s "
              f"{plain[-1][1]:6.0f} img/cpu-s   ganzoo {ours[-1][0]:6.0f} img/s {ours[-1][1]:6.0f} img/cpu-s",
              flush=True)
    res = {"workers": args.workers, "plain": plain, "ours": ours}
    res["mp"], res["mo"] = (statistics.median(v[0] for v in x) for x in (plain, ours))
    res["cp"], res["co"] = (statistics.median(v[1] for v in x) for x in (plain, ours))
    res["paired"] = statistics.median(o[0] / q[0] for o, q in zip(ours, plain))
    res["ratio"], res["cpu_ratio"] = res["mo"] / res["mp"], res["co"] / res["cp"]
    print(f"workers {args.workers} median: plain {res['mp']:.0f} img/s, ganzoo {res['mo']:.0f} img/s, "
          f"ratio {res['ratio']:.2f} (median of per-round ratios {res['paired']:.2f}); per CPU second: "
          f"plain {res['cp']:.0f}, ganzoo {res['co']:.0f}, ratio {res['cpu_ratio']:.2f}")
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, nargs="+", default=[2], help="worker counts to compare at")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--warmup", type=int, default=4, help="batches dropped per round (worker start-up)")
    p.add_argument("--batches", type=int, default=40, help="timed batches per round")
    p.add_argument("--folder", type=Path, default=None, help="reuse/make the JPEGs here (default: temp)")
    p.add_argument("--out", type=Path, default=None, help="write a Markdown report here")
    args = p.parse_args(argv)

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or Path(tmp) / "jpegs"
        if not folder.exists() or not any(folder.glob("*.jpg")):
            make_jpegs(folder, args.images)
        for w in args.workers:
            results.append(run_setting(folder, argparse.Namespace(**{**vars(args), "workers": w})))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    if args.out:
        cmd = "python tools/bench_loader.py " + " ".join(sys.argv[1:] if argv is None else argv)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        lines = [
            "# Loader benchmark: JPEG folder to 64x64 batches",
            "",
            f"Command: `{cmd}`",
            "",
            f"Machine: {platform.processor() or platform.machine()}, {cores} CPU cores available, "
            f"Python {platform.python_version()}, torch {torch.__version__}, Pillow {Image.__version__}; "
            f"load average {load:.1f} when it finished (other jobs were sharing the machine).",
            "",
            f"Data: {args.images} JPEGs (quality 90), square, 80-128 px, made by the script. Both loaders "
            f"resize to {args.size}x{args.size}, produce float32 [-1, 1] batches of {args.batch_size}, "
            f"shuffle, and use the same number of worker processes. {args.rounds} alternating rounds per "
            f"setting; each drops {args.warmup} batches (worker start-up) and times {args.batches}.",
            "",
            "| workers | loader | images/s (median) | images per CPU-second (median) | images/s per round |",
            "|---|---|---|---|---|",
        ]
        for r in results:
            lines += [
                f"| {r['workers']} | Pillow + torch DataLoader | {r['mp']:.0f} | {r['cp']:.0f} | "
                f"{', '.join(f'{v[0]:.0f}' for v in r['plain'])} |",
                f"| {r['workers']} | ganzoo `image_folder` + `make_loader` | {r['mo']:.0f} | {r['co']:.0f} | "
                f"{', '.join(f'{v[0]:.0f}' for v in r['ours'])} |",
            ]
        lines += ["", "| workers | ratio ganzoo / plain, images/s (median of per-round ratios) | "
                      "ratio, images per CPU-second |", "|---|---|---|"]
        for r in results:
            lines.append(f"| {r['workers']} | **{r['ratio']:.2f}** ({r['paired']:.2f}) | **{r['cpu_ratio']:.2f}** |")
        lines += [
            "",
            "Images per CPU-second count the main and worker processes (from /proc) and depend much "
            "less on what else the machine runs than images/s do, so on a shared machine the CPU ratio "
            "is the steadier number.",
            "",
            "Where the difference comes from (same decoder, same worker count):",
            "",
            "- resizing runs on the decoded uint8 pixels with torch's antialiased bilinear kernel "
            "(agrees with Pillow's to within one or two grey levels, tested) instead of Pillow's, "
            "which is about twice as fast on these sizes;",
            "- JPEGs that are at least twice the target size are decoded at 1/2, 1/4 or 1/8 scale "
            "(Pillow's `draft`; set `jpeg_draft: false` to turn it off); with 80-128 px sources and a "
            "64 px target that only applies to the 128 px ones;",
            "- pixels stay uint8 until one float conversion per batch, written straight into a "
            "shared-memory batch tensor (no per-item float tensors, no re-stacking in collate);",
            "- without workers, the per-image work runs on one thread: torch would otherwise spread "
            "each small op over its OpenMP threads, whose spin-waiting about doubled the CPU per image.",
            "",
            "JPEG decoding itself (Pillow/libjpeg) is the same in both and is most of the time, which "
            "bounds the possible gain at these image sizes.",
            "",
        ]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
