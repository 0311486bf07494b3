"""Test helper: writes network pickles in the FORMAT of NVIDIA's StyleGAN2-ADA snapshots with our
own code (no NVIDIA code): each module is a ``torch_utils.persistence._reconstruct_persistent_obj``
call on a meta dict (type, version, module_src, class_name, state), the state a module's
``__dict__`` (``_parameters``, ``_buffers``, ``_modules``, ``_init_args``, ``_init_kwargs`` ...).
``module_src`` is a short placeholder of ours, never NVIDIA's source.

The module tree and constructor arguments come from ``tests/data/import/stylegan2_ada_*.npz``
(written by ``tools/make_import_fixtures.py`` from NVIDIA's networks at development time), and the
weights from :func:`fixture_weights`, which the fixture tool used too: the same seeded draws in
the same order, so the committed reference outputs belong to exactly these weights.
"""

from __future__ import annotations

import collections
import contextlib
import json
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import torch

PLACEHOLDER_SRC = "# module source left out: written by ganzoo's tests, not NVIDIA's code\n"
FIXTURES = Path(__file__).resolve().parents[1] / "data" / "import"


def fixture_weights(tensors: list[tuple[str, list[int]]], seed: int) -> dict[str, torch.Tensor]:
    """Deterministic float32 weights for (name, shape) in order: one seeded generator, one draw
    per tensor; scales chosen so noise, biases and styles all matter."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in tensors:
        x = torch.randn(shape, generator=gen, dtype=torch.float32)
        leaf = name.rsplit(".", 1)[-1]
        if name.endswith(("resample_filter", "blur.kernel", "upsample.kernel")):
            taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
            x = taps[:, None] * taps[None, :] / (64.0 if name.endswith("resample_filter") else 16.0)
        elif name.startswith(("mapping.fc", "style.")) and leaf == "weight":
            x = x * 100.0  # stored / lr_multiplier (0.01), as both projects initialise them
        elif leaf == "noise_strength" or name.endswith("noise.weight"):
            x = x * 0.5
        elif leaf == "bias":
            x = x * 0.1 + (1.0 if ".affine." in name or ".modulation." in name else 0.0)
        elif leaf in ("w_avg", "latent_avg"):
            x = x * 0.5
        out[name] = x.contiguous()
    return out


def load_fixture(name: str) -> dict:
    """The arrays of a fixture and its parsed ``structure`` JSON."""
    with np.load(FIXTURES / f"{name}.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays["structure"] = json.loads(str(arrays["structure"]))
    return arrays


class _Persistent:
    def __init__(self, meta: dict) -> None:
        self.meta = meta

    def __reduce__(self):
        return (sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj, (self.meta,))


class _EasyDict(dict):
    pass


@contextlib.contextmanager
def _fake_modules():
    """Names the pickle refers to, registered only while writing (pickle checks them)."""
    fake = {name: types.ModuleType(name) for name in ("torch_utils", "torch_utils.persistence",
                                                      "dnnlib", "dnnlib.util")}

    def _reconstruct_persistent_obj(meta):  # never called: we only write
        raise AssertionError("writer only")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    fake["torch_utils.persistence"]._reconstruct_persistent_obj = _reconstruct_persistent_obj
    _EasyDict.__module__, _EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    fake["dnnlib.util"].EasyDict = _EasyDict
    saved = {name: sys.modules.get(name) for name in fake}
    sys.modules.update(fake)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _easy(value):
    return _EasyDict({k: _easy(v) for k, v in value.items()}) if isinstance(value, dict) else value


def _module(path: str, classes: dict[str, str], params: dict[str, torch.Tensor],
            buffers: dict[str, torch.Tensor], kwargs: dict | None) -> _Persistent:
    prefix = f"{path}." if path else ""
    children = sorted({k[len(prefix):].split(".")[0] for k in classes if k.startswith(prefix) and k != path
                       and "." not in k[len(prefix):]})
    own = lambda d: collections.OrderedDict(
        (k[len(prefix):], v) for k, v in d.items() if k.startswith(prefix) and "." not in k[len(prefix):])
    state = {"training": False,
             "_parameters": collections.OrderedDict(
                 (k, torch.nn.Parameter(v, requires_grad=False)) for k, v in own(params).items()),
             "_buffers": own(buffers), "_non_persistent_buffers_set": set(),
             "_backward_hooks": collections.OrderedDict(), "_forward_hooks": collections.OrderedDict(),
             "_forward_pre_hooks": collections.OrderedDict(), "_state_dict_hooks": collections.OrderedDict(),
             "_load_state_dict_pre_hooks": collections.OrderedDict(),
             "_modules": collections.OrderedDict(
                 (c, _module(prefix + c, classes, params, buffers, None)) for c in children),
             "_init_args": (), "_init_kwargs": _easy(kwargs or {})}
    if classes[path] == "FullyConnectedLayer":
        state["weight_gain"] = np.float64(0.5)  # numpy scalars appear in real snapshots
    return _Persistent({"type": "class", "version": 6, "module_src": PLACEHOLDER_SRC,
                        "class_name": classes[path], "state": state})


def network(structure: dict, weights: dict[str, torch.Tensor]) -> _Persistent:
    """One network (``structure``: modules, tensors, buffers, init_kwargs) as a persistent record."""
    buffers = set(structure["buffers"])
    params = {k: v for k, v in weights.items() if k not in buffers}
    bufs = {k: v for k, v in weights.items() if k in buffers}
    return _module("", dict(structure["modules"]), params, bufs, structure["init_kwargs"])


def write_snapshot(path: Path, fixture: dict, seed: int) -> None:
    """A snapshot dict {G, D, G_ema, augment_pipe, training_set_kwargs} in the official format."""
    nets = {}
    for key in ("G", "D"):
        s = fixture["structure"][key]
        nets[key] = network(s, fixture_weights(s["tensors"], seed + (key == "D")))
    with _fake_modules():
        data = {"training_set_kwargs": {"resolution": 32}, "G": nets["G"], "D": nets["D"],
                "G_ema": nets["G"], "augment_pipe": None}
        path.write_bytes(pickle.dumps(data, protocol=4))
