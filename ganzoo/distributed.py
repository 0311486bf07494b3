"""Multi-process training on torch.distributed, launched by ``torchrun``.

The trainer detects torchrun's environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``), joins the
process group (gloo on CPU, NCCL on CUDA), shards the data with the loader's distributed sampling
and averages gradients across ranks before every optimizer step: one flattened all-reduce per
step, the same average DDP computes, without variants having to call wrapped modules. Only rank 0
logs, samples, evaluates and checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_environment() -> DistInfo:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    return DistInfo(rank=int(os.environ["RANK"]), world_size=world,
                    local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def init(info: DistInfo, device: torch.device) -> None:
    if info.enabled and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


@torch.no_grad()
def average_gradients(optimizer: torch.optim.Optimizer, world_size: int) -> None:
    """Average the gradients of ``optimizer``'s parameters over all ranks (one all-reduce)."""
    grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world_size
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset:offset + n].view_as(g))
        offset += n


def broadcast_module(module: torch.nn.Module) -> None:
    """Start every rank from rank 0's weights and buffers."""
    for t in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(t.data, src=0)
