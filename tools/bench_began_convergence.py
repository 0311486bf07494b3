"""Benchmark: does BEGAN's convergence measure fall during training?

Reads the ``convergence`` scalar (``M = L(x) + |gamma L(x) - L(G(z))|``) and ``k`` that the
``began`` variant logs every step from each run's ``log.jsonl``, and prints per run the mean M
over the first and the last ``--window`` fraction of the logged steps, their ratio, and Spearman's
rank correlation of M with the step; then the mean +- standard error over the runs.

    python tools/bench_began_convergence.py RUN_DIR [RUN_DIR ...] [--window 0.1]

Run folders from ``ganzoo run`` or ``ganzoo bench`` (whose per-seed runs lie under
``OUT/<config>/seed<N>``; give those folders, or a parent to search).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def logged(run: Path) -> list[tuple[int, float, float]]:
    """``(step, M, k)`` of every train record that has the convergence measure."""
    out = []
    for line in (run / "log.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec.get("kind") == "train" and "convergence" in rec:
            out.append((int(rec["step"]), float(rec["convergence"]), float(rec.get("k", float("nan")))))
    return out


def summary(run: Path, window: float) -> dict:
    from scipy.stats import spearmanr

    rows = logged(run)
    if len(rows) < 4:
        raise SystemExit(f"{run}: fewer than 4 logged steps with 'convergence'")
    w = max(1, int(len(rows) * window))
    first = sum(m for _, m, _ in rows[:w]) / w
    last = sum(m for _, m, _ in rows[-w:]) / w
    rho = float(spearmanr([s for s, _, _ in rows], [m for _, m, _ in rows]).statistic)
    return {"run": str(run), "steps": rows[-1][0], "M_first": first, "M_last": last,
            "ratio_last_first": last / first, "spearman_M_step": rho, "k_last": rows[-1][2]}


def mean_se(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="run folders (or parents holding them)")
    p.add_argument("--window", type=float, default=0.1, help="fraction of logged steps averaged at each end")
    args = p.parse_args(argv)
    runs = []
    for path in map(Path, args.runs):
        runs += [path] if (path / "log.jsonl").is_file() else sorted(q.parent for q in path.rglob("log.jsonl"))
    results = [summary(run, args.window) for run in runs]
    for r in results:
        print(json.dumps(r))
    for key in ("M_first", "M_last", "ratio_last_first", "spearman_M_step"):
        m, se = mean_se([r[key] for r in results])
        print(f"{key}: {m:.4f} +- {se:.4f} (n={len(results)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
