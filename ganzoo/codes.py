"""Samples that move one named latent code while holding the rest (InfoGAN's ``cat``, ``cont0``,
...): the logic behind ``ganzoo sample --vary-code`` and ``ganzoo interpolate --vary-code``.

Each row is one draw of noise and codes; its columns move the named code: through every category
for a categorical code, from ``-span`` to ``span`` for a continuous one.
"""

from __future__ import annotations

from typing import Any

from .errors import GanzooError


def check_vary_code(variant: Any, name: str) -> None:
    """Refuse ``--vary-code`` for variants without named codes (one line, exit 2)."""
    if not variant.varies_codes:
        raise GanzooError(f"--vary-code: variant '{name}' has no named latent codes to vary; "
                          f"it works with runs of variants that have them (infogan)")


def code_frames(variant: Any, code: str, rows: int, steps: int, generator: Any,
                span: float = 1.0) -> tuple[Any, int]:
    """``(images, columns)``: ``rows`` rows moving ``code`` (a categorical code has as many
    columns as categories, whatever ``steps`` says)."""
    import torch

    if not span > 0:
        raise GanzooError(f"--span {span}: give a positive number (continuous codes are U(-1, 1))")
    z = variant.code_grid(code, steps, rows, generator=generator, span=span)
    with torch.no_grad():
        images = variant.from_latent(z).float().cpu()
    return images, images.shape[0] // rows


#: columns of ``ganzoo sample --vary-code`` for a continuous code (a categorical one has K)
SAMPLE_COLUMNS = 8


def vary_code_samples(variant: Any, name: str, code: str, n: int, generator: Any) -> tuple[Any, int]:
    """``ganzoo sample --vary-code``: ``ceil(n / 8)`` rows; returns ``(images, columns)``."""
    check_vary_code(variant, name)
    rows = max(1, -(-n // SAMPLE_COLUMNS))
    return code_frames(variant, code, rows, SAMPLE_COLUMNS, generator)
