"""``pytorch-pretrained-biggan`` checkpoints -> ganzoo's ``biggan_deep`` (sampling only).

The package stores a model as a folder with ``pytorch_model.bin`` (a ``torch.save``'d state
dict, read here with ``torch.load(weights_only=True)``) and ``config.json``. Spectral
normalisation is folded into plain weights the way its eval mode computes them:
``W / (u . (W_mat v))`` with the stored ``u`` and ``v``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import GanzooError
from .base import ImportedModel

WEIGHTS, CONFIG = "pytorch_model.bin", "config.json"
LICENCE = ("the converted BigGAN-deep weights come from DeepMind's TF Hub modules (Apache-2.0); "
           "the pytorch-pretrained-biggan package is MIT-licensed")
RENAME = {"snconv1x1_theta": "theta", "snconv1x1_phi": "phi", "snconv1x1_g": "g",
          "snconv1x1_o_conv": "o_conv"}
CONFIG_KEYS = ("output_dim", "z_dim", "channel_width", "num_classes", "layers",
               "attention_layer_position", "eps", "n_stats")


def paths(path: Path) -> tuple[Path, Path]:
    """(weights, config) of a model folder, or of a weights file with config.json beside it."""
    folder = path if path.is_dir() else path.parent
    weights = folder / WEIGHTS if path.is_dir() else path
    return weights, folder / CONFIG


def looks_like(state: Any) -> bool:
    return isinstance(state, dict) and "generator.gen_z.weight_orig" in state


def read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GanzooError(f"{path}: cannot read the BigGAN config.json beside the weights ({exc})") from None
    missing = [k for k in CONFIG_KEYS if k not in config] if isinstance(config, dict) else CONFIG_KEYS
    if missing:
        raise GanzooError(f"{path}: not a pytorch-pretrained-biggan config (missing {', '.join(missing)})")
    return config


def fold_spectral_norm(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """Plain weights: each ``*_orig`` divided by its stored sigma; u and v dropped."""
    import torch

    out = {}
    for key, value in state.items():
        if key.endswith(("weight_u", "weight_v")):
            continue
        if key.endswith("weight_orig"):
            base = key[: -len("_orig")]
            u, v = state.get(base + "_u"), state.get(base + "_v")
            if u is None or v is None:
                raise GanzooError(f"{path}: {key} has no stored u and v (spectral norm)")
            w = value.float()
            sigma = torch.dot(u.float(), torch.mv(w.reshape(w.shape[0], -1), v.float()))
            out[base] = w / sigma
        else:
            out[key] = value.float()
    return out


def rename(key: str) -> str:
    key = key.removeprefix("generator.")
    return ".".join(RENAME.get(part, part) for part in key.split("."))


def read(path: Path, state: dict[str, Any] | None = None) -> ImportedModel:
    """The ``biggan_deep`` model of a pytorch-pretrained-biggan folder (or its weights file)."""
    from .base import load_state

    weights, config_path = paths(path)
    config = read_config(config_path)
    state = load_state(weights) if state is None else state
    if not looks_like(state):
        raise GanzooError(f"{weights}: not a pytorch-pretrained-biggan state dict (no "
                          f"generator.gen_z.weight_orig)")
    g_state = {rename(k): v.clone() for k, v in fold_spectral_norm(state, weights).items()}
    size = int(config["output_dim"])
    options = {"z_dim": config["z_dim"], "channel_width": config["channel_width"],
               "layers": [list(layer) for layer in config["layers"]],
               "attention_layer_position": config["attention_layer_position"],
               "n_stats": config["n_stats"], "eps": config["eps"]}
    return ImportedModel(variant="biggan_deep", options=options, image_shape=(3, size, size),
                         num_classes=int(config["num_classes"]), g_state=g_state, d_state=None,
                         source_format="biggan-hf", source=weights, licence=LICENCE,
                         source_url="https://github.com/huggingface/pytorch-pretrained-BigGAN")
