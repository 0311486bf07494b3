"""rosinality/stylegan2-pytorch checkpoints -> ganzoo's ``stylegan2`` (official-layout options).

A checkpoint is a ``torch.save``'d dict (read weights-only) with the generator's state dict
under ``g_ema`` (``g`` if absent) and, from that project's weight converter, ``latent_avg`` (the
average w that truncation pulls towards). Its networks compute what NVIDIA's do (the same FIR
resampling, noise after demodulation, fused bias and leaky ReLU), so they map onto the same
ganzoo options; widths come from the tensors. Without ``latent_avg``, w_avg is estimated from
10 000 mapped z's (as that project's generate.py does with 4096) and the model card says so.
The discriminator is not imported.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import GanzooError
from .base import ImportedModel

LICENCE = ("the code of rosinality/stylegan2-pytorch is MIT-licensed (its CUDA ops carry NVIDIA's "
           "licence); the weights carry the terms of whoever trained them (NVIDIA's official "
           "checkpoints converted with it are non-commercial)")


def looks_like(state: Any) -> bool:
    return isinstance(state, dict) and isinstance(state.get("g_ema", state.get("g")), dict) \
        and any(str(k).startswith("style.") for k in state.get("g_ema", state.get("g")))


def _name(key: str) -> str | None:
    """ganzoo's name of a rosinality generator tensor (None: a blur kernel, checked apart)."""
    rules = ((r"style\.(\d+)\.(weight|bias)", lambda m: f"mapping.layers.{int(m[1]) - 1}.{m[2]}"),
             (r"input\.input", lambda m: "synthesis.const"),
             (r"conv1\.(.+)", lambda m: _layer(0, m[1])),
             (r"convs\.(\d+)\.(.+)", lambda m: _layer(int(m[1]) + 1, m[2])),
             (r"to_rgb1\.(.+)", lambda m: _rgb(0, m[1])),
             (r"to_rgbs\.(\d+)\.(.+)", lambda m: _rgb(int(m[1]) + 1, m[2])),
             (r"noises\.noise_(\d+)", lambda m: f"synthesis.layers.{m[1]}.fixed_noise"))
    for pattern, make in rules:
        if (m := re.fullmatch(pattern, key)):
            return make(m)
    return f"unknown:{key}"


def _layer(i: int, rest: str) -> str | None:
    parts = {"conv.weight": "conv.weight", "conv.modulation.weight": "conv.affine.weight",
             "conv.modulation.bias": "conv.affine.bias", "noise.weight": "noise_strength",
             "activate.bias": "bias", "conv.blur.kernel": None}
    return f"synthesis.layers.{i}.{parts[rest]}" if parts.get(rest) else (None if rest in parts else f"unknown:{rest}")


def _rgb(i: int, rest: str) -> str | None:
    parts = {"conv.weight": "conv.weight", "conv.modulation.weight": "conv.affine.weight",
             "conv.modulation.bias": "conv.affine.bias", "bias": "bias", "upsample.kernel": None}
    return f"synthesis.to_rgb.{i}.{parts[rest]}" if parts.get(rest) else (None if rest in parts else f"unknown:{rest}")


def convert(g: dict[str, Any], path: Path) -> dict[str, Any]:
    """ganzoo's state dict of the generator (shapes adapted; blur kernels checked)."""
    import torch

    from ..nets.resample import fir_filter

    state = {}
    for key, value in g.items():
        name = _name(key)
        if name is None:
            if not any(torch.allclose(value.float(), fir_filter() * gain) for gain in (1, 4)):
                raise GanzooError(f"{path}: {key} is not the [1,3,3,1] filter; only that one is supported")
            continue
        if "unknown:" in name:
            raise GanzooError(f"{path}: the generator has a tensor '{key}' ganzoo has no place for "
                              f"(not a rosinality StyleGAN2 generator?)")
        value = value.detach().float().clone()
        if (key.endswith("conv.weight") and value.dim() == 5) or name == "synthesis.const":
            value = value[0]  # (1, ...) -> (...)
        elif name.endswith("noise_strength"):
            value = value.reshape(())
        elif name.endswith(".bias"):
            value = value.reshape(-1)  # ToRGB's (1, C, 1, 1)
        state[name] = value
    return state


def widths_options(state: dict[str, Any], path: Path) -> dict[str, int]:
    """channel_base / channel_max reproducing the widths of the tensors."""
    widths = {4: state["synthesis.const"].shape[0]}
    for key, value in state.items():
        if (m := re.fullmatch(r"synthesis\.layers\.(\d+)\.fixed_noise", key)) and int(m[1]) % 2 == 0:
            widths[value.shape[-1]] = state[f"synthesis.layers.{m[1]}.conv.weight"].shape[0]
    size = max(widths)
    base, top = widths[size] * size, widths[4]
    if any(min(base // res, top) != w for res, w in widths.items()):
        raise GanzooError(f"{path}: widths {widths} follow no min(base / res, max) rule; not supported")
    return {"channel_base": base, "channel_max": top, "size": size}


def estimate_w_avg(variant: Any) -> Any:
    import torch

    z = torch.randn(10_000, variant.G.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return variant.G.mapping(z).mean(0)


def read(path: Path, ckpt: dict[str, Any] | None = None) -> ImportedModel:
    """The ``stylegan2`` model of a rosinality checkpoint."""
    from .base import load_state

    ckpt = load_state(path) if ckpt is None else ckpt
    if not looks_like(ckpt):
        raise GanzooError(f"{path}: not a rosinality StyleGAN2 checkpoint (no g_ema with style.* "
                          f"tensors)")
    state = convert(ckpt.get("g_ema", ckpt.get("g")), path)
    shape = widths_options(state, path)
    w_dim = state["mapping.layers.0.weight"].shape[1]
    layers = sum(1 for k in state if re.fullmatch(r"mapping\.layers\.\d+\.weight", k))
    notes, estimate = [], not hasattr(ckpt.get("latent_avg"), "shape")
    if not estimate:
        state["w_avg"] = ckpt["latent_avg"].detach().float().reshape(-1).clone()
    else:
        notes = ["The checkpoint had no `latent_avg`: w_avg (the centre of truncation) was "
                 "estimated from 10 000 mapped z's (seed 0)."]
    options = {"z_dim": w_dim, "w_dim": w_dim, "mapping_layers": layers, "mapping_lr_mul": 0.01,
               "channel_base": shape["channel_base"], "channel_max": shape["channel_max"],
               "resample": "fir", "stored_noise": True}
    return ImportedModel(variant="stylegan2", options=options, image_shape=(3, shape["size"], shape["size"]),
                         num_classes=None, g_state=state, d_state=None, source_format="rosinality",
                         source=path, licence=LICENCE, notes=notes, estimate_w_avg=estimate,
                         source_url="https://github.com/rosinality/stylegan2-pytorch")
