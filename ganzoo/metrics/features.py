"""Feature extractors: what turns samples into the vectors FID, KID and P/R compare.

A registered extractor factory (hook ``register_feature_extractors``) is called with keyword
options and returns a :class:`FeatureExtractor`: ``name``, ``weights_hash`` (SHA-256 of the
weights used, recorded with every score), ``dims``, ``resize`` (how inputs are resized, recorded
too), ``has_logits``, ``features(images)`` and ``batch_outputs(x, logits)`` for one batch of
[0, 1] images (or raw points).

Built in: ``inception`` (the FID Inception v3), ``classifier`` (a small CNN trained on the data
set's own labels, see :mod:`ganzoo.metrics.classifier`) and ``raw`` (the samples themselves, for
2-D points).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch

from ..errors import GanzooError


def to_unit(x: torch.Tensor, quantize: bool = True) -> torch.Tensor:
    """Images in [-1, 1] -> [0, 1]; with ``quantize``, rounded to 8 bits exactly as saving them to
    PNG would (``floor(255 x + 0.5)``), so in-memory and saved-to-folder scores agree."""
    x = ((x.float() + 1) / 2).clamp_(0, 1)
    if quantize:
        x = x.mul_(255).add_(0.5).floor_().div_(255)
    return x


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"``/None -> cuda if available, else mps, else cpu."""
    if device is None or str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise GanzooError(f"unknown device '{device}'; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise GanzooError(f"device '{device}' requested but CUDA is not available; use --device cpu")
    return dev


class FeatureExtractor(ABC):
    """Maps batches of samples to features (and, if ``has_logits``, class logits)."""

    name: str = ""
    weights_hash: str | None = None
    dims: int = 0
    resize: str | None = None
    has_logits: bool = False
    device: torch.device = torch.device("cpu")

    @abstractmethod
    def batch_outputs(self, x: torch.Tensor, logits: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Features (B, dims) and logits (B, K) or None, for one batch already on ``device``."""

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Features (N, dims) of one batch of [0, 1] images (the hook's documented interface)."""
        with torch.inference_mode():
            return self.batch_outputs(images.to(self.device), False)[0].float().cpu()

    def iter_outputs(self, batches: Iterable[torch.Tensor], logits: bool = False,
                     ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """Outputs per batch (on the CPU, float32), under inference mode."""
        if logits and not self.has_logits:
            raise GanzooError(f"feature extractor '{self.name}' gives no class logits (needed by the "
                              f"Inception Score); use --extractor inception")
        non_blocking = self.device.type == "cuda"
        with torch.inference_mode():
            for batch in batches:
                f, lg = self.batch_outputs(batch.to(self.device, non_blocking=non_blocking), logits)
                yield f.float().cpu(), (lg.float().cpu() if lg is not None else None)

    def extract(self, samples: torch.Tensor, batch_size: int = 50, logits: bool = False,
                progress: bool = False, desc: str = "features",
                transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                ) -> tuple[np.ndarray, np.ndarray | None]:
        """All features (N, dims) float32 (and logits) of an in-memory sample tensor; ``transform``
        is applied per batch (e.g. :func:`to_unit`), so no converted copy of the whole set is made."""
        batches: Iterable[torch.Tensor] = samples.split(batch_size)
        if transform is not None:
            batches = map(transform, batches)
        if progress:
            from tqdm import tqdm

            batches = tqdm(batches, desc=desc, leave=False, total=(len(samples) + batch_size - 1) // batch_size)
        feats, lgs = [], []
        for f, lg in self.iter_outputs(batches, logits):
            feats.append(f)
            if lg is not None:
                lgs.append(lg)
        out = torch.cat(feats).numpy() if feats else np.zeros((0, self.dims), np.float32)
        return out, (torch.cat(lgs).numpy() if lgs else None)


class InceptionExtractor(FeatureExtractor):
    """The FID Inception v3 (pytorch-fid's weights); inputs are [0, 1] images, 1 or 3 channels."""

    has_logits = True

    def __init__(self, weights: str | os.PathLike | None = None, dims: int = 2048,
                 device: str | torch.device | None = "cpu", download: bool = True,
                 progress: bool = True, channels_last: bool = False, **_: Any) -> None:
        """``channels_last`` runs ~1.6x faster on CPU but its features differ from pytorch-fid's
        layout by ~1e-7 relative, so the default keeps pytorch-fid's (contiguous) layout."""
        from .inception import RESIZE_MODE, load_inception

        self.device = resolve_device(device)
        self.net, self.weights_hash = load_inception(weights, output_dims=(dims,), download=download,
                                                     progress=progress)
        self.net.to(self.device)
        if channels_last:
            self.net.use_channels_last()
        self.dims = int(dims)
        self.name = "inception"
        self.resize = RESIZE_MODE

    def batch_outputs(self, x: torch.Tensor, logits: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        if logits:
            if self.dims != 2048:
                raise GanzooError(f"the Inception Score needs the 2048-d pool3 features; got dims {self.dims}")
            return self.net.pool3_and_logits(x)
        return self.net(x)[0], None


class RawExtractor(FeatureExtractor):
    """The samples themselves, flattened (2-D points: FID of the fitted Gaussians, P/R in data units)."""

    def __init__(self, dims: int = 2, **_: Any) -> None:
        self.name = "raw"
        self.dims = int(dims)
        self.resize = None
        self.device = torch.device("cpu")

    def batch_outputs(self, x: torch.Tensor, logits: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        return x.reshape(len(x), -1).float(), None


_CACHE: dict[tuple, FeatureExtractor] = {}


def get_extractor(name: str, **options: Any) -> FeatureExtractor:
    """A registered extractor, built once per (name, options) in this process."""
    from ..plugins import get_registry

    key = (name, tuple(sorted((k, repr(v)) for k, v in options.items())))
    if key not in _CACHE:
        factory = get_registry().get("feature_extractors", name)
        _CACHE[key] = factory(**options)
    return _CACHE[key]
