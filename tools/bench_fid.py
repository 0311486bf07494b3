"""Benchmarks for ganzoo's FID path, side by side in one run.

1. Frechet distance at d=2048: eigenvalue method (default) vs pytorch-fid's scipy.linalg.sqrtm
   formula on the same random full-rank covariances (wall and CPU time, ratio, agreement;
   best of 3 for the eigenvalue method, one sqrtm run).
2. Peak memory of ``fid --save-stats`` on 2,000 vs 20,000 images. Each size runs in a fresh
   subprocess over a real folder of 32x32 PNGs through the real pipeline (file listing, Pillow
   decoding, DataLoader batches of 50, the per-batch resize, the streaming float64 accumulator,
   the .npz writer); the Inception forward pass is replaced by a fixed random projection to 2048
   features, because 20k images through Inception at 299 px takes hours on 2 CPU cores and the
   network's memory is per batch anyway. Peak RSS (VmHWM) is reported, together with the
   same measurement for pytorch-fid's approach (all activations kept in an N x 2048 float64 array,
   then ``numpy.cov``).
3. Feature-extraction throughput (images/s) of the FID Inception v3 with random weights (same
   shapes and cost as the real ones): the network alone on in-memory 32x32 batches (resized to
   299 inside) in ganzoo's CPU layout (channels_last) and in the default contiguous layout that
   pytorch-fid runs (same operations), and the whole folder pipeline (decode + resize + network +
   statistics).

Usage: python tools/bench_fid.py [--threads 2] [--skip-memory] [--images 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def bench_frechet(d: int = 2048, repeats: int = 3) -> dict:
    from ganzoo.metrics.fid import frechet_distance

    rng = np.random.default_rng(0)
    covs, mus = [], []
    for scale in (1.0, 1.3):
        a = rng.standard_normal((d, d)) * scale
        covs.append(a @ a.T / d + 1e-3 * np.eye(d))
        mus.append(rng.standard_normal(d) * 0.1)
    eig_times, eig_cpu, values = [], [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        values.append(frechet_distance(mus[0], covs[0], mus[1], covs[1]))
        eig_times.append(time.perf_counter() - t)
        eig_cpu.append(time.process_time() - c)
    t, c = time.perf_counter(), time.process_time()
    exact = frechet_distance(mus[0], covs[0], mus[1], covs[1], exact_sqrtm=True)
    sqrtm_time, sqrtm_cpu = time.perf_counter() - t, time.process_time() - c
    best = min(eig_times)
    return {"d": d, "eig_seconds": best, "eig_seconds_all": eig_times, "eig_cpu_seconds": min(eig_cpu),
            "sqrtm_seconds": sqrtm_time, "sqrtm_cpu_seconds": sqrtm_cpu,
            "speedup": sqrtm_time / best, "speedup_cpu_time": sqrtm_cpu / min(eig_cpu),
            "fid_eig": values[0], "fid_sqrtm": exact,
            "relative_difference": abs(values[0] - exact) / abs(exact)}


def make_folder(folder: Path, n: int, size: int = 32) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    have = len(list(folder.glob("*.png")))
    for i in range(have, n):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"{i:06d}.png")


def _projection_extractor():
    """Stands in for Inception: same batch interface, 2048-d output, negligible cost."""
    import torch
    import torch.nn.functional as F

    from ganzoo.metrics.features import FeatureExtractor
    from ganzoo.metrics.inception import resize_for_inception

    class Projection(FeatureExtractor):
        name, dims, weights_hash, resize = "projection", 2048, None, "bilinear 299"
        device = torch.device("cpu")

        def __init__(self) -> None:
            g = torch.Generator().manual_seed(0)
            self.w = torch.randn(3 * 16 * 16, 2048, generator=g)

        def batch_outputs(self, x, logits=False):
            x = resize_for_inception(x)  # the real per-batch resize, as in the network
            return F.adaptive_avg_pool2d(2 * x - 1, 16).flatten(1) @ self.w, None

    return Projection()


def peak_rss_mib() -> float:
    """This process's peak resident set size. VmHWM belongs to the process's own address space;
    ``ru_maxrss`` is not used because Linux carries it over from the parent across fork+exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:  # not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(folder: str, n: int, mode: str, out: str) -> None:
    """Run save-stats on the first ``n`` images of ``folder``; print peak RSS in MiB."""
    from ganzoo.metrics.fid import StatsAccumulator, save_stats
    from ganzoo.metrics.images import image_batches, list_images

    files = list_images(folder)[:n]
    ext = _projection_extractor()
    base = peak_rss_mib()
    if mode == "stream":
        acc = StatsAccumulator()
        for feats, _ in ext.iter_outputs(image_batches(files, 50, num_workers=0)):
            acc.update(feats)
        stats = acc.stats()
    else:  # pytorch-fid: keep every activation, then np.mean / np.cov
        from ganzoo.metrics.fid import FIDStats

        arr = np.empty((len(files), 2048))
        i = 0
        for feats, _ in ext.iter_outputs(image_batches(files, 50, num_workers=0)):
            arr[i:i + len(feats)] = feats.numpy()
            i += len(feats)
        stats = FIDStats(np.mean(arr, axis=0), np.cov(arr, rowvar=False), len(files))
    save_stats(out, stats)
    print(json.dumps({"n": len(files), "mode": mode, "peak_rss_mib": peak_rss_mib(),
                      "peak_rss_before_loop_mib": base}))


def bench_memory(sizes: list[int], workdir: Path) -> list[dict]:
    folder = workdir / "pngs"
    t = time.perf_counter()
    make_folder(folder, max(sizes))
    print(f"  folder of {max(sizes)} PNGs ready in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    rows = []
    for mode in ("stream", "store"):
        for n in sizes:
            t = time.perf_counter()
            res = subprocess.run([sys.executable, __file__, "--_memory-child", str(folder), str(n), mode,
                                  str(workdir / f"s{n}{mode}.npz")], capture_output=True, text=True,
                                 check=True, env={**os.environ})
            row = json.loads(res.stdout.strip().splitlines()[-1])
            row["seconds"] = time.perf_counter() - t
            rows.append(row)
            print(f"  {mode:6s} n={n:6d}: peak RSS {row['peak_rss_mib']:.1f} MiB ({row['seconds']:.0f}s)",
                  file=sys.stderr)
    return rows


def bench_throughput(n_memory: int = 100, n_folder: int = 100, batch: int = 50,
                     workdir: Path | None = None) -> dict:
    import torch

    from ganzoo.commands.fid import _folder_stats
    from ganzoo.metrics.features import InceptionExtractor
    from ganzoo.metrics.inception import FIDInceptionV3

    torch.manual_seed(0)
    path = Path(workdir) / "random_inception.pth"
    if not path.exists():
        torch.save(FIDInceptionV3().state_dict(), path)
    ext = InceptionExtractor(weights=path, dims=2048, device="cpu", progress=False)
    x = torch.rand(n_memory, 3, 32, 32)
    rates: dict[str, list[float]] = {"channels_last": [], "contiguous": []}
    for _ in range(2):  # interleaved, best of 2: the layouts see the same machine load
        for layout in rates:
            ext.net.use_channels_last(layout == "channels_last")
            with torch.inference_mode():
                ext.net(x[:2])  # warm-up
            t = time.perf_counter()
            for _ in ext.iter_outputs(x.split(batch)):
                pass
            rates[layout].append(n_memory / (time.perf_counter() - t))
    ext.net.use_channels_last(True)
    net_rate = max(rates["channels_last"])
    folder = Path(workdir) / "pngs"
    make_folder(folder, n_folder)
    sub = Path(workdir) / "pngs_small"
    sub.mkdir(exist_ok=True)
    for p in sorted(folder.glob("*.png"))[:n_folder]:
        if not (sub / p.name).exists():
            os.link(p, sub / p.name)
    args = argparse.Namespace(batch_size=batch, num_workers=None, no_progress=True)
    t = time.perf_counter()
    _folder_stats(str(sub), ext, args)
    folder_rate = n_folder / (time.perf_counter() - t)
    return {"network_images_per_s": net_rate,
            "network_images_per_s_contiguous_layout": max(rates["contiguous"]),
            "network_runs": rates, "folder_pipeline_images_per_s": folder_rate,
            "n_network": n_memory, "n_folder": n_folder, "batch_size": batch}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="torch/BLAS threads (default 2)")
    ap.add_argument("--images", type=int, default=20000, help="largest save-stats size (default 20000)")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-frechet", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--throughput-images", type=int, default=100)
    ap.add_argument("--workdir", default=None, help="where to keep the PNG folder (default: a temp dir)")
    ap.add_argument("--json", default=None, help="also write the results to this file")
    ap.add_argument("--_memory-child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args._memory_child:
        folder, n, mode, out = args._memory_child
        memory_child(folder, int(n), mode, out)
        return 0
    results: dict = {"threads": args.threads, "load_average_start": os.getloadavg()}
    tmp = tempfile.TemporaryDirectory() if args.workdir is None else None
    workdir = Path(args.workdir or tmp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    if not args.skip_frechet:
        print("Frechet distance, d=2048 ...", file=sys.stderr)
        results["frechet"] = r = bench_frechet()
        print(f"  eigenvalues {r['eig_seconds']:.2f}s, sqrtm {r['sqrtm_seconds']:.2f}s, speed-up "
              f"{r['speedup']:.1f}x (CPU time {r['speedup_cpu_time']:.1f}x), relative difference "
              f"{r['relative_difference']:.1e}", file=sys.stderr)
    if not args.skip_memory:
        print("save-stats peak memory ...", file=sys.stderr)
        results["memory"] = bench_memory([args.images // 10, args.images], workdir)
    if not args.skip_throughput:
        print("Inception throughput ...", file=sys.stderr)
        results["throughput"] = r = bench_throughput(args.throughput_images, args.throughput_images,
                                                     workdir=workdir)
        print(f"  network {r['network_images_per_s']:.2f} img/s (pytorch-fid's contiguous layout: "
              f"{r['network_images_per_s_contiguous_layout']:.2f}), folder pipeline "
              f"{r['folder_pipeline_images_per_s']:.2f} img/s", file=sys.stderr)
    results["load_average_end"] = os.getloadavg()
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
