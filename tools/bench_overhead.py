"""Framework overhead: ganzoo's DCGAN training step vs the same model in a plain PyTorch loop.

Both sides train the same DCGAN (same layers, init, Adam settings, loss, batch size) on the same
in-memory built-in shapes. ganzoo runs its whole trainer (loader, logging every 50 steps, progress
bar, NaN checks); the plain loop is what a user would write by hand. Blocks of steps alternate
between the two in one process so that machine noise hits both alike. Reported: each round's
ratio ganzoo / plain (its two blocks ran back to back) and the median of those ratios (<= 1.03 is
the target), next to the ratio of the two sides' median seconds per step.

    python tools/bench_overhead.py --steps 100 --rounds 9 --ngf 32
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from torch import nn


def plain_dcgan(z_dim: int, ngf: int, ndf: int, channels: int = 3) -> tuple[nn.Module, nn.Module]:
    """DCGAN for 32 px written out by hand (what the plain loop trains)."""
    G = nn.Sequential(
        nn.ConvTranspose2d(z_dim, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, channels, 4, 2, 1, bias=False), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(channels, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False))
    for m in list(G.modules()) + list(D.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return G, D


def plain_steps(images: torch.Tensor, steps: int, batch: int, z_dim: int, ngf: int, ndf: int) -> float:
    """Seconds per step of a hand-written DCGAN loop."""
    torch.manual_seed(0)
    G, D = plain_dcgan(z_dim, ngf, ndf)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(steps):
        real = images[torch.randint(0, len(images), (batch,), generator=gen)]
        z = torch.randn(batch, z_dim, 1, 1)
        with torch.no_grad():
            fake = G(z)
        d_real, d_fake = D(real).view(-1), D(fake).view(-1)
        loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        z = torch.randn(batch, z_dim, 1, 1)
        d_gen = D(G(z)).view(-1)
        loss_g = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
    return (time.perf_counter() - t0) / steps


def ganzoo_steps(out_dir: str, steps: int, batch: int, z_dim: int, ngf: int, ndf: int) -> float:
    """Seconds per step of ganzoo's trainer, from its own JSONL timestamps (start-up excluded)."""
    import json

    from ganzoo.config import config_from_dict
    from ganzoo.trainer import train

    every = 50  # the default log interval; steps is rounded up to a multiple of it
    steps = -(-steps // every) * every
    cfg = config_from_dict({
        "run": {"name": "overhead", "out_dir": out_dir}, "device": "cpu",
        "variant": {"name": "dcgan", "z_dim": z_dim, "ngf": ngf, "ndf": ndf},
        "data": {"name": "shapes", "image_size": 32, "size": 2048},
        "train": {"steps": steps + every, "batch_size": batch},
        "log": {"every": every, "image_every": 10_000, "tensorboard": True, "progress": True},
        "checkpoint": {"every": 10_000},
    })
    result = train(cfg)
    records = [json.loads(line) for line in result.jsonl.read_text().splitlines()]
    stamps = [(r["step"], r["time"]) for r in records if r.get("kind") == "train"]
    (s0, t0), (s1, t1) = stamps[0], stamps[-1]
    return (t1 - t0) / (s1 - s0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--z-dim", type=int, default=100)
    args = parser.parse_args()
    import warnings

    warnings.simplefilter("ignore")
    from ganzoo.plugins import get_registry

    src = get_registry().get("datasets", "shapes")
    data = src(src.Options(name="shapes", image_size=32, size=2048)).dataset("train")
    from ganzoo.trainer import take

    images = take(data, len(data))["x"]
    ours, plain = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            plain.append(plain_steps(images, args.steps, args.batch, args.z_dim, args.ngf, args.ngf))
            ours.append(ganzoo_steps(f"{tmp}/{r}", args.steps, args.batch, args.z_dim, args.ngf, args.ngf))
            print(f"round {r}: plain {plain[-1] * 1e3:.1f} ms/step, ganzoo {ours[-1] * 1e3:.1f} ms/step, "
                  f"ratio {ours[-1] / plain[-1]:.3f}")
    mp, mo = statistics.median(plain), statistics.median(ours)
    paired = statistics.median(o / p for o, p in zip(ours, plain))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, DCGAN 32 px, ngf=ndf={args.ngf}, "
          f"batch {args.batch}, {args.steps} steps x {args.rounds} rounds")
    print(f"median plain {mp * 1e3:.2f} ms/step, ganzoo {mo * 1e3:.2f} ms/step, ratio of medians {mo / mp:.3f}")
    print(f"median of the per-round ratios ganzoo/plain (each round's two blocks ran back to back): "
          f"{paired:.3f}")


if __name__ == "__main__":
    main()
