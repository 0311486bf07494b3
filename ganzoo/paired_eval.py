"""Scoring image-to-image runs ("paired" and "multi_domain" data) against their ground truth.

:func:`ganzoo.evaluation.score` hands such runs here. The first ``n`` items of the split become
aligned triples (output, target, baseline output) and :func:`ganzoo.metrics.evaluate.evaluate`
scores outputs against targets (``psnr``, ``ssim``; FID and the other image metrics compare
outputs with targets as two sets). Each record carries ``"baseline": {"name", "value"}``, the
trivial baseline's score under the same protocol.

Multi-domain data with a known answer gives ``"y_by_domain"`` (N, D, C, H, W) in its items: item
``i`` of domain ``k`` is translated to domain ``j = (k + 1 + i mod (D - 1)) mod D`` (every other
domain in turn), the variant's ``predict`` reads ``batch["target_labels"]``, the truth is
``y_by_domain[i, j]`` and the baseline is the input itself (identity).
"""

from __future__ import annotations

from typing import Any

import torch

from .data.batched import take
from .errors import GanzooError


def target_domains(labels: torch.Tensor, num_domains: int) -> torch.Tensor:
    """Each item's target domain: every domain but its own, in turn over the items."""
    if num_domains < 2:
        raise GanzooError(f"multi-domain data needs at least 2 domains to translate between, got {num_domains}")
    i = torch.arange(labels.shape[0])
    return (labels.long() + 1 + i % (num_domains - 1)) % num_domains


def paired_items(source: Any, info: Any, n: int, split: str) -> dict[str, torch.Tensor]:
    """The first ``n`` items of ``split`` as a paired batch ({"x", "y", optional "mask"}; for
    multi-domain data also "labels" and "target_labels")."""
    batch = take(source.dataset(split), n)
    if info.kind == "paired":
        return {k: v for k, v in batch.items() if torch.is_tensor(v)}
    if "y_by_domain" not in batch:
        raise GanzooError(f"data set '{info.name}' has no ground truth per domain ('y_by_domain'), so "
                          f"outputs cannot be scored against it; psnr/ssim need a set with a known answer "
                          f"such as the built-in 'color_domains'")
    labels = batch["labels"]
    target = target_domains(labels, int(info.num_classes or 0))
    truth = batch["y_by_domain"][torch.arange(labels.shape[0]), target]
    return {"x": batch["x"], "y": truth, "labels": labels, "target_labels": target}


@torch.no_grad()
def predict_all(variant: Any, batch: dict[str, torch.Tensor], chunk: int = 128) -> torch.Tensor:
    """``variant.predict`` over ``batch`` in chunks, on the CPU as float32."""
    n = batch["x"].shape[0]
    out = [variant.predict({k: v[s:s + chunk] for k, v in batch.items()}).float().cpu()
           for s in range(0, n, chunk)]
    return torch.cat(out)


def baseline_name(info: Any) -> str | None:
    """The data's trivial baseline (``extras["baseline"]``, default identity; None: none fits,
    e.g. inputs and targets with different channels)."""
    extras = info.extras or {}
    name = extras.get("baseline", "identity")
    return str(name) if name else None


def score_paired(variant: Any, source: Any, info: Any, metrics: list[str], *, n: int, seed: int = 0,
                 split: str = "test", extractor: str | None = None, weights: str | None = None,
                 device: str = "cpu", progress: bool = False) -> list[dict[str, Any]]:
    """Records for ``metrics`` of the variant's outputs on ``split`` against the ground truth."""
    from .download import cache_dir_or_none
    from .metrics.evaluate import evaluate
    from .metrics.paired import baseline_output

    batch = paired_items(source, info, n, split)
    outputs = predict_all(variant, batch)
    name = baseline_name(info)
    base = baseline_output(name, batch).float() if name else None
    records = evaluate(outputs, batch["y"].float(), info, metrics, extractor=extractor, weights=weights,
                       real_stats_cache=cache_dir_or_none("stats"), seed=seed, device=device,
                       data_source=source, progress=progress, baseline=base, masks=batch.get("mask"))
    for r in records:
        r["real_split"] = split
        if "baseline" in r["values"]:
            r["baseline"] = {"name": name, "value": r["values"]["baseline"]}
    return records
