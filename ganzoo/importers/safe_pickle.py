"""A restricted unpickler for NVIDIA's network pickles: data only, never code.

A StyleGAN2-ADA snapshot (``network-snapshot-*.pkl``) pickles each network through
``torch_utils.persistence``: every module becomes a call ``_reconstruct_persistent_obj(meta)``
whose ``meta`` holds the source code of its Python module (``module_src``), the class name and
the module's state (``_parameters``, ``_buffers``, ``_modules``, the constructor arguments
``_init_args`` / ``_init_kwargs``, ...). A plain ``pickle.load`` executes that source, and any
pickle may name any callable. Here ``find_class`` resolves only an allow-list of names, each to a
function of ours that builds plain data:

* the persistence hook -> a :class:`Record` (class name and state; ``module_src`` is never run);
* torch's tensor, parameter and storage rebuilders -> tensors (the storages' inner
  ``torch.save`` bytes are read with ``torch.load(weights_only=True)``);
* ``OrderedDict``, ``set``, ``frozenset``, ``dnnlib.util.EasyDict`` (a dict) and numpy scalars
  of numeric types (constructor values such as ``weight_gain``).

Anything else (``os.system``, ``builtins.eval``, an unknown class) stops the load with one line.
"""

from __future__ import annotations

import collections
import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GanzooError


class UnsafePickleError(GanzooError):
    """The pickle names something outside the allow-list (it would run code if loaded naively)."""


@dataclass
class Record:
    """One persistent object of the pickle, as data: its class name and its state dict."""

    class_name: str
    state: dict[str, Any]
    version: Any = None
    module_src_chars: int = 0


class EasyDict(dict):
    """Stands in for ``dnnlib.util.EasyDict`` (a dict with attribute access): a plain dict."""


def _reconstruct_persistent_obj(meta: Any) -> Record:
    if not isinstance(meta, dict) or meta.get("type") != "class" \
            or not isinstance(meta.get("class_name"), str) or not isinstance(meta.get("state"), dict):
        raise UnsafePickleError("a persistent object without the expected type/class_name/state")
    src = meta.get("module_src")
    return Record(meta["class_name"], dict(meta["state"]), meta.get("version"),
                  len(src) if isinstance(src, str) else 0)


def _load_storage(data: Any):
    """A storage from the bytes torch's ``__reduce__`` wrote (``torch.save``, read weights-only)."""
    import torch

    if not isinstance(data, (bytes, bytearray)):
        raise UnsafePickleError("a tensor storage that is not bytes")
    try:
        return torch.load(io.BytesIO(bytes(data)), weights_only=True, map_location="cpu")
    except Exception as exc:  # torch raises many kinds for damaged bytes
        raise UnsafePickleError(f"a tensor storage that torch cannot read weights-only ({exc})"
                                [:200]) from None


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, *_):
    import torch

    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise UnsafePickleError("a tensor without a storage")
    return torch._utils._rebuild_tensor_v2(storage, offset, tuple(size), tuple(stride), False,
                                           collections.OrderedDict())


def _rebuild_parameter(data, *_):
    import torch

    if not isinstance(data, torch.Tensor):
        raise UnsafePickleError("a parameter without a tensor")
    return data


def _numpy_dtype(name: Any, *_):
    import numpy as np

    dtype = np.dtype(name) if isinstance(name, str) and name.lstrip("<>=|") in _NUMERIC else None
    if dtype is None:
        raise UnsafePickleError(f"a numpy dtype {name!r} that is not a plain number type")
    return dtype


def _numpy_scalar(dtype: Any, data: Any = None):
    import numpy as np

    if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf" or not isinstance(data, bytes):
        raise UnsafePickleError("a numpy scalar that is not a plain number")
    return np.frombuffer(data, dtype=dtype, count=1)[0].item()


_NUMERIC = {f"{k}{n}" for k in "iuf" for n in (1, 2, 4, 8)} | {"b1", "?"}

#: (module, name) -> the function of ours it resolves to
ALLOWED = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
}


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose globals are :data:`ALLOWED` only and with no persistent ids."""

    def find_class(self, module: str, name: str) -> Any:
        found = ALLOWED.get((module, name))
        if found is None:
            raise UnsafePickleError(f"it names {module}.{name}, which a network pickle does not "
                                    f"need (loading it naively could run code)")
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("it uses persistent ids, which a network pickle does not")


def load_restricted(path: Path) -> Any:
    """The data of the pickle ``path``; one line (exit 2) when it is not a readable, safe one."""
    try:
        with open(path, "rb") as f:
            return RestrictedUnpickler(f).load()
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{path}: refused: {exc}; only NVIDIA network pickles of "
                                f"parameters and buffers are read") from None
    except OSError as exc:
        raise GanzooError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except (EOFError, pickle.UnpicklingError) as exc:
        if not isinstance(exc, EOFError) and "truncated" not in str(exc):
            raise _unreadable(path, exc) from None
        raise GanzooError(f"{path}: the pickle ends early (a truncated or partial download); "
                          f"download it again") from None
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, MemoryError,
            RecursionError, UnicodeDecodeError) as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: Exception) -> GanzooError:
    reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
    return GanzooError(f"{path}: not a readable network pickle ({reason}); give a "
                       f"StyleGAN2-ADA network-snapshot .pkl")


def flatten(record: Record, prefix: str = "") -> tuple[dict[str, Any], dict[str, str]]:
    """(name -> tensor of every parameter and buffer, name -> class name of every module) of a
    persistent module tree, with dotted names as ``state_dict()`` gives them."""
    import torch

    tensors: dict[str, Any] = {}
    classes = {prefix.rstrip("."): record.class_name}
    for key in ("_parameters", "_buffers"):
        entries = record.state.get(key) or {}
        if not isinstance(entries, dict):
            raise UnsafePickleError(f"{record.class_name}.{key} is not a dict")
        for name, value in entries.items():
            if value is None:
                continue
            if not isinstance(value, torch.Tensor):
                raise UnsafePickleError(f"{record.class_name}.{name} is not a tensor")
            tensors[prefix + name] = value
    for name, child in (record.state.get("_modules") or {}).items():
        if child is None:
            continue
        if not isinstance(child, Record):
            raise UnsafePickleError(f"{record.class_name}.{name} is a module that is not a "
                                    f"persistent network class")
        sub_t, sub_c = flatten(child, f"{prefix}{name}.")
        tensors.update(sub_t)
        classes.update(sub_c)
    return tensors, classes
