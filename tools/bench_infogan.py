"""Benchmark: does InfoGAN, trained without labels, find the shape classes and factors?

On ganzoo's ``shapes`` (5 classes; centre, size and hue drawn at random), for one InfoGAN run:

1. **Categorical code vs class (Q on real images)**: Q's most likely category for each real
   held-out image against its true class, after the best one-to-one matching of categories to
   classes (Hungarian, ``scipy.optimize.linear_sum_assignment``): the paper's "InfoGAN as a
   classifier" figure (5% error on MNIST).
2. **Categorical code vs class (generated)**: ``n_per_code`` samples per category (noise and
   continuous codes random), classified by a small CNN trained on the real labelled images,
   then the same matching.
3. **Continuous codes**: rows of samples that move one continuous code from -span to +span with
   everything else fixed; per row, Spearman's rank correlation of the code with simple image
   statistics of the shape (foreground area ~ size, centroid x, centroid y). A code "moves a
   factor monotonically" when |rho| is near 1 in (almost) every row with one sign. The same
   statistics are checked against the true size/centre of real images first.

    python tools/bench_infogan.py --run runs/infogan-shapes          # score a run
    python tools/bench_infogan.py zoo_configs/infogan.yaml KEY=VALUE  # train, then score

Prints one JSON object (``--json FILE`` also writes it). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

STATS = ("area", "center_x", "center_y")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", nargs="?", help="config to train (without --run)")
    p.add_argument("overrides", nargs="*", help="config overrides KEY=VALUE")
    p.add_argument("--run", default=None, help="score this run folder instead of training one")
    p.add_argument("--n-real", type=int, default=2000, help="real held-out images for Q's accuracy")
    p.add_argument("--n-per-code", type=int, default=400, help="generated samples per category")
    p.add_argument("--rows", type=int, default=200, help="rows per continuous code")
    p.add_argument("--steps", type=int, default=9, help="code values per row")
    p.add_argument("--span", type=float, default=1.0, help="continuous codes from -span to span")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="also write the result here")
    return p.parse_args(argv)


def matched_accuracy(pred: np.ndarray, truth: np.ndarray, k_pred: int, k_true: int) -> tuple[float, list[int]]:
    """Accuracy of ``pred`` after the best one-to-one map of predicted to true labels."""
    from scipy.optimize import linear_sum_assignment

    confusion = np.zeros((k_pred, k_true), dtype=np.int64)
    np.add.at(confusion, (pred, truth), 1)
    rows, cols = linear_sum_assignment(-confusion)
    mapping = [-1] * k_pred
    for r, c in zip(rows, cols):
        mapping[r] = int(c)
    return float(confusion[rows, cols].sum() / len(pred)), mapping


def shape_stats(images) -> dict[str, np.ndarray]:
    """Per image: foreground area fraction and centroid (fractions of the side) of the pixels
    brighter than mid-grey in any channel (the background is black)."""
    import torch

    mask = (images.float().amax(dim=1) > 0).float()            # (N, H, W)
    n, h, w = mask.shape
    area = mask.flatten(1).mean(1)
    total = mask.flatten(1).sum(1).clamp_min(1.0)
    ys = (torch.arange(h, dtype=torch.float32) + 0.5) / h
    xs = (torch.arange(w, dtype=torch.float32) + 0.5) / w
    cx = (mask.sum(1) * xs).sum(1) / total
    cy = (mask.sum(2) * ys).sum(1) / total
    return {"area": area.numpy(), "center_x": cx.numpy(), "center_y": cy.numpy()}


def spearman_rows(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row of ``values`` (rows x steps) with ``codes`` (steps)."""
    from scipy.stats import spearmanr

    out = []
    for row in values:
        rho = spearmanr(codes, row).statistic if np.ptp(row) > 0 else 0.0
        out.append(0.0 if np.isnan(rho) else float(rho))
    return np.asarray(out)


def check_stats_on_real(source, n: int) -> dict[str, float]:
    """Spearman's rho of each statistic with the true parameter it stands for, on real images."""
    from scipy.stats import spearmanr

    from ganzoo.trainer import take

    data = source.dataset("test")
    batch = take(data, n)
    params = data.param_arrays()
    stats = shape_stats(batch["x"])
    truth = {"area": params["size"][:n], "center_x": params["center_x"][:n], "center_y": params["center_y"][:n]}
    return {k: float(spearmanr(stats[k], truth[k]).statistic) for k in STATS}


def categorical_scores(variant, source, info, args) -> dict:
    """Q on real held-out images and the classifier on generated samples, both matched."""
    import torch

    from ganzoo.metrics.classifier import train_classifier
    from ganzoo.trainer import take

    k_code, k_true = variant.options.n_categories, int(info.num_classes)
    real = take(source.dataset("test"), args.n_real)
    probs, _ = variant.infer_codes(real["x"].float())
    q_acc, q_map = matched_accuracy(probs.argmax(1).cpu().numpy(), real["y"].numpy(), k_code, k_true)
    clf, clf_acc = train_classifier(source, info, seed=args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    z = variant.latent_codes(args.n_per_code * k_code, generator=gen)
    noise, _, cont = variant.G.split(z)
    cats = torch.arange(k_code).repeat_interleave(args.n_per_code)
    images = variant.from_latent(variant.G.join(noise, cats.to(z.device), cont)).float().cpu()
    with torch.no_grad():
        pred = torch.cat([clf(x).argmax(1) for x in images.split(500)]).numpy()
    g_acc, g_map = matched_accuracy(cats.numpy(), pred, k_code, k_true)
    return {"q_real_matched_accuracy": q_acc, "q_real_mapping": q_map,
            "generated_matched_accuracy": g_acc, "generated_mapping": g_map,
            "classifier_heldout_accuracy": clf_acc}


def continuous_scores(variant, args) -> dict:
    """Per continuous code and statistic: mean rho over rows and the share of rows with
    |rho| >= 0.9 in the majority direction."""
    import torch

    out = {}
    codes = np.linspace(-args.span, args.span, args.steps)
    for i in range(variant.options.n_continuous):
        gen = torch.Generator().manual_seed(args.seed + 1 + i)
        z = variant.code_grid(f"cont{i}", args.steps, args.rows, generator=gen, span=args.span)
        stats = shape_stats(variant.from_latent(z).float().cpu())
        per = {}
        for name in STATS:
            rho = spearman_rows(stats[name].reshape(args.rows, args.steps), codes)
            sign = 1.0 if rho.mean() >= 0 else -1.0
            per[name] = {"mean_rho": float(rho.mean()), "share_monotone_0.9": float((sign * rho >= 0.9).mean())}
        best = max(STATS, key=lambda s: abs(per[s]["mean_rho"]))
        out[f"cont{i}"] = {"best_factor": best, **per}
    return out


def main(argv: list[str] | None = None) -> int:
    import torch

    from ganzoo.config import load_config
    from ganzoo.inference import load_run
    from ganzoo.plugins import get_registry
    from ganzoo.trainer import train

    args = parse_args(argv)
    torch.manual_seed(args.seed)
    result: dict = {}
    if args.run is None:
        if not args.config:
            print("give a config to train or --run RUN_DIR", file=sys.stderr)
            return 2
        t0 = time.process_time()
        trained_run = train(load_config(args.config, args.overrides))
        result["train_cpu_s"] = time.process_time() - t0
        run_dir = trained_run.run_dir
    else:
        run_dir = Path(args.run)
    trained = load_run(run_dir)
    cfg, info, variant = trained.config, trained.info, trained.variant
    source = get_registry().get("datasets", cfg.data.name)(cfg.data)
    result.update({"run": str(run_dir), "step": trained.step, "seed": cfg.seed})
    result["stats_vs_true_params_on_real"] = check_stats_on_real(source, args.n_real)
    result.update(categorical_scores(variant, source, info, args))
    result["continuous"] = continuous_scores(variant, args)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
