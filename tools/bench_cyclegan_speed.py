"""CycleGAN iteration speed: ganzoo's trainer vs a plain PyTorch re-implementation of the reference loop.

Both sides train the same CycleGAN (ResNet generators and 70x70 PatchGANs written out again here,
same widths and blocks, N(0, 0.02) init, least squares with D halved, cycle 10, identity 0.5 x 10,
image pools of 50, one Adam over both Gs and one over both Ds, batch 1) on the same in-memory
``two_domain`` images. The plain loop follows the authors' ``optimize_parameters``: forward (4
generator calls), D frozen, identity (2 more calls) and generator losses, one backward, G step;
then D unfrozen, ``backward_D_A`` and ``backward_D_B`` (each its own backward), D step; its pool
draws with Python's ``random`` as the reference does. ganzoo runs its whole trainer (loader, NaN
checks, logging, progress bar, lr schedulers) through ``ganzoo.trainer.train``; its time per
iteration comes from its own JSONL timestamps, so start-up is excluded.

Rounds alternate the two (and which goes first) in one process, so machine noise hits both alike.
Each round gives each side's mean ms/iteration over its block; reported are the medians over
rounds and the ratio ganzoo/plain (requirement: <= 1.0).

    python tools/bench_cyclegan_speed.py --steps 40 --rounds 5
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from torch import nn


# -- the plain re-implementation -------------------------------------------------------------------
class PlainResBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim))

    def forward(self, x):
        return x + self.conv_block(x)


def plain_generator(ngf: int, n_blocks: int) -> nn.Module:
    layers = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True),
              nn.Conv2d(ngf, ngf * 2, 3, 2, 1), nn.InstanceNorm2d(ngf * 2), nn.ReLU(True),
              nn.Conv2d(ngf * 2, ngf * 4, 3, 2, 1), nn.InstanceNorm2d(ngf * 4), nn.ReLU(True)]
    layers += [PlainResBlock(ngf * 4) for _ in range(n_blocks)]
    layers += [nn.ConvTranspose2d(ngf * 4, ngf * 2, 3, 2, 1, output_padding=1), nn.InstanceNorm2d(ngf * 2),
               nn.ReLU(True),
               nn.ConvTranspose2d(ngf * 2, ngf, 3, 2, 1, output_padding=1), nn.InstanceNorm2d(ngf), nn.ReLU(True),
               nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
    return nn.Sequential(*layers)


def plain_discriminator(ndf: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1), nn.InstanceNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1), nn.InstanceNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 1, 1), nn.InstanceNorm2d(ndf * 8), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 1))


def init_plain(net: nn.Module) -> nn.Module:
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
    return net


class PlainPool:
    """The reference's history buffer (Python ``random``)."""

    def __init__(self, size: int) -> None:
        self.size, self.images = size, []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                i = random.randint(0, self.size - 1)
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


def plain_iterations(a_images: torch.Tensor, b_images: torch.Tensor, steps: int, ngf: int, ndf: int,
                     n_blocks: int, state: dict | None = None) -> tuple[list[float], dict]:
    """Seconds of each of ``steps`` reference iterations (state carried over between rounds)."""
    if state is None:
        torch.manual_seed(0)
        G_A, G_B = init_plain(plain_generator(ngf, n_blocks)), init_plain(plain_generator(ngf, n_blocks))
        D_A, D_B = init_plain(plain_discriminator(ndf)), init_plain(plain_discriminator(ndf))
        state = {"nets": (G_A, G_B, D_A, D_B), "pools": (PlainPool(50), PlainPool(50)),
                 "opt_G": torch.optim.Adam(itertools.chain(G_A.parameters(), G_B.parameters()), 2e-4, (0.5, 0.999)),
                 "opt_D": torch.optim.Adam(itertools.chain(D_A.parameters(), D_B.parameters()), 2e-4, (0.5, 0.999)),
                 "gen": torch.Generator().manual_seed(0)}
    G_A, G_B, D_A, D_B = state["nets"]
    pool_A, pool_B = state["pools"]
    opt_G, opt_D, gen = state["opt_G"], state["opt_D"], state["gen"]
    mse, l1 = nn.MSELoss(), nn.L1Loss()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        real_A = a_images[torch.randint(0, len(a_images), (1,), generator=gen)]
        real_B = b_images[torch.randint(0, len(b_images), (1,), generator=gen)]
        fake_B = G_A(real_A)
        rec_A = G_B(fake_B)
        fake_A = G_B(real_B)
        rec_B = G_A(fake_A)
        for p in itertools.chain(D_A.parameters(), D_B.parameters()):
            p.requires_grad = False
        opt_G.zero_grad()
        idt_A = G_A(real_B)
        loss_idt_A = l1(idt_A, real_B) * 10 * 0.5
        idt_B = G_B(real_A)
        loss_idt_B = l1(idt_B, real_A) * 10 * 0.5
        pred = D_A(fake_B)
        loss_G_A = mse(pred, torch.ones_like(pred))
        pred = D_B(fake_A)
        loss_G_B = mse(pred, torch.ones_like(pred))
        loss_G = (loss_G_A + loss_G_B + l1(rec_A, real_A) * 10 + l1(rec_B, real_B) * 10
                  + loss_idt_A + loss_idt_B)
        loss_G.backward()
        opt_G.step()
        for p in itertools.chain(D_A.parameters(), D_B.parameters()):
            p.requires_grad = True
        opt_D.zero_grad()
        for D, real, fake in ((D_A, real_B, pool_B.query(fake_B)), (D_B, real_A, pool_A.query(fake_A))):
            pr, pf = D(real), D(fake.detach())
            loss_D = (mse(pr, torch.ones_like(pr)) + mse(pf, torch.zeros_like(pf))) * 0.5
            loss_D.backward()
        opt_D.step()
        float(loss_G), float(loss_D)  # what a training script prints now and then
        times.append(time.perf_counter() - t0)
    return times, state


# -- ganzoo ------------------------------------------------------------------------------------------
def ganzoo_iterations(out_dir: str, steps: int, ngf: int, ndf: int, n_blocks: int, size: int) -> float:
    """Seconds per iteration of ganzoo's trainer, from its JSONL timestamps (start-up excluded)."""
    from ganzoo.config import config_from_dict
    from ganzoo.trainer import train

    every = 5
    cfg = config_from_dict({
        "run": {"name": "speed", "out_dir": out_dir}, "device": "cpu", "seed": 0,
        "variant": {"name": "cyclegan", "ngf": ngf, "ndf": ndf, "n_blocks": n_blocks},
        "data": {"name": "two_domain", "image_size": size, "size": 512, "test_size": 16},
        "train": {"steps": steps + every, "batch_size": 1},
        "log": {"every": every, "image_every": 100_000, "num_images": 4, "tensorboard": True, "progress": True},
        "checkpoint": {"every": 100_000},
    })
    result = train(cfg)
    records = [json.loads(line) for line in result.jsonl.read_text().splitlines()]
    stamps = [(r["step"], r["time"]) for r in records if r.get("kind") == "train"]
    (s0, t0), (s1, t1) = stamps[0], stamps[-1]
    return (t1 - t0) / (s1 - s0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="iterations per side per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ngf", type=int, default=32)
    parser.add_argument("--ndf", type=int, default=32)
    parser.add_argument("--n-blocks", type=int, default=6)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    import warnings

    warnings.simplefilter("ignore")
    if args.threads:
        torch.set_num_threads(args.threads)
    from ganzoo.plugins import get_registry
    from ganzoo.trainer import take

    src = get_registry().get("datasets", "two_domain")
    data = take(src(src.Options(name="two_domain", image_size=args.size, size=512, test_size=16)).dataset("train"), 512)
    a_images, b_images = data["a"], data["b"]
    plain_state = None
    _, plain_state = plain_iterations(a_images, b_images, 3, args.ngf, args.ndf, args.n_blocks)  # warm-up
    ours, plain = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            def run_plain():
                times, _ = plain_iterations(a_images, b_images, args.steps, args.ngf, args.ndf,
                                            args.n_blocks, plain_state)
                plain.append(sum(times) / len(times))  # a block's mean, like ganzoo's timestamps

            def run_ours():
                ours.append(ganzoo_iterations(f"{tmp}/{r}", args.steps, args.ngf, args.ndf, args.n_blocks,
                                              args.size))

            for fn in ((run_plain, run_ours) if r % 2 == 0 else (run_ours, run_plain)):
                fn()
            print(f"round {r}: plain {plain[-1] * 1e3:.1f} ms/it, ganzoo {ours[-1] * 1e3:.1f} ms/it, "
                  f"ratio {ours[-1] / plain[-1]:.3f}", flush=True)
    mp, mo = statistics.median(plain), statistics.median(ours)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CycleGAN {args.size} px, "
          f"ngf={args.ngf} ndf={args.ndf} n_blocks={args.n_blocks}, batch 1, {args.steps} iterations x "
          f"{args.rounds} rounds")
    print(f"median plain {mp * 1e3:.2f} ms/it, ganzoo {mo * 1e3:.2f} ms/it, ratio ganzoo/plain {mo / mp:.3f}")


if __name__ == "__main__":
    main()
