"""Reporting a bench: mean +- standard error over seeds, the Markdown/CSV/JSON tables, the
metric curves (matplotlib, through :mod:`ganzoo.plots`) and TensorBoard HParams.

Everything here is derived from the runs' results and can be rewritten at any time.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

from ..fileio import atomic_write_text
from .measure import load_average
from .plan import BenchSettings, RunSpec


def mean_se(values: list[float | None]) -> dict[str, Any]:
    """Mean and standard error (sample std, ddof=1, over sqrt(n); 0 for one value) of the finite
    values; ``n`` says how many there were."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(finite)
    mean = sum(finite) / n if n else math.nan
    se = statistics.stdev(finite) / math.sqrt(n) if n > 1 else (0.0 if n else math.nan)
    return {"mean": mean, "se": se, "n": n}


def _primary_key(rec: dict[str, Any]) -> str:
    """The value key a record reports as its ``value`` (the metric's ``primary``)."""
    try:
        from ..plugins import get_registry

        key = getattr(get_registry().get("metrics", rec["metric"]), "primary", "")
    except Exception:  # a metric plugin no longer installed: match by value
        key = ""
    if key in rec["values"]:
        return key
    return next((k for k, v in rec["values"].items() if v == rec["value"]), rec["metric"])


def columns(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Metric value columns in first-seen order: each metric's primary value, then its others."""
    cols: dict[str, dict[str, Any]] = {}
    for res in results:
        for rec in res["metrics"]:
            metric = rec["metric"]
            primary = _primary_key(rec)
            for key in [primary] + [k for k in rec["values"] if k != primary]:
                label = metric if key == primary == metric else f"{metric}.{key}"
                if label not in cols:
                    cols[label] = {"label": label, "metric": metric, "key": key, "primary": key == primary,
                                   "higher_is_better": rec["higher_is_better"] if key == primary else None}
    return list(cols.values())


def _value(result: dict[str, Any], col: dict[str, Any]) -> float | None:
    for rec in result["metrics"]:
        if rec["metric"] == col["metric"]:
            v = rec["values"].get(col["key"])
            return None if v is None else float(v)
    return None


def _load_range(results: list[dict[str, Any]]) -> list[float] | None:
    """Lowest and highest 1-minute load average sampled around the runs' training processes."""
    samples = [x for r in results for x in r.get("load_average_1min") or []]
    return [min(samples), max(samples)] if samples else None


def _protocol(results: list[dict[str, Any]], settings: BenchSettings) -> list[dict[str, Any]]:
    """One entry per distinct protocol (metric, extractor, sample counts, options, notes)."""
    groups: dict[str, dict[str, Any]] = {}
    for res in results:
        for rec in res["metrics"]:
            p = rec["protocol"]
            entry = {"metric": rec["metric"], "extractor": p.get("extractor"),
                     "extractor_weights_sha256": p.get("extractor_weights_sha256"),
                     "feature_dims": p.get("feature_dims"), "resize": p.get("resize"),
                     "n_fake": p.get("n_fake"), "n_real": p.get("n_real"), "seed": p.get("seed"),
                     "real_split": rec.get("real_split"), "options": p.get("options"),
                     "notes": p.get("notes"), "ganzoo_version": p.get("ganzoo_version")}
            key = json.dumps(entry, sort_keys=True, default=str)
            groups.setdefault(key, {**entry, "configs": []})
            if res["name"] not in groups[key]["configs"]:
                groups[key]["configs"].append(res["name"])
    return list(groups.values())


def summarize(specs: list[RunSpec], results: list[dict[str, Any]], failures: list[dict[str, Any]],
              settings: BenchSettings, load_start: list[float] | None = None) -> dict[str, Any]:
    import platform

    import torch

    cols = columns(results)
    configs: dict[str, dict[str, Any]] = {}
    for spec in specs:
        c = configs.setdefault(spec.name, {"name": spec.name, "config": spec.config,
                                           "sha256": hashlib.sha256(spec.text.encode()).hexdigest(),
                                           "steps": spec.steps,
                                           "kind": spec.kind, "metrics_used": spec.metrics, "n": spec.n,
                                           "eval_every": spec.eval_every, "seeds": [], "ok_seeds": [],
                                           "failed_seeds": []})
        if spec.grid:
            c["grid"] = list(spec.grid)  # this row's --grid overrides
        c["seeds"].append(spec.seed)
    for f in failures:
        configs[f["name"]]["failed_seeds"].append(f["seed"])
    for name, c in configs.items():
        mine = sorted((r for r in results if r["name"] == name), key=lambda r: r["seed"])
        c["ok_seeds"] = [r["seed"] for r in mine]
        c["values"] = {col["label"]: mean_se([_value(r, col) for r in mine]) for col in cols}
        for k in ("wall_s", "steps_per_s", "peak_rss_mib", "params", "g_params", "eval_s"):
            c[k] = mean_se([r.get(k) for r in mine])
    shown = {"seeds": settings.seeds, "out": settings.out, "metrics": settings.metrics, "n": settings.n,
             "eval_points": settings.eval_points, "eval_seed": settings.eval_seed, "threads": settings.threads,
             "overrides": settings.overrides}
    if settings.grid:
        shown["grid"] = list(settings.grid)
    return {
        "command": settings.command, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "settings": shown,
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "torch": torch.__version__, "cpus": os.cpu_count(),
                    "threads_per_run": (settings.threads or settings.launch.get("threads_per_cell")
                                        or "inherited (torch default)"),
                    "devices": sorted({str(s.cfg.device) for s in specs}),
                    "load_average_start": load_start, "load_average_end": load_average(),
                    "load_average_1min_during_training": _load_range(results)},
        "columns": cols, "configs": configs, "protocol": _protocol(results, settings),
        "runs": [{k: v for k, v in r.items() if k not in ("curves", "hparams")} for r in results],
        "failures": failures,
    }


def fmt_pm(ms: dict[str, Any], integer: bool = False) -> str:
    """``mean ± se`` with as many decimals as the standard error warrants."""
    if not ms or ms["n"] == 0:
        return "–"
    mean, se = ms["mean"], ms["se"]
    if integer and se == 0:
        text = f"{int(round(mean)):,}"
    elif se > 0 and math.isfinite(se):
        d = min(6, max(0, 1 - math.floor(math.log10(se))))
        text = f"{mean:.{d}f} ± {se:.{d}f}"
    else:
        text = f"{mean:.4g} ± 0"
    return text


def _shown_columns(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Columns for the Markdown table: sub-values that are the same in every run are left out."""
    shown = []
    for col in summary["columns"]:
        vals = {round(_value(r, col), 12) for r in summary["runs"] if _value(r, col) is not None
                and math.isfinite(_value(r, col))}
        if col["primary"] or len(vals) > 1:
            shown.append(col)
    return shown


def _head(col: dict[str, Any]) -> str:
    hib = col["higher_is_better"]
    return col["label"] + ("" if hib is None else (" ↑" if hib else " ↓"))


def main_table(summary: dict[str, Any]) -> str:
    """The comparison table (one row per config) as Markdown."""
    cols = _shown_columns(summary)
    head = ["config", "seeds", *(_head(c) for c in cols), "wall time (s)", "steps/s", "peak RSS (MiB)",
            "params (G+D)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in summary["configs"].values():
        ok = len(c["ok_seeds"])
        cells = [f"`{c['name']}`", f"{ok}/{len(c['seeds'])}"]
        for col in cols:
            ms = c["values"].get(col["label"])
            cell = fmt_pm(ms)
            if ms and 0 < ms["n"] < ok:
                cell += f" ({ms['n']}/{ok} finite)"
            cells.append(cell)
        cells += [fmt_pm(c["wall_s"]), fmt_pm(c["steps_per_s"]), fmt_pm(c["peak_rss_mib"]),
                  fmt_pm(c["params"], integer=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(summary: dict[str, Any]) -> str:
    cols = _shown_columns(summary)
    lines = ["# ganzoo bench", "", "Produced by:", "", "```", summary["command"], "```", ""]
    lines += ["Each value is the mean ± standard error (sample std / √n) over the seeds that finished; "
              "metrics are scored on each run's final checkpoint with the same protocol for every run "
              "(see below). Wall time is the whole training process (start-up, training, in-training "
              "evaluations, checkpoints); steps/s is training proper (trainer log intervals, "
              "evaluations excluded); peak RSS is the training process's maximum resident memory.", ""]
    lines.append(main_table(summary))
    lines += ["", "## Runs", ""]
    primary = [c for c in cols if c["primary"]]
    head = ["config", "seed", "steps", *(c["label"] for c in primary), "wall time (s)", "steps/s",
            "peak RSS (MiB)", "run folder"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in sorted(summary["runs"], key=lambda r: (r["name"], r["seed"])):
        vals = [_value(r, c) for c in primary]
        cells = [f"`{r['name']}`", str(r["seed"]), str(r["steps"]),
                 *("–" if v is None else f"{v:.4g}" for v in vals),
                 "–" if r.get("wall_s") is None else f"{r['wall_s']:.1f}",
                 "–" if r.get("steps_per_s") is None else f"{r['steps_per_s']:.1f}",
                 "–" if r.get("peak_rss_mib") is None else f"{r['peak_rss_mib']:.0f}", f"`{r['run_dir']}`"]
        lines.append("| " + " | ".join(cells) + " |")
    if summary["failures"]:
        lines += ["", "## Failed runs", "", "| config | seed | run folder | error |", "|---|---|---|---|"]
        for f in summary["failures"]:
            err = f["error"].replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{f['name']}` | {f['seed']} | `{f['run_dir']}` | {err} |")
    lines += ["", "## Protocol", ""]
    for c in summary["configs"].values():
        lines.append(f"- `{c['name']}` ({c['config']}, sha256 {c['sha256'][:12]}): {c['steps']} steps, metrics "
                     f"{', '.join(c['metrics_used'])} on n = {c['n']}, in-training evaluation every "
                     f"{c['eval_every']} steps (the curves in plots/)")
    lines.append("- Curves (plots/): each run's own in-training evaluations. The trainer scores with the "
                 "run's seed (its sampling noise and, for images, the seed of the classifier feature "
                 "extractor), so a curve's last point can differ from the table, which scores every run "
                 f"with seed {summary['settings']['eval_seed']}.")
    for p in summary["protocol"]:
        parts = [f"extractor {p['extractor'] or 'none (samples directly)'}"]
        if p.get("extractor_weights_sha256"):
            parts.append(f"weights sha256 {p['extractor_weights_sha256'][:12]}…")
        parts.append(f"{p['n_fake']} generated samples (sampling seed {p['seed']})")
        parts.append(f"{p['n_real']} real samples from the {p['real_split']} split" if p["n_real"]
                     else f"real samples: {p['real_split']} split" if p["metric"] != "modes"
                     else "the data set's known mode centres")
        if p.get("options"):
            parts.append("options " + json.dumps(p["options"], sort_keys=True))
        lines.append(f"- `{p['metric']}` for {', '.join(p['configs'])}: " + "; ".join(parts))
        for note in p.get("notes") or []:
            lines.append(f"  - note: {note}")
    m = summary["machine"]
    lines += ["", f"Machine: {m['platform']}, {m['cpus']} CPUs (threads per training process: "
                  f"{m['threads_per_run']}), Python {m['python']}, torch {m['torch']}, "
                  f"device {', '.join(m['devices'])}; 1-minute load average while the runs trained: "
                  f"{_fmt_range(m['load_average_1min_during_training'])}, while this table was made: "
                  f"{m['load_average_start']} -> {m['load_average_end']} (1, 5, 15 min). "
                  f"Created {summary['created']}.", ""]
    return "\n".join(lines)


def _fmt_range(pair: list[float] | None) -> str:
    return "not recorded" if not pair else f"{pair[0]:.1f} to {pair[1]:.1f}"


def csv_text(summary: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    labels = [c["label"] for c in summary["columns"]]
    extra = ["wall_s", "steps_per_s", "peak_rss_mib", "params", "g_params"]
    head = ["config", "config_path", "steps", "seeds_ok", "seeds_total"]
    for name in labels + extra:
        head += [f"{name}_mean", f"{name}_se", f"{name}_n"]
    w.writerow(head)
    for c in summary["configs"].values():
        row = [c["name"], c["config"], c["steps"], len(c["ok_seeds"]), len(c["seeds"])]
        for ms in [c["values"][name] for name in labels] + [c[k] for k in extra]:
            row += [repr(ms["mean"]), repr(ms["se"]), ms["n"]]
        w.writerow(row)
    return buf.getvalue()


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def write_tables(out: Path, summary: dict[str, Any]) -> list[Path]:
    paths = [out / "results.md", out / "results.csv", out / "results.json"]
    atomic_write_text(paths[0], markdown(summary))
    atomic_write_text(paths[1], csv_text(summary))
    atomic_write_text(paths[2], json.dumps(_json_safe(summary), indent=2) + "\n")
    return paths


def write_plots(out: Path, summary: dict[str, Any], results: list[dict[str, Any]]) -> list[Path]:
    """``plots/<metric>.png`` (primary value) and ``plots/<metric>.<key>.png`` (other values that
    vary): the in-training evaluations against the step, mean ± SE over seeds, one line per config."""
    from ..plots import Series, line_plot

    folder = out / "plots"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    written = []
    for col in _shown_columns(summary):
        series = []
        for name, c in summary["configs"].items():
            per_step: dict[int, list[float]] = {}
            mine = [r for r in results if r["name"] == name]
            for r in mine:
                for step, v in r.get("curves", {}).get(col["metric"], {}).get(col["key"], []):
                    per_step.setdefault(int(step), []).append(v)
            if not per_step:
                continue
            steps = sorted(per_step)
            stats = [mean_se(per_step[s]) for s in steps]
            series.append(Series(f"{name} ({len(mine)} seed{'s' if len(mine) != 1 else ''})", steps,
                                 [s["mean"] for s in stats], [s["mean"] - s["se"] for s in stats],
                                 [s["mean"] + s["se"] for s in stats]))
        if not series:
            continue
        hib = col["higher_is_better"]
        better = "" if hib is None else (", higher is better" if hib else ", lower is better")
        written.append(line_plot(series, folder / f"{col['label']}.png",
                                 title=f"{col['label']}: mean ± SE over seeds{better}",
                                 xlabel="training step", ylabel=col["label"], xmin=0))
    return written


def write_hparams(out: Path, results: list[dict[str, Any]]) -> Path:
    """One TensorBoard HParams session per run under ``OUT/tb_hparams/<config>/seed<k>``."""
    import shutil

    from torch.utils.tensorboard import SummaryWriter

    root = out / "tb_hparams"
    shutil.rmtree(root, ignore_errors=True)  # derived output: rewritten whole, never appended to
    cols = columns(results)
    with SummaryWriter(str(root)) as writer:
        for r in sorted(results, key=lambda r: (r["name"], r["seed"])):
            metrics = {}
            for col in cols:
                v = _value(r, col)
                if v is not None and math.isfinite(v):
                    metrics[f"final/{col['label']}"] = v
            for k in ("wall_s", "steps_per_s", "peak_rss_mib", "params"):
                if r.get(k) is not None:
                    metrics[f"bench/{k}"] = float(r[k])
            writer.add_hparams(dict(r.get("hparams") or {"config": r["name"], "seed": r["seed"]}), metrics,
                               run_name=f"{r['name']}/seed{r['seed']}")
    return root
