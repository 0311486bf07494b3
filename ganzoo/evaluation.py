"""Scoring a variant against its data set, for ``ganzoo eval`` and the ``eval:`` config block.

Samples come from the variant (the EMA generator when there is one), real samples from the data
set's split, and :func:`ganzoo.metrics.evaluate.evaluate` computes the scores with their protocol.
Real-side statistics are cached under ``<cache>/stats`` so they are computed once per data set.
"""

from __future__ import annotations

from typing import Any

import torch

from .data.batched import take
from .errors import GanzooError

#: data kinds whose runs map inputs to outputs and are scored against ground truth
PAIRED_KINDS = ("paired", "multi_domain")


@torch.no_grad()
def generate(variant: Any, info: Any, n: int, seed: int, chunk: int = 500) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``n`` samples (and their labels for conditional variants), drawn in chunks, on the CPU."""
    conditional = variant.conditional and info.num_classes
    gen = torch.Generator().manual_seed(seed)
    out, labels_out = [], []
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        labels = None
        if conditional:
            labels = (torch.arange(start, start + m) % info.num_classes).to(variant._device())
            labels_out.append(labels.cpu())
        out.append(variant.sample(m, generator=gen, labels=labels).float().cpu())
    return torch.cat(out), (torch.cat(labels_out) if labels_out else None)


def real_samples(source: Any, n: int, split: str = "train") -> torch.Tensor:
    """The first ``n`` items of ``split`` (the protocol records ``n`` and the split)."""
    return real_batch(source, n, split)[0]


def real_batch(source: Any, n: int, split: str = "train") -> tuple[torch.Tensor, torch.Tensor | None]:
    """The first ``n`` items of ``split`` and their labels (None for unlabelled data)."""
    batch = take(source.dataset(split), n)
    if "x" not in batch:
        raise GanzooError(f"data set '{source.options.name}' has no single-image items to compare "
                          f"samples with (is it unpaired two-domain data?); evaluate translations "
                          f"with tools/bench_cyclegan_quality.py instead")
    return batch["x"], batch.get("y")


def check_labels_needed(variant: Any, info: Any, metrics: list[str], name: str) -> None:
    """Refuse, before any sample is drawn, a metric that reads generated samples' labels
    (``needs`` "labels") for a run whose variant is not conditional."""
    from .plugins import get_registry

    if variant.conditional and info.num_classes:
        return
    registry = get_registry()
    known = set(registry.names("metrics"))
    for metric in metrics:
        if metric in known and "labels" in registry.get("metrics", metric).needs:
            raise GanzooError(f"metric '{metric}' scores samples per class, but variant '{name}' is "
                              f"not conditional (its samples have no labels); leave '{metric}' out")


def score(variant: Any, source: Any, info: Any, metrics: list[str], *, n: int, seed: int = 0,
          split: str = "train", extractor: str | None = None, weights: str | None = None,
          device: str = "cpu", progress: bool = False) -> list[dict[str, Any]]:
    from .download import cache_dir_or_none
    from .metrics.evaluate import evaluate

    if info.kind in PAIRED_KINDS:  # outputs scored against ground truth: see ganzoo.paired_eval
        from .paired_eval import score_paired

        return score_paired(variant, source, info, metrics, n=n, seed=seed, split=split,
                            extractor=extractor, weights=weights, device=device, progress=progress)
    check_labels_needed(variant, info, metrics, getattr(variant.options, "name", type(variant).__name__))
    fake, labels = generate(variant, info, n, seed)
    real, real_labels = real_batch(source, n, split)
    records = evaluate(fake, real, info, metrics, extractor=extractor, weights=weights,
                       real_stats_cache=cache_dir_or_none("stats"), seed=seed, device=device,
                       data_source=source, fake_labels=labels, real_labels=real_labels,
                       progress=progress)
    for r in records:
        r["real_split"] = split
    return records
