"""The training loader: an endless, seeded, resumable stream of collated batches.

Epoch ``e`` visits the data in a permutation drawn from a generator seeded with ``(seed, e)``;
with several processes each rank takes a disjoint ``1/world_size`` of it (DistributedSampler's
rule: pad by wrapping to a multiple of ``world_size``, then every ``world_size``-th index).
Every item's random transforms are seeded from ``(seed, epoch, index)``, so the batches depend on
neither the number of workers nor on where a run was resumed: ``start_batch=k`` starts at the
k-th batch without loading anything before it.
"""

from __future__ import annotations

import random
from typing import Any, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..errors import DataError
from .batched import collate
from .transforms import item_seed


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The order of epoch ``epoch``: a permutation of ``range(n)`` fixed by ``(seed, epoch)``."""
    g = torch.Generator().manual_seed(item_seed(seed, epoch, -1))
    return torch.randperm(n, generator=g)


def rank_indices(n: int, seed: int, epoch: int, rank: int = 0, world_size: int = 1) -> list[int]:
    """This rank's share of epoch ``epoch`` (DistributedSampler semantics, shuffle on)."""
    perm = epoch_permutation(n, seed, epoch).tolist()
    if world_size > 1:
        total = -(-n // world_size) * world_size
        perm = (perm * (-(-total // n)))[:total]  # wrap around to a multiple of world_size
        perm = perm[rank:total:world_size]
    return perm


class _Keyed(Dataset):
    """Wraps a data set so that the sampler's ``(epoch, index)`` keys reach it with their seeds."""

    def __init__(self, dataset: Any, seed: int) -> None:
        self.dataset = dataset
        self.seed = seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitems__(self, keys: list[tuple[int, int]]) -> Any:
        indices = [i for _, i in keys]
        if hasattr(self.dataset, "get_seeded"):
            return self.dataset.get_seeded(indices, [item_seed(self.seed, e, i) for e, i in keys])
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            return getitems(indices)
        return [self.dataset[i] for i in indices]

    def __getitem__(self, key: tuple[int, int]) -> Any:
        return self.__getitems__([key])[0]


class _BatchKeys(Sampler):
    """Endless batches of ``(epoch, index)`` keys, starting at global batch ``start``."""

    def __init__(self, n: int, batch_size: int, seed: int, rank: int, world_size: int,
                 drop_last: bool, start: int) -> None:
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.rank, self.world_size, self.drop_last = rank, world_size, drop_last
        self.start = start
        per_rank = -(-n // world_size)
        self.per_epoch = per_rank // batch_size if drop_last else -(-per_rank // batch_size)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        epoch, offset = divmod(self.start, self.per_epoch)
        while True:
            order = rank_indices(self.n, self.seed, epoch, self.rank, self.world_size)
            for b in range(offset, self.per_epoch):
                chunk = order[b * self.batch_size:(b + 1) * self.batch_size]
                yield [(epoch, i) for i in chunk]
            offset = 0
            epoch += 1


def _worker_init(worker_id: int) -> None:
    """Seed Python's and NumPy's RNGs from torch's per-worker seed (set from the loader seed),
    for data sets that use them."""
    seed = torch.initial_seed() % (2 ** 32)
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover
        pass


class BatchStream:
    """Iterator of collated batches; ``batches`` counts the batches produced so far (including
    the ``start_batch`` skipped), which is what a checkpoint stores to resume the data."""

    def __init__(self, dataset: Any, *, batch_size: int, seed: int, num_workers: int = 0,
                 device_type: str = "cpu", start_batch: int = 0, rank: int = 0, world_size: int = 1,
                 drop_last: bool = True, prefetch_factor: int = 2) -> None:
        n = len(dataset)
        if batch_size < 1:
            raise DataError(f"batch_size must be at least 1, got {batch_size}")
        if not 0 <= rank < world_size:
            raise DataError(f"rank {rank} is not in 0..{world_size - 1}")
        if start_batch < 0:
            raise DataError(f"start_batch must be >= 0, got {start_batch}")
        per_rank = -(-n // world_size) if n else 0
        if n == 0 or (drop_last and per_rank < batch_size):
            raise DataError(f"the data set has {n} items, {per_rank} per process, fewer than "
                            f"batch_size {batch_size}; lower the batch size or add data")
        self.dataset = dataset
        self.seed = seed
        self.batch_size = batch_size
        self.batches = start_batch
        self.sampler = _BatchKeys(n, batch_size, seed, rank, world_size, drop_last, start_batch)
        self.batches_per_epoch = self.sampler.per_epoch
        kwargs: dict[str, Any] = {}
        if num_workers > 0:
            kwargs.update(worker_init_fn=_worker_init, persistent_workers=True,
                          prefetch_factor=prefetch_factor)
        self.loader = DataLoader(_Keyed(dataset, seed), batch_sampler=self.sampler, num_workers=num_workers,
                                 collate_fn=collate, pin_memory=device_type == "cuda",
                                 generator=torch.Generator().manual_seed(item_seed(seed, -1, -1)),
                                 **kwargs)
        self._it: Iterator | None = None

    @property
    def epoch(self) -> int:
        """The epoch the next batch comes from."""
        return self.batches // self.batches_per_epoch

    def state_dict(self) -> dict[str, int]:
        return {"batches": self.batches, "seed": self.seed}

    def __iter__(self) -> "BatchStream":
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        if self._it is None:
            self._it = iter(self.loader)
        batch = next(self._it)
        self.batches += 1
        return batch

    def close(self) -> None:
        """Stop the worker processes (also happens when the stream is garbage-collected)."""
        it, self._it = self._it, None
        if it is not None and hasattr(it, "_shutdown_workers"):
            it._shutdown_workers()


def make_loader(dataset: Any, *, batch_size: int, seed: int, num_workers: int = 0, device_type: str = "cpu",
                start_batch: int = 0, rank: int = 0, world_size: int = 1,
                drop_last: bool = True) -> BatchStream:
    """An endless iterator of collated batch dicts for step-based training (see module doc)."""
    return BatchStream(dataset, batch_size=batch_size, seed=seed, num_workers=num_workers,
                       device_type=device_type, start_batch=start_batch, rank=rank,
                       world_size=world_size, drop_last=drop_last)
