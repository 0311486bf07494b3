"""Batched fetch for in-memory data sets: ``__getitems__`` without a second copy.

``torch.utils.data``'s map-style fetcher (torch 2.x) does
``collate_fn(dataset.__getitems__(indices))`` when the data set has ``__getitems__``, and torch's
own wrappers (``Subset``, ``StackDataset``) expect ``__getitems__`` to return one item per index.
A plain dict of stacked tensors would break ``default_collate`` (it indexes ``batch[0]``).

So the built-in data sets return a :class:`CollatedBatch`: a read-only sequence of the ``B`` item
dicts (what torch expects, so ``default_collate`` works and re-stacks them) that also carries the
already stacked dict. :func:`collate` hands that dict over without copying; use it as
``DataLoader(..., collate_fn=ganzoo.data.batched.collate)`` to skip the re-stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Iterator

import torch


class CollatedBatch(Sequence):
    """``B`` items already stacked: ``collated`` is ``{key: tensor[B, ...]}``.

    Indexing gives item dicts of views, so code written for a list of items keeps working.
    """

    __slots__ = ("collated",)

    def __init__(self, collated: dict[str, torch.Tensor]) -> None:
        self.collated = collated

    def __len__(self) -> int:
        return len(next(iter(self.collated.values())))

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return {k: v[i] for k, v in self.collated.items()}

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        for i in range(len(self)):
            yield self[i]


def collate(batch: Any) -> Any:
    """``collate_fn`` that passes a :class:`CollatedBatch` through and defers to torch otherwise."""
    if isinstance(batch, CollatedBatch):
        return batch.collated
    from torch.utils.data import default_collate

    return default_collate(batch)


def as_index(indices: Any) -> torch.Tensor:
    """A batch of indices (list, tuple, array or tensor) as an int64 tensor."""
    return torch.as_tensor(indices, dtype=torch.long).reshape(-1)


def uint8_to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (any shape) -> float32 in [-1, 1] (0 -> -1, 255 -> 1)."""
    return images.to(torch.float32).div_(127.5).sub_(1.0)


def take(dataset: Any, n: int) -> dict[str, torch.Tensor]:
    """The first ``n`` items of a dataset as one batch (previews, held-out scores, evaluation)."""
    n = min(n, len(dataset))
    if hasattr(dataset, "__getitems__"):
        return collate(dataset.__getitems__(list(range(n))))
    return collate([dataset[i] for i in range(n)])
