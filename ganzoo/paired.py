"""A base class for variants that map an input image to an output image ("paired" data).

Paired data (see :mod:`ganzoo.data.paired` and the contract in ``DataInfo``) gives batches
``{"x": input (N, Ci, Hi, Wi), "y": target (N, C, H, W)}``, both in [-1, 1], optionally with
``"mask"`` (N, 1, H, W), 1 inside the hole. :class:`PairedVariant` supplies what every such
variant shares, so pix2pix, SRGAN, ESRGAN and inpainting only write networks and a train step:

* ``supports = ("paired",)``: the trainer refuses other data kinds with one line;
* ``predict(batch)``: the generator on ``batch["x"]`` in eval mode without gradients (override
  :meth:`PairedVariant.forward_output` when the generator needs more, e.g. the mask);
* ``translate(images)``: ``predict`` on images alone, for ``ganzoo translate``;
* previews: rows of input | output | target, the input shown at the target's size and channels
  (override :meth:`PairedVariant.display_input` to show it differently, e.g. with the hole);
* ``sample``: refused with one line (a paired model needs an input, not noise).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .errors import GanzooError
from .interfaces import Variant, eval_mode


def input_shape(data: Any) -> tuple[int, int, int]:
    """The input images' (C, H, W) of paired data (``extras["input_shape"]``, else the target's)."""
    shape = (data.extras or {}).get("input_shape") or data.shape
    return tuple(int(s) for s in shape)  # type: ignore[return-value]


def preview_count(n: int) -> tuple[int, int]:
    """``(k, row)``: ``k = 3 g^2 <= n`` examples in rows of ``row = 3 g``, so the square grid of
    the 3k images (input, output, target rows) holds whole rows; all of them when n < 3."""
    if n < 3:
        return n, max(n, 1)
    g = 1
    while 3 * (g + 1) ** 2 <= n:
        g += 1
    return 3 * g * g, 3 * g


def match_display(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``x`` resized (nearest, so pixels stay visible) and with channels matched to ``like``:
    extra channels dropped, a grey input repeated to colour."""
    if x.shape[-2:] != like.shape[-2:]:
        x = F.interpolate(x, size=tuple(like.shape[-2:]), mode="nearest")
    c, want = x.shape[1], like.shape[1]
    if c > want:
        x = x[:, :want]
    elif c < want:
        x = x[:, :1].expand(-1, want, -1, -1)
    return x


def preview_rows(inputs: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor, row: int) -> torch.Tensor:
    """Images for a grid ``row`` wide: a row of inputs, one of outputs, one of targets, repeated
    for each group of ``row`` examples."""
    parts = []
    for start in range(0, outputs.shape[0], row):
        s = slice(start, start + row)
        parts += [inputs[s], outputs[s], targets[s]]
    return torch.cat(parts)


class PairedVariant(Variant):
    """Base of input -> output variants trained on "paired" data. Subclasses build ``self.G``
    (or override ``generator_net``), ``configure_optimizers`` and ``train_step``."""

    supports = ("paired",)
    translates = True
    #: no latent codes: the output is a function of the input (dropout aside)
    interpolation_space = None

    def forward_output(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The generator's output for ``batch`` (training mode as it is; gradients as the caller's)."""
        return self.generator_net()(batch["x"])

    @torch.no_grad()
    def predict(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        device = self._device()
        batch = {k: v.to(device) for k, v in batch.items() if torch.is_tensor(v)}
        with eval_mode(self.generator_net()):
            return self.forward_output(batch)

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """``predict`` on input images alone (``direction`` is ignored: there is one)."""
        return self.predict({"x": images})

    def sample(self, n: int, generator: torch.Generator | None = None,
               labels: torch.Tensor | None = None) -> torch.Tensor:
        raise GanzooError(f"{self.options.name} maps input images to output images and cannot sample "
                          f"from noise; use 'ganzoo translate RUN_DIR INPUT -o OUTPUT'")

    def display_input(self, batch: dict[str, torch.Tensor], like: torch.Tensor) -> torch.Tensor:
        """The input as shown in previews, at the size and channels of ``like`` (the target)."""
        return match_display(batch["x"], like)

    def fixed_inputs(self, n: int, generator: torch.Generator, examples: dict[str, torch.Tensor]) -> Any:
        """The first ``k`` examples (see :func:`preview_count`) and the grid's row length."""
        k, row = preview_count(min(n, examples["x"].shape[0]))
        return {"batch": {key: v[:k] for key, v in examples.items() if torch.is_tensor(v)}, "row": row}

    @torch.no_grad()
    def preview(self, fixed: Any) -> torch.Tensor:
        """Grid rows of input, output and target for each group of examples."""
        batch, row = fixed["batch"], fixed["row"]
        out = self.predict(batch)
        target = batch["y"].to(out.device)
        return preview_rows(self.display_input(batch, target).to(out.device), out, target, row)
