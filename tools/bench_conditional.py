"""Benchmark: does the conditional GAN draw the class it is asked for?

A small CNN (:func:`ganzoo.metrics.classifier.train_classifier`) is trained on the run's labelled
data (train split). We report its accuracy on real held-out images (the test split) and on
generated samples of each requested class (8-bit quantised like the real images). The target is
generated accuracy >= 95% of the real held-out accuracy.

    python tools/bench_conditional.py                          # train zoo_configs/conditional.yaml, then score
    python tools/bench_conditional.py --run runs/conditional-shapes   # score an existing run
    python tools/bench_conditional.py --out docs/bench_conditional.md # also write the report

Exit status 0 when the target is met, 1 when not. This is a benchmark, not a test: it trains a
GAN (minutes on CPU).
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
import time
from pathlib import Path

TARGET = 0.95


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", default=None, help="score this run folder instead of training one")
    p.add_argument("--config", default="zoo_configs/conditional.yaml", help="config to train (no --run)")
    p.add_argument("overrides", nargs="*", help="config overrides KEY=VALUE (no --run)")
    p.add_argument("--n-per-class", type=int, default=500, help="generated samples per class")
    p.add_argument("--n-real", type=int, default=2000, help="real held-out images to score")
    p.add_argument("--classifier-steps", type=int, default=300, help="classifier training steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write a markdown report here")
    return p.parse_args(argv)


def quantize(x):
    """[-1, 1] floats -> the nearest 8-bit level, as real images are stored."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1


def main(argv: list[str] | None = None) -> int:
    import torch

    from ganzoo.config import load_config
    from ganzoo.inference import load_run
    from ganzoo.metrics.classifier import accuracy, train_classifier
    from ganzoo.plugins import get_registry
    from ganzoo.trainer import take, train

    args = parse_args(argv)
    train_s = None
    if args.run is None:
        cfg = load_config(args.config, args.overrides)
        t0 = time.perf_counter()
        result = train(cfg)
        train_s = time.perf_counter() - t0
        run_dir = result.run_dir
    else:
        run_dir = Path(args.run)
    trained = load_run(run_dir)
    cfg, info, variant = trained.config, trained.info, trained.variant
    if not getattr(variant, "conditional", False) or not info.num_classes:
        print(f"{run_dir}: not a conditional run on labelled data", file=sys.stderr)
        return 2
    source = get_registry().get("datasets", cfg.data.name)(cfg.data)

    t0 = time.perf_counter()
    clf, val_acc = train_classifier(source, info, seed=args.seed, steps=args.classifier_steps)
    clf_s = time.perf_counter() - t0
    real = take(source.dataset("test"), args.n_real)
    real_acc = accuracy(clf, real["x"].float(), real["y"].long())

    k = int(info.num_classes)
    gen = torch.Generator().manual_seed(args.seed)
    per_class: list[float] = []
    for c in range(k):
        labels = torch.full((args.n_per_class,), c, dtype=torch.long)
        fake = quantize(variant.sample(args.n_per_class, generator=gen, labels=labels).float().cpu())
        per_class.append(accuracy(clf, fake, labels))
    gen_acc = sum(per_class) / k
    ratio = gen_acc / real_acc if real_acc else float("nan")
    ok = ratio >= TARGET

    names = list(info.class_names) or [str(c) for c in range(k)]
    lines = [
        f"run: {run_dir} (step {trained.step}, variant options: {cfg.variant.model_dump(mode='json')})",
        f"classifier: SmallCNN, {args.classifier_steps} steps, accuracy on its own held-out slice "
        f"of the train split {val_acc:.4f} ({clf_s:.0f} s)",
        f"real held-out (test split, {len(real['y'])} images): accuracy {real_acc:.4f}",
        f"generated ({args.n_per_class} per class, 8-bit quantised): accuracy {gen_acc:.4f}",
        "per class: " + ", ".join(f"{n} {a:.3f}" for n, a in zip(names, per_class)),
        f"generated / real = {ratio:.4f} (target >= {TARGET}): {'PASS' if ok else 'FAIL'}",
    ]
    if train_s is not None:
        lines.insert(1, f"GAN training: {train_s:.0f} s wall")
    print("\n".join(lines))
    if args.out:
        command = "python tools/bench_conditional.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
        write_report(Path(args.out), command.strip(), lines, names, per_class, real_acc, gen_acc, ratio, ok)
    return 0 if ok else 1


def write_report(path: Path, command: str, lines: list[str], names: list[str], per_class: list[float],
                 real_acc: float, gen_acc: float, ratio: float, ok: bool) -> None:
    import torch

    rows = "\n".join(f"| {n} | {a:.3f} |" for n, a in zip(names, per_class))
    text = f"""# Benchmark: conditional GAN class accuracy

A classifier trained on real labelled images scores generated samples of each requested class;
the target is generated accuracy >= {TARGET:.0%} of the classifier's accuracy on real held-out images.

Command (from the repository root):

```
{command}
```

| | accuracy |
|---|---|
| real held-out images | {real_acc:.4f} |
| generated, all classes | {gen_acc:.4f} |
| generated / real | {ratio:.4f} ({'PASS' if ok else 'FAIL'}) |

Generated accuracy per class:

| class | accuracy |
|---|---|
{rows}

Details:

```
{chr(10).join(lines)}
```

Machine: {platform.machine()}, {platform.system()}, torch {torch.__version__}, CPU.
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
