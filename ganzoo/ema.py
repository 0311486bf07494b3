"""Exponential moving average of the generator's weights (Karras et al.; Yazici et al.).

The average is kept in a separate copy of the generator and swapped in for sampling, previews and
evaluation; training always updates the live weights.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Iterator

import torch
from torch import nn


class EMA:
    def __init__(self, net: nn.Module, decay: float = 0.999, start: int = 0) -> None:
        self.net = net
        self.decay, self.start = decay, start
        self.shadow = copy.deepcopy(net).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Average after generator step ``step`` (1-based); before ``start`` just copy."""
        decay = self.decay if step > self.start else 0.0
        for s, p in zip(self.shadow.parameters(), self.net.parameters()):
            s.lerp_(p.detach(), 1.0 - decay)
        for s, b in zip(self.shadow.buffers(), self.net.buffers()):
            s.copy_(b)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.shadow.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.shadow.load_state_dict(state)

    @contextlib.contextmanager
    def swapped_in(self) -> Iterator[None]:
        """Temporarily give the live generator the averaged weights."""
        live = copy.deepcopy(self.net.state_dict())
        self.net.load_state_dict(self.shadow.state_dict())
        try:
            yield
        finally:
            self.net.load_state_dict(live)
