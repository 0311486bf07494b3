"""BiGAN/ALI benchmark: do the encoder's codes carry the class, and does G(E(x)) give x back?

For each seed, ``zoo_configs/bigan.yaml`` (with ``--set`` overrides) trains on one thread until it
has used ``--cpu-seconds`` of CPU (``train.time_limit_clock=cpu``, so runs sharing a busy machine
get equal compute; at most two train at once). Then, on held-out shapes (the data set's test
split, never trained on; the true class of every image is known):

* **linear probe**: multinomial logistic regression (standardised features, L2 1e-3, LBFGS) fit on
  the codes E(x) of ``--probe-train`` test-split images, accuracy on ``--probe-test`` others; next to
  the same probe on an **untrained encoder** of the same architecture (initialised with the run's
  seed) and on the raw pixels;
* **reconstruction error**: mean squared error of G(E(x)) against x (pixels in [-1, 1]), next to
  the error of a random sample G(z) against x (what a G that ignored the code would score).

Mean +- standard error over seeds, as a Markdown table and JSON (``--out``/results.json).

Usage: python tools/bench_bigan.py --seeds 0 1 2 --cpu-seconds 150 --out /tmp/bench_bigan \
    [--set data.image_size=16 ...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def train_runs(config: Path, seeds: list[int], cpu_seconds: float, out: Path, sets: list[str],
               name: str, parallel: int = 2) -> dict[int, Path]:
    """Train one run per seed (``parallel`` at a time, one thread each); returns the run folders."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    pending, running, folders = list(seeds), [], {}
    while pending or running:
        while pending and len(running) < parallel:
            seed = pending.pop(0)
            run_name = f"{name}-seed{seed}"
            folders[seed] = out / run_name
            if (folders[seed] / "samples" / "final.png").is_file():
                continue  # already trained (re-running the tool only re-evaluates)
            cmd = [sys.executable, "-m", "ganzoo", "run", str(config), f"seed={seed}",
                   f"train.time_limit_s={cpu_seconds}", "train.time_limit_clock=cpu",
                   "train.steps=1000000", f"run.out_dir={out}", f"run.name={run_name}",
                   "log.progress=false", "checkpoint.every=1000000", *sets]
            print(" ".join(cmd[2:]), file=sys.stderr)
            running.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL))
        time.sleep(2)
        for proc in list(running):
            if proc.poll() is not None:
                running.remove(proc)
                if proc.returncode:
                    raise SystemExit(f"a training failed (exit {proc.returncode}): {proc.args}")
    return folders


def test_images(cfg, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` held-out images (test split of the run's data set) and their classes."""
    from ganzoo.plugins import get_registry
    from ganzoo.trainer import take

    options = cfg.data.model_copy(update={"test_size": n})
    batch = take(get_registry().get("datasets", cfg.data.name)(options).dataset("test"), n)
    return batch["x"], batch["y"]


def probe_accuracy(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
                   test_y: torch.Tensor, l2: float = 1e-3) -> float:
    """Test accuracy of multinomial logistic regression on standardised features."""
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    a, b = (train_x - mean) / std, (test_x - mean) / std
    k = int(train_y.max()) + 1
    w = torch.zeros(a.shape[1], k, requires_grad=True)
    bias = torch.zeros(k, requires_grad=True)
    opt = torch.optim.LBFGS([w, bias], lr=1, max_iter=300, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(a @ w + bias, train_y) + l2 * w.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(((b @ w + bias).argmax(1) == test_y).float().mean())


def features(fn, x: torch.Tensor, chunk: int = 500) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([fn(part).float().flatten(1) for part in x.split(chunk)])


def evaluate(run_dir: Path, seed: int, n_train: int, n_test: int) -> dict[str, float]:
    from ganzoo.inference import load_run
    from ganzoo.trainer import build

    trained = load_run(run_dir)
    variant, cfg = trained.variant, trained.config
    x, y = test_images(cfg, n_train + n_test)
    split = lambda f: (f[:n_train], y[:n_train], f[n_train:], y[n_train:])  # noqa: E731
    torch.manual_seed(seed)
    untrained = build(cfg, torch.device("cpu"))[2].eval()
    out = {"steps": trained.step,
           "probe_trained": probe_accuracy(*split(features(variant.encode, x))),
           "probe_untrained": probe_accuracy(*split(features(untrained.encode, x))),
           "probe_pixels": probe_accuracy(*split(x.flatten(1)))}
    rec = features(variant.reconstruct, x[n_train:])
    gen = torch.Generator().manual_seed(seed)
    samples = variant.sample(n_test, generator=gen).float().flatten(1)
    real = x[n_train:].flatten(1)
    out["recon_mse"] = float((rec - real).pow(2).mean())
    out["random_sample_mse"] = float((samples - real).pow(2).mean())
    return out


def mean_se(values: list[float]) -> str:
    m = sum(values) / len(values)
    if len(values) < 2:
        return f"{m:.4f}"
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    return f"{m:.4f} ± {sd / math.sqrt(len(values)):.4f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=ROOT / "zoo_configs" / "bigan.yaml")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--cpu-seconds", type=float, default=150)
    p.add_argument("--probe-train", type=int, default=2000)
    p.add_argument("--probe-test", type=int, default=1000)
    p.add_argument("--set", dest="sets", nargs="*", default=[], help="extra config overrides")
    p.add_argument("--out", type=Path, default=Path("/tmp/bench_bigan"))
    args = p.parse_args()
    torch.set_num_threads(1)
    folders = train_runs(args.config, args.seeds, args.cpu_seconds, args.out, args.sets, "bigan")
    results = {seed: evaluate(folders[seed], seed, args.probe_train, args.probe_test) for seed in args.seeds}
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    keys = ["probe_trained", "probe_untrained", "probe_pixels", "recon_mse", "random_sample_mse", "steps"]
    print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    print("| " + " | ".join(mean_se([results[s][k] for s in args.seeds]) for k in keys) + " |")
    for seed in args.seeds:
        print(f"seed {seed}: " + ", ".join(f"{k}={results[seed][k]:.4f}" for k in keys))


if __name__ == "__main__":
    main()
