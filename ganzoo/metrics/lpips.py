"""LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a Perceptual
Metric"): a learned perceptual distance between an image-to-image output and its ground truth,
with every weight read from one file.

Why: PSNR and SSIM reward the blurry mean of all plausible answers, so a GAN's sharper output can
score worse than a pixel-loss model's; LPIPS compares deep features instead and agrees far better
with human judgements. It is the ``lpips`` package's v0.1 metric with ``net="vgg"``, written here
(no torchvision, nothing downloaded):

* images in [-1, 1] (grey ones repeated to 3 channels), shifted and scaled per RGB channel:
  ``(x - shift) / scale``, shift (-0.030, -0.088, -0.188), scale (0.458, 0.448, 0.450);
* torchvision's ``vgg16().features`` (conv 3x3 + ReLU, four 2x2 max-pools), tapped after the ReLUs
  relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 (``features`` indices 3, 8, 15, 22, 29; 64, 128,
  256, 512, 512 channels), so images must be at least 16x16;
* per tap: each feature vector divided by its length over the channels (+ 1e-10), the squared
  difference of the two images' vectors weighted per channel by the learned, non-negative 1x1
  convolution ``w_l`` (no bias) and averaged over the positions; LPIPS is the sum over the five
  taps, one number per image pair (0 for identical images, lower is closer).

The weights file: ``$GANZOO_LPIPS_WEIGHTS`` (or ``weights=`` / the metric option ``weights``, e.g.
``evaluate(..., metric_options={"lpips": {"weights": PATH}})``) names ONE state dict holding both
torchvision's ImageNet ``vgg16(weights="IMAGENET1K_V1")`` keys ``features.N.weight`` /
``features.N.bias`` (the ``classifier.*`` keys may be there and are ignored) and the lpips
package's ``lpips/weights/v0.1/vgg.pth`` keys ``lin0.model.1.weight`` ... ``lin4.model.1.weight``
(shape (1, C_l, 1, 1)). A ``.safetensors`` file, or anything else read with
``torch.load(weights_only=True)``. docs/super_resolution.md ("LPIPS") shows how to make it on a
machine with torchvision and the lpips package. Without the file, ``lpips`` refuses with one line.

:class:`LPIPSMetric` (``lpips``) is a registered metric for "paired" and "multi_domain" runs,
like ``psnr`` (:mod:`ganzoo.metrics.paired`): the model's mean and standard error, and the
trivial baseline's (``baseline``, ``baseline_se``); its protocol names the weights' SHA-256.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import GanzooError
from ..nets.vgg import VGG16_LAYOUT, read_state, vgg_features
from .paired import _check_pair, _PairedScore, to_unit

WEIGHTS_ENV = "GANZOO_LPIPS_WEIGHTS"
HOW_TO = "docs/super_resolution.md, section 'LPIPS'"
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
#: ``vgg16().features`` indices of relu1_2, relu2_2, relu3_3, relu4_3, relu5_3, and their channels
TAPS = (3, 8, 15, 22, 29)
CHANNELS = (64, 128, 256, 512, 512)
EPS = 1e-10
#: four 2x2 max-pools before relu5_3: smaller images leave it no pixel
MIN_SIZE = 16


def lin_key(tap: int) -> str:
    """The lpips package's key of tap ``tap``'s linear weights (0..4)."""
    return f"lin{tap}.model.1.weight"


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Every key the weights file must hold, in network order, with its shape (the backbone's
    read off the network itself, so the two cannot disagree)."""
    backbone = vgg_features(TAPS[-1], VGG16_LAYOUT).state_dict()
    shapes = {f"features.{k}": tuple(v.shape) for k, v in backbone.items()}
    for tap, c in enumerate(CHANNELS):
        shapes[lin_key(tap)] = (1, c, 1, 1)
    return shapes


def find_weights(path: str | os.PathLike | None = None) -> Path:
    """The weights file: ``path``, else ``$GANZOO_LPIPS_WEIGHTS``; one line when neither names a file."""
    env = os.environ.get(WEIGHTS_ENV, "").strip()
    chosen = path if path not in (None, "") else env
    if not chosen:
        raise GanzooError(f"metric 'lpips' needs the LPIPS VGG-16 weights, which ganzoo cannot "
                          f"download: set {WEIGHTS_ENV} to one file holding torchvision's vgg16 "
                          f"'features.*' and the lpips package's v0.1 vgg 'lin0..lin4' weights "
                          f"(how to make it: {HOW_TO})")
    p = Path(chosen).expanduser()
    if not p.is_file():
        where = "the 'weights' option" if path not in (None, "") else WEIGHTS_ENV
        raise GanzooError(f"LPIPS weights file {p} (from {where}) does not exist or is not a file; "
                          f"point {where} at the file made as {HOW_TO} shows")
    return p


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The checked state dict: every key of :func:`expected_shapes` with its shape, as float32."""
    try:
        state = read_state(path)
    except Exception as exc:  # truncated, not a tensor file, unsafe pickle
        from ..checkpoint import load_error_reason

        raise GanzooError(f"cannot read LPIPS weights {path}: {load_error_reason(exc)}; make the "
                          f"file again as {HOW_TO} shows") from None
    if not isinstance(state, dict):
        raise GanzooError(f"LPIPS weights {path} are not a state dict (got {type(state).__name__}); "
                          f"make the file as {HOW_TO} shows")
    shapes = expected_shapes()
    missing = [k for k in shapes if not torch.is_tensor(state.get(k))]
    if missing:
        raise GanzooError(f"LPIPS weights {path} have no '{missing[0]}' ({len(missing)} of the "
                          f"{len(shapes)} keys needed are missing); the file must hold torchvision's "
                          f"vgg16 'features.*' and the lpips v0.1 vgg 'lin0..lin4.model.1.weight' "
                          f"(see {HOW_TO})")
    for key, shape in shapes.items():
        if tuple(state[key].shape) != shape:
            raise GanzooError(f"LPIPS weights {path}: '{key}' has shape {tuple(state[key].shape)}, "
                              f"expected {shape} (torchvision's vgg16 and the lpips v0.1 vgg weights; "
                              f"see {HOW_TO})")
    return {k: state[k].detach().to(torch.float32) for k in shapes}


class LPIPSNet(nn.Module):
    """The LPIPS v0.1 VGG network (frozen, eval mode); ``forward`` gives each tap's distance."""

    def __init__(self, state: dict[str, torch.Tensor] | None = None) -> None:
        super().__init__()
        self.features = vgg_features(TAPS[-1], VGG16_LAYOUT)
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))
        for tap, c in enumerate(CHANNELS):
            self.register_buffer(f"lin{tap}", torch.zeros(1, c, 1, 1))
        if state is not None:
            self.load(state)
        self.requires_grad_(False)
        self.eval()

    def load(self, state: dict[str, torch.Tensor]) -> None:
        """Copy a state dict with the file's key names (see :func:`read_weights`)."""
        with torch.no_grad():
            for name, tensor in self.features.state_dict().items():
                tensor.copy_(state[f"features.{name}"])
            for tap in range(len(CHANNELS)):
                getattr(self, f"lin{tap}").copy_(state[lin_key(tap)])

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five tapped feature maps of images ``x`` in [-1, 1] (1 or 3 channels)."""
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        h = (x - self.shift) / self.scale
        out = []
        for index, layer in enumerate(self.features):
            h = layer(h)
            if index in TAPS:
                out.append(h)
        return out

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        """(N, 5): each tap's weighted, averaged squared difference of unit feature vectors."""
        per_tap = []
        for tap, (f0, f1) in enumerate(zip(self.taps(x0), self.taps(x1))):
            n0 = f0 / (f0.pow(2).sum(dim=1, keepdim=True).sqrt() + EPS)
            n1 = f1 / (f1.pow(2).sum(dim=1, keepdim=True).sqrt() + EPS)
            weighted = F.conv2d((n0 - n1) ** 2, getattr(self, f"lin{tap}"))
            per_tap.append(weighted.mean(dim=(1, 2, 3)))
        return torch.stack(per_tap, dim=1)


_LOADED: dict[tuple[str, int, int], tuple[LPIPSNet, str]] = {}


def load_lpips(weights: str | os.PathLike | None = None) -> tuple[LPIPSNet, str]:
    """The network from the weights file (``weights`` or ``$GANZOO_LPIPS_WEIGHTS``) and the file's
    SHA-256; the last one loaded is kept (by path, size and modification time)."""
    from .inception import file_sha256

    path = find_weights(weights).resolve()
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _LOADED:
        net = LPIPSNet(read_weights(path))
        _LOADED.clear()
        _LOADED[key] = (net, file_sha256(path))
    return _LOADED[key]


def _check_images(output: torch.Tensor, target: torch.Tensor) -> None:
    _check_pair(output, target)
    c, h, w = output.shape[1:]
    if c not in (1, 3):
        raise GanzooError(f"LPIPS compares RGB or grey images; these have {c} channels")
    if min(h, w) < MIN_SIZE:
        raise GanzooError(f"LPIPS (VGG-16, four 2x2 pools) needs images of at least "
                          f"{MIN_SIZE}x{MIN_SIZE}; these are {h}x{w}")


@torch.no_grad()
def lpips(output: torch.Tensor, target: torch.Tensor, weights: str | os.PathLike | LPIPSNet | None = None,
          *, quantize: bool = False, batch_size: int = 8, device: str | torch.device = "cpu",
          per_tap: bool = False) -> torch.Tensor:
    """Per-image LPIPS (v0.1, VGG) of ``output`` against ``target`` (both (N, C, H, W) in [-1, 1],
    C 1 or 3, at least 16x16), ``(N,)`` float64; ``(N, 5)``, one column per tap, when ``per_tap``.

    ``weights``: the weights file (default ``$GANZOO_LPIPS_WEIGHTS``) or a loaded
    :class:`LPIPSNet`; ``quantize`` rounds both to 8 bits first, as a saved PNG would be.
    Computed in float32, ``batch_size`` pairs at a time, on ``device``.
    """
    _check_images(output, target)
    net = weights if isinstance(weights, LPIPSNet) else load_lpips(weights)[0]
    net = net.to(device)
    a = to_unit(output, quantize).float() * 2 - 1
    b = to_unit(target, quantize).float() * 2 - 1
    chunks = [net(a[s:s + batch_size].to(device), b[s:s + batch_size].to(device)).double().cpu()
              for s in range(0, a.shape[0], max(1, int(batch_size)))]
    values = torch.cat(chunks) if chunks else torch.zeros(0, len(TAPS), dtype=torch.float64)
    return values if per_tap else values.sum(dim=1)


class LPIPSMetric(_PairedScore):
    """LPIPS (v0.1, VGG) distance to the ground truth, 0 at best; weights from $GANZOO_LPIPS_WEIGHTS."""

    name = "lpips"
    primary = "lpips"
    higher_is_better = False

    def __init__(self, weights: str | os.PathLike | None = None, device: str = "cpu") -> None:
        super().__init__()
        self.path = find_weights(weights)  # refused when the metric is built, before any scoring
        self.device = device
        self.weights_sha256: str | None = None

    def score(self, output, target, mask, quantize):
        net, self.weights_sha256 = load_lpips(self.path)
        return lpips(output, target, net, quantize=quantize, device=self.device)

    def protocol_options(self) -> dict[str, Any]:
        return {"region": self.region, "net": "vgg", "version": "0.1", "weights_sha256": self.weights_sha256}
