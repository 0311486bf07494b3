"""NVIDIA StyleGAN2-ADA network pickles -> ganzoo's StyleGAN2 (``stylegan2`` or
``stylegan2_conditional`` with the official-layout options).

The pickle is read by :mod:`ganzoo.importers.safe_pickle` (no code runs). The generator is
``G_ema`` (``G`` if there is none), the discriminator ``D``. The architecture comes from the
constructor arguments recorded with each network (``_init_kwargs``); anything ganzoo does not
reproduce exactly (another architecture, filter, activation, StyleGAN3 layers) is refused with
one line rather than imported approximately. Every tensor of the pickle must find its place in
ganzoo's networks, and every parameter of ganzoo's networks must be filled.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import GanzooError
from .base import ImportedModel
from .safe_pickle import Record, flatten, load_restricted

LICENCE = ("NVIDIA Source Code License for StyleGAN2 with Adaptive Discriminator Augmentation "
           "(non-commercial: research and evaluation only); the weights' own terms apply")
G_CLASSES = {"Generator", "MappingNetwork", "SynthesisNetwork", "SynthesisBlock", "SynthesisLayer",
             "ToRGBLayer", "FullyConnectedLayer"}
D_CLASSES = {"Discriminator", "DiscriminatorBlock", "DiscriminatorEpilogue", "MinibatchStdLayer",
             "Conv2dLayer", "FullyConnectedLayer", "MappingNetwork"}
G_ARGS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs",
          "synthesis_kwargs")
D_ARGS = ("c_dim", "img_resolution", "img_channels", "architecture", "channel_base", "channel_max",
          "num_fp16_res", "conv_clamp", "cmap_dim", "block_kwargs", "mapping_kwargs", "epilogue_kwargs")


def looks_like(head: bytes) -> bool:
    """A pickle that mentions NVIDIA's persistence module near its start."""
    return head[:1] == b"\x80" and b"torch_utils.persistence" in head


def _refuse(path: Path, what: str) -> GanzooError:
    return GanzooError(f"{path}: {what}; ganzoo imports StyleGAN2-ADA pickles (skip generator, "
                       f"resnet discriminator, [1,3,3,1] filter, lrelu)")


def _kwargs(record: Record, names: tuple[str, ...], path: Path) -> dict[str, Any]:
    args, kwargs = record.state.get("_init_args", ()), record.state.get("_init_kwargs", {})
    if not isinstance(args, (tuple, list)) or not isinstance(kwargs, dict) or len(args) > len(names):
        raise _refuse(path, f"{record.class_name} has no readable constructor arguments")
    merged = dict(zip(names, args), **kwargs)
    return {k: dict(v) if isinstance(v, dict) else v for k, v in merged.items()}


def _network(data: dict, key: str, root: str, allowed: set[str], path: Path) -> Record:
    record = data.get(key)
    if not isinstance(record, Record) or record.class_name != root:
        raise _refuse(path, f"'{key}' is not a {root} network")
    _, classes = flatten(record)
    unknown = sorted(set(classes.values()) - allowed)
    if unknown:
        raise _refuse(path, f"'{key}' holds unknown layer classes {', '.join(unknown)} "
                            f"(StyleGAN3 or a modified network?)")
    return record


def _check(path: Path, cond: bool, what: str) -> None:
    if not cond:
        raise _refuse(path, what)


def _generator_options(g: dict[str, Any], path: Path) -> dict[str, Any]:
    m, s = g.get("mapping_kwargs") or {}, g.get("synthesis_kwargs") or {}
    _check(path, s.get("architecture", "skip") == "skip", f"synthesis architecture "
           f"'{s.get('architecture')}'")
    _check(path, list(s.get("resample_filter", [1, 3, 3, 1])) == [1, 3, 3, 1],
           f"resample_filter {s.get('resample_filter')}")
    for where, key, default in ((s, "activation", "lrelu"), (m, "activation", "lrelu"),
                                (s, "use_noise", True), (s, "kernel_size", 3)):
        _check(path, where.get(key, default) == default, f"{key} {where.get(key)!r}")
    _check(path, m.get("layer_features") in (None, g.get("w_dim")), "mapping layer_features "
           f"{m.get('layer_features')} differs from w_dim")
    _check(path, m.get("w_avg_beta", 0.995) is not None, "no w_avg (w_avg_beta None)")
    return {"z_dim": g["z_dim"], "w_dim": g["w_dim"], "mapping_layers": m.get("num_layers", 8),
            "mapping_lr_mul": m.get("lr_multiplier", 0.01), "w_avg_beta": m.get("w_avg_beta", 0.995),
            "embed_features": m.get("embed_features"), "channel_base": s.get("channel_base", 32768),
            "channel_max": s.get("channel_max", 512), "conv_clamp": s.get("conv_clamp"),
            "fp16_res": s.get("num_fp16_res", 0), "resample": "fir", "stored_noise": True}


def _discriminator_options(d: dict[str, Any], opts: dict[str, Any], path: Path) -> dict[str, Any]:
    e, m, b = d.get("epilogue_kwargs") or {}, d.get("mapping_kwargs") or {}, d.get("block_kwargs") or {}
    _check(path, d.get("architecture", "resnet") == "resnet", f"D architecture '{d.get('architecture')}'")
    _check(path, e.get("mbstd_num_channels", 1) == 1, "mbstd_num_channels other than 1")
    _check(path, b.get("activation", "lrelu") == "lrelu" and e.get("activation", "lrelu") == "lrelu",
           "D activation other than lrelu")
    _check(path, list(b.get("resample_filter", [1, 3, 3, 1])) == [1, 3, 3, 1], "D resample_filter")
    for key, default in (("channel_base", 32768), ("channel_max", 512), ("conv_clamp", None)):
        _check(path, d.get(key, default) == opts[key], f"D {key} {d.get(key, default)} differs from "
                                                        f"G's {opts[key]}")
    _check(path, m.get("lr_multiplier", 0.01) == 0.01 and m.get("layer_features") is None
           and m.get("embed_features") is None, "D label mapping with custom sizes or learning rate")
    group = e.get("mbstd_group_size", 4)
    return {"mbstd_group": group if group is not None else 1 << 16, "mbstd_grouping": "strided",
            "cmap_dim": d.get("cmap_dim"), "d_mapping_layers": m.get("num_layers", 8)}


# -- tensor names ---------------------------------------------------------------------------
def generator_names(names: list[str], resolution: int) -> dict[str, str]:
    """Official name -> ganzoo name for every tensor of the generator (filters left out)."""
    out: dict[str, str] = {}
    layer_of, rgb_of = {}, {}
    for res in [2 ** k for k in range(2, resolution.bit_length())]:
        for conv in (("conv1",) if res == 4 else ("conv0", "conv1")):
            layer_of[(res, conv)] = len(layer_of)
        rgb_of[res] = len(rgb_of)
    for name in names:
        if (m := re.fullmatch(r"mapping\.fc(\d+)\.(weight|bias)", name)):
            out[name] = f"mapping.layers.{m[1]}.{m[2]}"
        elif (m := re.fullmatch(r"mapping\.embed\.(weight|bias)", name)):
            out[name] = name
        elif name == "mapping.w_avg":
            out[name] = "w_avg"
        elif name == "synthesis.b4.const":
            out[name] = "synthesis.const"
        elif (m := re.fullmatch(r"synthesis\.b(\d+)\.(conv[01])\.(.+)", name)) and (int(m[1]), m[2]) in layer_of:
            rest = {"noise_const": "fixed_noise", "weight": "conv.weight"}.get(m[3], m[3])
            rest = "conv." + rest if rest.startswith("affine.") else rest
            out[name] = f"synthesis.layers.{layer_of[(int(m[1]), m[2])]}.{rest}"
        elif (m := re.fullmatch(r"synthesis\.b(\d+)\.torgb\.(.+)", name)) and int(m[1]) in rgb_of:
            rest = m[2] if m[2] == "bias" else "conv." + m[2]
            out[name] = f"synthesis.to_rgb.{rgb_of[int(m[1])]}.{rest}"
    return out


def discriminator_names(names: list[str], resolution: int) -> dict[str, str]:
    """Official name -> ganzoo name for every tensor of the discriminator (filters left out)."""
    out: dict[str, str] = {}
    block_of = {res: i for i, res in enumerate(2 ** k for k in range(resolution.bit_length() - 1, 2, -1))}
    for name in names:
        if (m := re.fullmatch(rf"b{resolution}\.fromrgb\.(weight|bias)", name)):
            out[name] = f"from_rgb.{m[1]}"
        elif (m := re.fullmatch(r"b(\d+)\.(conv0|conv1|skip)\.(weight|bias)", name)) and int(m[1]) in block_of:
            ours = {"conv0": "conv1", "conv1": "conv2", "skip": "skip"}[m[2]]
            out[name] = f"blocks.{block_of[int(m[1])]}.{ours}.{m[3]}"
        elif (m := re.fullmatch(r"b4\.(conv|fc|out)\.(weight|bias)", name)):
            out[name] = f"{m[1]}.{m[2]}"
        elif (m := re.fullmatch(r"mapping\.fc(\d+)\.(weight|bias)", name)):
            out[name] = f"mapping.layers.{m[1]}.{m[2]}"
        elif re.fullmatch(r"mapping\.embed\.(weight|bias)", name):
            out[name] = name
    return out


def convert(tensors: dict[str, Any], names: dict[str, str], what: str, path: Path) -> dict[str, Any]:
    """Renamed float32 tensors; every tensor must have a place (resampling filters are checked)."""
    import torch

    from ..nets.resample import fir_filter

    state = {}
    for name, tensor in tensors.items():
        if name.endswith("resample_filter"):
            _check(path, tensor.shape == (4, 4) and torch.allclose(tensor.float(), fir_filter()),
                   f"{what}.{name} is not the [1,3,3,1] filter")
            continue
        if name not in names:
            raise _refuse(path, f"{what} has a tensor '{name}' that ganzoo's network has no place for")
        value = tensor.detach().float().clone()
        state[names[name]] = value[None, None] if name.endswith("noise_const") else value
    return state


def read(path: Path) -> ImportedModel:
    """The ganzoo config, data info and weights of a StyleGAN2-ADA network pickle."""
    data = load_restricted(path)
    _check(path, isinstance(data, dict) and ("G_ema" in data or "G" in data),
           "not a network snapshot (no G_ema / G)")
    g_record = _network(data, "G_ema" if "G_ema" in data else "G", "Generator", G_CLASSES, path)
    g = _kwargs(g_record, G_ARGS, path)
    _check(path, all(isinstance(g.get(k), int) for k in G_ARGS[:5]), "generator sizes missing")
    options = _generator_options(g, path)
    resolution, c_dim = g["img_resolution"], g["c_dim"]
    g_tensors, _ = flatten(g_record)
    g_state = convert(g_tensors, generator_names(list(g_tensors), resolution), "G", path)
    d_state = None
    if isinstance(data.get("D"), Record):
        d_record = _network(data, "D", "Discriminator", D_CLASSES, path)
        d = _kwargs(d_record, D_ARGS, path)
        _check(path, d.get("c_dim") == c_dim and d.get("img_resolution") == resolution,
               "D and G disagree on c_dim or resolution")
        options.update(_discriminator_options(d, options, path))
        d_tensors, _ = flatten(d_record)
        d_state = convert(d_tensors, discriminator_names(list(d_tensors), resolution), "D", path)
    return ImportedModel(
        variant="stylegan2_conditional" if c_dim else "stylegan2", options=options,
        image_shape=(g["img_channels"], resolution, resolution), num_classes=c_dim or None,
        g_state=g_state, d_state=d_state, source_format="stylegan2-ada", source=path,
        licence=LICENCE, source_url="https://github.com/NVlabs/stylegan2-ada-pytorch")
