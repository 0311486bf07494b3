"""Learning-rate schedules shared by the variants (one linear decay for all of them)."""

from __future__ import annotations

from typing import Callable


def linear_decay(begin: int, end: int) -> Callable[[int], float]:
    """LR factor for ``LambdaLR`` at 0-based step ``s``: 1 up to step ``begin``, then falling
    linearly to 0 at step ``end`` (and 0 after it)."""
    span = max(1, end - begin)

    def factor(step: int) -> float:
        return 1.0 if step < begin else max(0.0, (end - step) / span)

    return factor


def linear_decay_from(start: float, total_steps: int) -> Callable[[int], float]:
    """Constant, then linear decay to 0 over the last ``1 - start`` of ``total_steps``."""
    return linear_decay(int(start * total_steps), total_steps)
