"""The FID Inception v3 network (the TF FID graph as ported by pytorch-fid) and its weights.

Module and parameter names follow torchvision's Inception v3 so that pytorch-fid's released
weight file (``pt_inception-2015-12-05-6726825d.pth``) loads with ``strict=True``. The network
differs from torchvision's in the pool branches (see :class:`InceptionA`, :class:`InceptionE`)
and in ``fc`` (1008 classes). Resizing and the [0, 1] -> [-1, 1] shift happen inside
:meth:`FIDInceptionV3.forward`, per batch, exactly where pytorch-fid does them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DownloadError, GanzooError

WEIGHTS_URL = ("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
               "pt_inception-2015-12-05-6726825d.pth")
WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_SHA256_PREFIX = "6726825d"
WEIGHTS_ENV = "GANZOO_INCEPTION_WEIGHTS"

#: Feature size -> index of the block whose (globally average-pooled) output it is.
BLOCK_INDEX_BY_DIM = {64: 0, 192: 1, 768: 2, 2048: 3}
INPUT_SIZE = 299
#: How images are resized, as recorded next to every score.
RESIZE_MODE = "bilinear 299x299, align_corners=False, no antialias, on [0,1] floats (pytorch-fid)"


class BatchNorm2dNoCount(nn.BatchNorm2d):
    """BatchNorm2d without the ``num_batches_tracked`` buffer (the FID weights have none).

    Only used in eval mode; a state dict that carries the buffer anyway loads too (it is dropped).
    """

    def __init__(self, num_features: int, eps: float = 0.001) -> None:
        super().__init__(num_features, eps=eps)
        self.num_batches_tracked = None  # removes it from state_dict()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        state_dict.pop(prefix + "num_batches_tracked", None)
        # version 2 tells BatchNorm not to insert a num_batches_tracked key for old files
        local_metadata = {**local_metadata, "version": 2}
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


class BasicConv2d(nn.Module):
    """Conv2d (no bias) -> BatchNorm2d(eps=0.001) -> ReLU."""

    def __init__(self, cin: int, cout: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kwargs)
        self.bn = BatchNorm2dNoCount(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class InceptionA(nn.Module):
    """Mixed_5b/5c/5d; pool branch averages without the zero padding (count_include_pad=False)."""

    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    """Mixed_6a: grid reduction 35 -> 17."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = F.max_pool2d(x, 3, stride=2)
        return torch.cat([b3, bd, bp], 1)


class InceptionC(nn.Module):
    """Mixed_6b..6e (factorised 7x7); pool branch with count_include_pad=False."""

    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = layer(bd)
        bp = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    """Mixed_7a: grid reduction 17 -> 8."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        bp = F.max_pool2d(x, 3, stride=2)
        return torch.cat([b3, b7, bp], 1)


class InceptionE(nn.Module):
    """Mixed_7b (``max_pool=False``: average pool, count_include_pad=False) and Mixed_7c
    (``max_pool=True``: the TF graph uses a max pool there)."""

    def __init__(self, cin: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.max_pool:
            pooled = F.max_pool2d(x, 3, stride=1, padding=1)
        else:
            pooled = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        return torch.cat([b1, b3, bd, self.branch_pool(pooled)], 1)


def resize_for_inception(x: torch.Tensor) -> torch.Tensor:
    """pytorch-fid's per-batch resize: bilinear to 299x299, align_corners=False, no antialias."""
    return F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False,
                         antialias=False)


class FIDInceptionV3(nn.Module):
    """Inception v3 of the TF FID graph; ``forward`` returns the requested blocks' pooled outputs.

    Input: float images (N, 3, H, W) in [0, 1] (any H, W; resized here). ``output_dims`` picks the
    feature sizes returned by :meth:`forward` (64, 192, 768, 2048), each (N, D).
    """

    def __init__(self, output_dims: Sequence[int] = (2048,), resize_input: bool = True,
                 normalize_input: bool = True) -> None:
        super().__init__()
        for d in output_dims:
            if d not in BLOCK_INDEX_BY_DIM:
                raise GanzooError(f"Inception feature size {d} is not one of "
                                  f"{sorted(BLOCK_INDEX_BY_DIM)}; pass --dims 64, 192, 768 or 2048")
        self.output_dims = tuple(output_dims)
        self.resize_input = resize_input
        self.normalize_input = normalize_input
        self.channels_last = False
        # block 0
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        # block 1
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        # block 2
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, c7=128)
        self.Mixed_6c = InceptionC(768, c7=160)
        self.Mixed_6d = InceptionC(768, c7=160)
        self.Mixed_6e = InceptionC(768, c7=192)
        # block 3
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)
        self.eval()

    def _blocks(self) -> list[list[nn.Module | str]]:
        return [
            [self.Conv2d_1a_3x3, self.Conv2d_2a_3x3, self.Conv2d_2b_3x3, "maxpool"],
            [self.Conv2d_3b_1x1, self.Conv2d_4a_3x3, "maxpool"],
            [self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a,
             self.Mixed_6b, self.Mixed_6c, self.Mixed_6d, self.Mixed_6e],
            [self.Mixed_7a, self.Mixed_7b, self.Mixed_7c],
        ]

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Resize and shift a [0, 1] batch the way pytorch-fid does (1-channel input repeated)."""
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[1] != 3:
            raise GanzooError(f"Inception needs 1- or 3-channel images, got {x.shape[1]} channels")
        if self.resize_input:
            x = resize_for_inception(x)
        if self.normalize_input:
            x = 2 * x - 1
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def use_channels_last(self, on: bool = True) -> "FIDInceptionV3":
        """NHWC layout: the same operations, ~15-35% faster on CPU (oneDNN); values agree with the
        default layout to float32 rounding (~1e-7 relative), as pytorch-fid's do across machines."""
        self.channels_last = on
        return self.to(memory_format=torch.channels_last if on else torch.contiguous_format)

    def trunk(self, x: torch.Tensor, last_block: int) -> list[torch.Tensor]:
        """Unpooled outputs of blocks 0..last_block for a prepared batch."""
        outs = []
        for i, block in enumerate(self._blocks()[: last_block + 1]):
            for layer in block:
                x = F.max_pool2d(x, 3, stride=2) if isinstance(layer, str) else layer(x)
            outs.append(x)
        return outs

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        idx = [BLOCK_INDEX_BY_DIM[d] for d in self.output_dims]
        outs = self.trunk(self.prepare(x), max(idx))
        return [torch.flatten(F.adaptive_avg_pool2d(outs[i], 1), 1) for i in idx]

    def pool3_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """2048-d pool3 features and the 1008 unbiased logits (pool3 @ fc.weight^T) of one batch."""
        pool3 = torch.flatten(F.adaptive_avg_pool2d(self.trunk(self.prepare(x), 3)[-1], 1), 1)
        return pool3, F.linear(pool3, self.fc.weight)


# -- weights ---------------------------------------------------------------------------------

def default_weights_path() -> Path:
    """Where the weights are cached: ``<cache>/weights/pt_inception-2015-12-05-6726825d.pth``."""
    from ..download import cache_dir

    return cache_dir("weights") / WEIGHTS_FILE


def find_weights(path: str | os.PathLike | None = None) -> Path | None:
    """The weights file from an explicit path, ``$GANZOO_INCEPTION_WEIGHTS`` or the cache; None
    when none of them has it. An explicit path or variable naming a missing file is an error."""
    if path:
        p = Path(path).expanduser()
        if not p.is_file():
            raise GanzooError(f"Inception weights file {p} does not exist; pass the path of "
                              f"{WEIGHTS_FILE} (download it from {WEIGHTS_URL})")
        return p
    env = os.environ.get(WEIGHTS_ENV, "").strip()
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise GanzooError(f"{WEIGHTS_ENV}={env} does not name an existing file; point it at "
                              f"{WEIGHTS_FILE} (download it from {WEIGHTS_URL}) or unset it")
        return p
    cached = default_weights_path()
    return cached if cached.is_file() else None


def resolve_weights(path: str | os.PathLike | None = None, *, download: bool = True,
                    progress: bool = True, url: str = WEIGHTS_URL,
                    sha256_prefix: str = WEIGHTS_SHA256_PREFIX) -> Path:
    """The weights file: explicit path -> ``$GANZOO_INCEPTION_WEIGHTS`` -> cache -> download.

    Offline, raises a :class:`~ganzoo.errors.DownloadError` that names the URL and where to put
    the file by hand. ``url``/``sha256_prefix`` allow a mirror (and a local test server).
    """
    found = find_weights(path)
    if found is not None:
        return found
    dest = default_weights_path()
    hint = (f"download {url} by hand and put it at {dest}, or pass its path with --weights "
            f"or {WEIGHTS_ENV}")
    if not download:
        raise DownloadError(f"FID Inception weights not found; {hint}")
    from ..download import download as fetch

    try:
        return fetch(url, dest, sha256_prefix=sha256_prefix, progress=progress,
                     what="FID Inception weights")
    except DownloadError as exc:
        raise DownloadError(f"{exc} (or pass its path with --weights or {WEIGHTS_ENV})") from None


_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file (memoised by path, size and mtime), recorded next to scores."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        from ..download import file_digests

        _HASHES[key] = file_digests(p, {"sha256"})["sha256"]
    return _HASHES[key]


def load_inception(weights: str | os.PathLike | None = None, *, output_dims: Sequence[int] = (2048,),
                   download: bool = True, progress: bool = True) -> tuple[FIDInceptionV3, str]:
    """The network with the FID weights loaded (strict) and the weights file's SHA-256."""
    path = resolve_weights(weights, download=download, progress=progress)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated file, not a state dict, unsafe pickle
        from ..checkpoint import load_error_reason

        raise GanzooError(f"cannot read Inception weights {path}: {load_error_reason(exc)}; "
                          f"delete it and download {WEIGHTS_URL} again") from None
    net = FIDInceptionV3(output_dims)
    if not isinstance(state, dict):
        raise GanzooError(f"Inception weights {path} are not a state dict; expected {WEIGHTS_FILE}")
    expected = set(net.state_dict())
    given = {k for k in state if not k.endswith("num_batches_tracked")}
    missing, unexpected = sorted(expected - given), sorted(given - expected)
    problem = ""
    if missing:
        problem = f"{len(missing)} missing key(s), e.g. {missing[0]}"
    elif unexpected:
        problem = f"{len(unexpected)} unexpected key(s), e.g. {unexpected[0]}"
    else:
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            problem = lines[1] if len(lines) > 1 else lines[0]
    if problem:
        raise GanzooError(f"Inception weights {path} do not fit the FID Inception v3 ({problem}); "
                          f"expected {WEIGHTS_FILE} from {WEIGHTS_URL}")
    net.eval().requires_grad_(False)
    return net, file_sha256(path)
