"""Adversarial autoencoder benchmark: do the codes follow the prior, and do decoded prior draws
beat a plain autoencoder's?

Per seed, two runs of ``zoo_configs/aae.yaml`` (with ``--set`` overrides) at equal CPU time (one
thread, ``train.time_limit_clock=cpu``, at most two at once): the AAE itself, and the same network
trained as a **plain autoencoder** (``variant.adv_weight=0``: reconstruction only; D still trains
but never reaches E). Then, on held-out shapes (the test split, never trained on):

* **codes vs the prior** (N(0, I) by default): the mean over code dimensions of the
  Kolmogorov-Smirnov distance between each dimension's codes and the prior's marginal, and the
  squared MMD (Gaussian kernel, median-distance bandwidth) between ``--n`` codes and ``--n``
  prior draws; for the AAE, the plain autoencoder, an **untrained encoder** of the same
  architecture (the run's seed) and, as the noise floor, a second set of prior draws;
* **FID** with ganzoo's ``classifier:shapes`` feature extractor (a small CNN trained on the
  shapes data, seed 0; not comparable with Inception FIDs), ``--n`` images against ``--n`` test
  images: samples (decoded prior draws) and reconstructions G(E(x)) of both models.

Usage: python tools/bench_aae.py --seeds 0 1 2 --cpu-seconds 60 --out /tmp/bench_aae \
    [--set data.image_size=16 ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_bigan import ROOT, features, mean_se, test_images, train_runs  # noqa: E402


def ks_to_prior(codes: torch.Tensor, std: float) -> float:
    """Mean over dimensions of sup |F_codes - F_prior| (the prior's marginal is N(0, std^2))."""
    n = codes.shape[0]
    sorted_codes, _ = codes.sort(0)
    cdf = torch.special.ndtr(sorted_codes.double() / std)
    upper = (torch.arange(1, n + 1, dtype=torch.float64) / n)[:, None]
    gaps = torch.maximum(upper - cdf, cdf - (upper - 1.0 / n))
    return float(gaps.max(0).values.mean())


def mmd2(a: torch.Tensor, b: torch.Tensor) -> float:
    """Unbiased squared MMD with a Gaussian kernel of median-distance bandwidth (pooled sample)."""
    both = torch.cat([a, b]).double()
    d2 = torch.cdist(both, both).pow(2)
    k = torch.exp(-d2 / d2[d2 > 0].median())
    n, m = a.shape[0], b.shape[0]
    kaa, kbb, kab = k[:n, :n], k[n:, n:], k[:n, n:]
    return float((kaa.sum() - kaa.diag().sum()) / (n * (n - 1))
                 + (kbb.sum() - kbb.diag().sum()) / (m * (m - 1)) - 2 * kab.mean())


def fid(extractor, a: torch.Tensor, b: torch.Tensor) -> float:
    from ganzoo.metrics.features import to_unit
    from ganzoo.metrics.fid import fid_from_stats, stats_from_features

    fa, _ = extractor.extract(a, transform=to_unit)
    fb, _ = extractor.extract(b, transform=to_unit)
    return fid_from_stats(stats_from_features(fa), stats_from_features(fb))


def evaluate(aae_dir: Path, ae_dir: Path, seed: int, n: int) -> dict[str, float]:
    from ganzoo.inference import load_run
    from ganzoo.metrics.classifier import ClassifierExtractor
    from ganzoo.trainer import build

    aae, ae = load_run(aae_dir), load_run(ae_dir)
    cfg = aae.config
    x, _ = test_images(cfg, 2 * n)
    real, held = x[:n], x[n:]
    torch.manual_seed(seed)
    untrained = build(cfg, torch.device("cpu"))[2].eval()
    gen = torch.Generator().manual_seed(seed)
    prior = aae.variant.prior_draw(n, generator=gen)
    floor = aae.variant.prior_draw(n, generator=gen)
    std = cfg.variant.prior_std
    out: dict[str, float] = {"steps_aae": aae.step, "steps_ae": ae.step}
    for name, model in (("aae", aae.variant), ("ae", ae.variant), ("untrained", untrained)):
        codes = features(model.encode, held)
        out[f"ks_{name}"], out[f"mmd2_{name}"] = ks_to_prior(codes, std), mmd2(codes, prior)
    out["ks_prior"], out["mmd2_prior"] = ks_to_prior(floor, std), mmd2(floor, prior)
    extractor = ClassifierExtractor(data_info=aae.info, seed=0)
    for name, model in (("aae", aae.variant), ("ae", ae.variant)):
        out[f"fid_samples_{name}"] = fid(extractor, model.sample(n, generator=gen).float(), real)
        out[f"fid_recon_{name}"] = fid(extractor, features(model.reconstruct, held).view_as(held), real)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=ROOT / "zoo_configs" / "aae.yaml")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--cpu-seconds", type=float, default=60)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--parallel", type=int, default=2, help="trainings at once")
    p.add_argument("--set", dest="sets", nargs="*", default=[], help="extra config overrides")
    p.add_argument("--out", type=Path, default=Path("/tmp/bench_aae"))
    args = p.parse_args()
    torch.set_num_threads(1)
    aae = train_runs(args.config, args.seeds, args.cpu_seconds, args.out, args.sets, "aae", args.parallel)
    ae = train_runs(args.config, args.seeds, args.cpu_seconds, args.out,
                    [*args.sets, "variant.adv_weight=0"], "ae", args.parallel)
    results = {s: evaluate(aae[s], ae[s], s, args.n) for s in args.seeds}
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    for key in results[args.seeds[0]]:
        print(f"| {key} | {mean_se([results[s][key] for s in args.seeds])} | "
              + " / ".join(f"{results[s][key]:.4f}" for s in args.seeds) + " |")


if __name__ == "__main__":
    main()
