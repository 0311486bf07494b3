"""CycleGAN translation quality on the built-in ``two_domain`` set, scored against the known truth.

``two_domain`` knows the true translation of every test image (background light <-> dark, hue
+-120 degrees, same shape), so a trained model is scored directly, in both directions, next to the
identity mapping (the input returned unchanged), which is the floor every score must beat:

* ``l1``: mean absolute difference to the true translation ([-1, 1] units; lower is better);
* ``mask_iou``: IoU of the foreground masks of output and truth (higher is better);
* ``shape_accuracy``: outputs whose foreground best matches the true shape class;
* ``colour_accuracy``: outputs whose dominant foreground hue is within 15 degrees of the truth.

Requirement: beat identity on every score in both directions and reach mask IoU >= 0.9.

    python tools/bench_cyclegan_quality.py RUN_DIR          # score a finished run
    python tools/bench_cyclegan_quality.py --train          # ganzoo run zoo_configs/cyclegan.yaml, then score
    python tools/bench_cyclegan_quality.py --train --config FILE KEY=VALUE ...
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

MIN_MASK_IOU = 0.9
HIGHER_IS_BETTER = {"l1": False, "mask_iou": True, "shape_accuracy": True, "colour_accuracy": True}


def score_run(run_dir: str | Path, n: int = 1000, batch: int = 100) -> dict:
    """Scores of the run's two generators and of identity on the first ``n`` test scenes."""
    import torch

    from ganzoo.data.two_domain import two_domain_ground_truth
    from ganzoo.data.two_domain_eval import identity_floor, score_translation
    from ganzoo.inference import load_run

    trained = load_run(run_dir)
    if trained.config.data.name != "two_domain":
        raise SystemExit(f"{run_dir} was trained on '{trained.config.data.name}', not two_domain")
    data = trained.config.data
    truth = two_domain_ground_truth(data, split="test", n=min(n, data.test_size))
    model = {}
    for direction, inputs in (("a2b", truth.a), ("b2a", truth.b)):
        way = "AtoB" if direction == "a2b" else "BtoA"
        with torch.no_grad():
            pred = torch.cat([trained.variant.translate(inputs[i:i + batch], way).cpu()
                              for i in range(0, len(inputs), batch)])
        model[direction] = score_translation(pred, truth, direction)
    return {"run": str(trained.checkpoint), "step": trained.step, "n": len(truth),
            "model": model, "identity": identity_floor(truth)}


def verdict(scores: dict) -> tuple[bool, list[str]]:
    """Whether the model meets the requirement, and the failures."""
    failures = []
    for direction, ours in scores["model"].items():
        floor = scores["identity"][direction]
        for name, higher in HIGHER_IS_BETTER.items():
            better = ours[name] > floor[name] if higher else ours[name] < floor[name]
            if not better:
                failures.append(f"{direction} {name}: {ours[name]:.4f} does not beat identity {floor[name]:.4f}")
        if ours["mask_iou"] < MIN_MASK_IOU:
            failures.append(f"{direction} mask_iou {ours['mask_iou']:.4f} < {MIN_MASK_IOU}")
    return not failures, failures


def table(scores: dict) -> str:
    lines = [f"{scores['n']} test scenes per direction, {scores['run']} (step {scores['step']})",
             f"{'direction':<10}{'score':<17}{'cyclegan':>10}{'identity':>10}"]
    for direction in ("a2b", "b2a"):
        for name in HIGHER_IS_BETTER:
            lines.append(f"{direction:<10}{name:<17}{scores['model'][direction][name]:>10.4f}"
                         f"{scores['identity'][direction][name]:>10.4f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", nargs="?", help="a finished cyclegan run on two_domain")
    parser.add_argument("--train", action="store_true", help="train the config first (timed)")
    parser.add_argument("--config", default="zoo_configs/cyclegan.yaml")
    parser.add_argument("overrides", nargs="*", help="KEY=VALUE overrides for --train")
    parser.add_argument("-n", type=int, default=1000, help="test scenes per direction")
    parser.add_argument("--json", default=None, help="also write the scores here")
    args = parser.parse_args()
    import warnings

    warnings.simplefilter("ignore")
    run_dir = args.run_dir
    if args.train:
        if run_dir and "=" in run_dir:  # argparse puts the first override into run_dir
            args.overrides.insert(0, run_dir)
        from ganzoo.config import load_config
        from ganzoo.trainer import train

        cfg = load_config(args.config, args.overrides)
        t0 = time.perf_counter()
        result = train(cfg)
        print(f"trained {args.config} {' '.join(args.overrides)}: {result.step} steps in "
              f"{time.perf_counter() - t0:.1f} s -> {result.run_dir}")
        run_dir = result.run_dir
    if not run_dir:
        parser.error("give RUN_DIR or --train")
    scores = score_run(run_dir, args.n)
    print(table(scores))
    ok, failures = verdict(scores)
    print("PASS: beats identity on every score, mask IoU >= 0.9" if ok else "FAIL:\n  " + "\n  ".join(failures))
    if args.json:
        Path(args.json).write_text(json.dumps({**scores, "pass": ok, "failures": failures}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
