"""Where and how a run computes: the device, the precision, and every random number generator.

Kept apart from the training loop so that the commands (sample, translate, eval, bench) pick a
device exactly as training does, and so that checkpoints save and restore the same RNG state.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from .errors import ConfigError


def resolve_device(spec: str) -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; explicit devices are checked to exist."""
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device '{spec}'; use auto, cpu, cuda, cuda:N or mps",
                          key="device") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device '{spec}' asked for, but CUDA is not available here; "
                              f"use device: auto or device: cpu", key="device")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device '{spec}' does not exist ({torch.cuda.device_count()} CUDA "
                              f"device(s) here)", key="device")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("device 'mps' asked for, but MPS is not available here; use device: auto",
                          key="device")
    return device


def check_precision(precision: str, device: torch.device) -> None:
    if precision != "fp32" and device.type != "cuda":
        raise ConfigError(f"precision '{precision}' applies only on CUDA devices and this run is on "
                          f"'{device.type}'; set precision: fp32 (or run on a GPU)", key="precision")
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise ConfigError("precision 'bf16' is not supported by this GPU; use fp16 or fp32",
                          key="precision")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every global RNG state, in types that ``torch.load(weights_only=True)`` accepts."""
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state()
    state = {"python": [version, list(internal), gauss],
             "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def rng_state_problem(state: Any) -> str | None:
    """What is wrong with a saved RNG state (None if it can be restored): it is tried on
    scratch generators, so the global ones are only ever set from a state known to work."""
    if not isinstance(state, dict) or not {"python", "numpy", "torch"} <= set(state):
        return "it is not a mapping with 'python', 'numpy' and 'torch' entries"
    try:
        version, internal, gauss = state["python"]
        random.Random().setstate((version, tuple(internal), gauss))
        name, keys, *rest = state["numpy"]
        np.random.RandomState().set_state((name, keys.numpy().astype(np.uint32), *rest))
        torch.Generator().set_state(state["torch"])
        cuda = state.get("cuda", [])
        if not isinstance(cuda, (list, tuple)) or not all(torch.is_tensor(t) for t in cuda):
            return "its 'cuda' entry is not a list of tensors"
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, RuntimeError) as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else 'malformed'}"
    return None


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
