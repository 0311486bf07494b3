"""A VGG-19 feature network for perceptual (content) losses, with weights from a file.

SRGAN's and ESRGAN's perceptual loss compares VGG-19 features of the output and the target. The
ImageNet weights cannot be downloaded by ganzoo, so they come from a file the user supplies (as
FID's Inception weights do): the variant option ``perceptual_weights: PATH`` or the environment
variable ``GANZOO_VGG_WEIGHTS``. The file is a state dict with torchvision's ``vgg19`` key names
(``features.0.weight`` ...; ``torch.save(torchvision.models.vgg19(weights="IMAGENET1K_V1")
.state_dict(), "vgg19.pt")`` makes one), read with ``weights_only=True``, or the same as
``.safetensors``. Only the layers up to the one used need to be present.

Layers are indexed as in torchvision's ``vgg19().features``: 35 is ReLU after conv5_4 (SRGAN's
"VGG54"), 34 is conv5_4 before its activation (ESRGAN), 8 is ReLU after conv2_2 ("VGG22").
:func:`vgg_features` builds any torchvision VGG layout (``VGG16_LAYOUT`` for LPIPS, see
:mod:`ganzoo.metrics.lpips`) and :func:`read_state` reads such a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from ..errors import ConfigError

WEIGHTS_ENV = "GANZOO_VGG_WEIGHTS"
#: torchvision's VGG-19 ("E") layout: channels of each conv, "M" for a max-pool
LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
#: torchvision's VGG-16 ("D") layout
VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg_layers(layout: tuple = LAYOUT, last: int | None = None) -> list[nn.Module]:
    """torchvision's ``features`` of a VGG ``layout`` (conv 3x3 padding 1 + ReLU per number, a
    2x2 max-pool per "M"), as a list whose indices are torchvision's; up to index ``last``."""
    layers: list[nn.Module] = []
    cin = 3
    for v in layout:
        if last is not None and len(layers) > last:
            break
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, int(v), 3, padding=1), nn.ReLU(inplace=False)]
            cin = int(v)
    return layers


def num_layers(layout: tuple = LAYOUT) -> int:
    """How many modules ``features`` of ``layout`` has (conv and ReLU per number, pool per "M")."""
    return sum(1 if v == "M" else 2 for v in layout)


def vgg_features(last: int, layout: tuple = LAYOUT) -> nn.Sequential:
    """torchvision's ``features[: last + 1]`` of a VGG ``layout`` (same indices, so its state dict
    loads); ``last`` must be a valid index (callers check it against their own option)."""
    if not 0 <= last < num_layers(layout):
        raise ValueError(f"layer {last} is outside 0..{num_layers(layout) - 1}")
    return nn.Sequential(*vgg_layers(layout, last)[:last + 1])


def vgg19_features(last: int) -> nn.Sequential:
    """torchvision's ``vgg19().features[: last + 1]`` (same indices, so its state dict loads)."""
    n = num_layers(LAYOUT)
    if not 0 <= last < n:
        raise ConfigError(f"perceptual_layer must be 0..{n - 1} (torchvision's vgg19 "
                          f"features), got {last}", key="variant.perceptual_layer")
    return vgg_features(last, LAYOUT)


def find_weights(path: str | os.PathLike | None) -> Path:
    """The weights file from ``path`` or ``$GANZOO_VGG_WEIGHTS``; a one-line error if neither."""
    chosen = path or os.environ.get(WEIGHTS_ENV)
    if not chosen:
        raise ConfigError(f"variant.perceptual_weight > 0 needs VGG-19 ImageNet weights, which ganzoo "
                          f"cannot download: set variant.perceptual_weights: PATH or ${WEIGHTS_ENV} "
                          f"(see docs), or set variant.perceptual_weight: 0", key="variant.perceptual_weights")
    p = Path(chosen).expanduser()
    if not p.is_file():
        raise ConfigError(f"VGG weights file {p} does not exist or is not a file; give the path of "
                          f"torchvision's vgg19 state dict (.pt or .safetensors)", key="variant.perceptual_weights")
    return p


def read_state(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state.get("state_dict", state) if isinstance(state, dict) else state


class VGGFeatures(nn.Module):
    """Frozen VGG-19 features of images in [-1, 1] (ImageNet normalisation inside)."""

    def __init__(self, weights: str | os.PathLike | None, last: int = 35) -> None:
        super().__init__()
        self.features = vgg19_features(last)
        path = find_weights(weights)
        state = read_state(path)
        wanted = {k: v for k, v in state.items() if k.startswith("features.")}
        try:
            self.load_state_dict({k: wanted[k] for k in self.state_dict()})
        except (KeyError, RuntimeError) as exc:
            raise ConfigError(f"VGG weights file {path} does not hold torchvision vgg19 features up to "
                              f"layer {last} ({str(exc).splitlines()[0]})", key="variant.perceptual_weights") from None
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x + 1.0) / 2.0
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return self.features((x - self.mean) / self.std)
