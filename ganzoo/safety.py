"""Sizes and values from user input that only fail when torch uses them, turned into one line.

Validation cannot know how much memory a machine has, so a network width of 10^8 or ``sample -n
200000000`` passes every schema and then fails inside an allocation. These helpers recognise an
allocation failure (and torch's own argument checks, such as Adam's "Invalid beta parameter")
and raise a :class:`~ganzoo.errors.GanzooError` naming the option or argument to change; any
other exception is left alone, since it is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator

from .errors import ConfigError, GanzooError

#: Substrings of the messages torch and the C++ allocator give when memory runs out.
_OUT_OF_MEMORY = ("not enough memory", "can't allocate", "cannot allocate", "defaultcpuallocator",
                  "out of memory", "bad_alloc", "tensor too large", "storage size calculation overflowed")
#: Substrings of torch's messages for sizes that can never work (negative or overflowing).
_BAD_SIZE = ("negative dimension", "size must be non-negative", "must be positive",
             "overflow", "invalid size", "integer string conversion")
#: Most modules one variant may build, and the share of the machine's memory its parameters
#: (with gradients and two Adam moments: 16 bytes each) may take: past either, a depth or width
#: option is surely a typo, and building it for real would hang or exhaust memory.
MAX_MODULES = 20_000
MAX_MEMORY_SHARE = 0.8


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says an allocation could not be satisfied."""
    if isinstance(exc, MemoryError):
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc).lower() for m in _OUT_OF_MEMORY)


def _reason(exc: BaseException) -> str:
    """The useful part of an allocation or size error: how much it asked for, else its first line."""
    text = str(exc).strip()
    asked = re.search(r"allocate (\d+) bytes", text)
    if asked:
        return f"it asked for {int(asked.group(1)) / 2**30:,.1f} GiB"
    first = (text.splitlines() or [type(exc).__name__])[0]
    return first if len(first) <= 160 else first[:157] + "..."


@contextlib.contextmanager
def memory_guard(what: str, advice: str) -> Iterator[None]:
    """Inside the block, running out of memory raises ``GanzooError("<what> does not fit in
    memory (...); <advice>")``."""
    try:
        yield
    except (RuntimeError, MemoryError) as exc:
        if not is_out_of_memory(exc):
            raise
        raise GanzooError(f"{what} does not fit in memory ({_reason(exc)}); {advice}") from None


def size_options(options: Any, limit: int = 3) -> list[str]:
    """``["variant.ngf=100000000", ...]``: the largest integer options, the ones that size
    networks, for the message (largest first)."""
    found: list[tuple[bool, int, str]] = []
    for key, value in getattr(options, "__dict__", {}).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        ints = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        if ints:
            shown = list(value) if isinstance(value, (list, tuple)) else value
            found.append((min(ints) < 0, max(abs(v) for v in ints), f"variant.{key}={shown}"))
    found.sort(key=lambda item: (not item[0], -item[1]))  # negative sizes first, then the largest
    return [text for *_, text in found[:limit]]


class _OverBudget(Exception):
    pass


class _SizeBudget:
    """Counts modules and parameter elements as they are registered, stopping the build as soon
    as either passes its budget (torch's global registration hooks)."""

    def __init__(self) -> None:
        import os

        self.modules = self.params = 0
        try:
            ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):  # not POSIX: 64 GiB
            ram = 64 << 30
        self.ram = ram
        self.max_params = int(ram * MAX_MEMORY_SHARE / 16)

    def module(self, parent, name, child):
        self.modules += 1
        if self.modules > MAX_MODULES:
            raise _OverBudget(f"more than {MAX_MODULES:,} layers")

    def param(self, module, name, param):
        self.params += 0 if param is None else param.numel()
        if self.params > self.max_params:
            raise _OverBudget(f"more than {self.max_params:,} parameters (over "
                              f"{self.max_params * 16 / 2**30:,.1f} GiB with gradients and optimizer "
                              f"state; this machine has {self.ram / 2**30:,.1f} GiB)")


def preflight(variant_cls: type, options: Any, info: Any) -> str | None:
    """Build the variant once on the meta device (no memory, no initialisation work) within
    :class:`_SizeBudget`; returns why it is too large, else None. Every global RNG is restored,
    so the real build draws the same weights as without this check. A variant that cannot be
    built on the meta device is simply not checked here."""
    import torch
    from torch.nn.modules import module as nn_module

    from .runtime import rng_state, set_rng_state

    budget, saved = _SizeBudget(), rng_state()
    hooks = [nn_module.register_module_module_registration_hook(budget.module),
             nn_module.register_module_parameter_registration_hook(budget.param)]
    try:
        with torch.device("meta"), _no_power_iteration():
            variant_cls(options, info)
    except _OverBudget as exc:
        return str(exc)
    except Exception:  # the real build reports it (with a message, or as the bug it is)
        return None
    finally:
        for hook in hooks:
            hook.remove()
        set_rng_state(saved)
    return None


@contextlib.contextmanager
def _no_power_iteration() -> Iterator[None]:
    """Spectral norm's power iteration at set-up is all meta-tensor arithmetic, which runs in
    Python (seconds for BigGAN); sizes do not depend on it, so the preflight skips it."""
    try:
        from torch.nn.utils.parametrizations import _SpectralNorm

        original = _SpectralNorm._power_method
    except (ImportError, AttributeError):  # another torch: the preflight is just slower
        yield
        return
    _SpectralNorm._power_method = lambda self, weight_mat, n_power_iterations: None
    try:
        yield
    finally:
        _SpectralNorm._power_method = original


def build_variant_safely(variant_cls: type, options: Any, info: Any, *, file: str | None = None) -> Any:
    """``variant_cls(options, info)``; networks too large to build (found by :func:`preflight`
    in well under a second) or that cannot be allocated (or get a negative or overflowing
    size) become a :class:`ConfigError` naming the variant options that size them."""
    name = getattr(options, "name", variant_cls.__name__)
    keys = ", ".join(size_options(options)) or "its size options"
    too_large = preflight(variant_cls, options, info)
    if too_large is not None:
        raise ConfigError(f"variant '{name}' would build {too_large}; reduce {keys}", file=file,
                          key="variant")
    try:
        return variant_cls(options, info)
    except (RuntimeError, MemoryError, ValueError, OverflowError) as exc:
        text = str(exc).lower()
        if not (is_out_of_memory(exc) or any(m in text for m in _BAD_SIZE)):
            raise
        verb = "reduce" if is_out_of_memory(exc) else "sizes must be positive and moderate; check"
        raise ConfigError(f"variant '{name}' cannot build its networks with these options "
                          f"({_reason(exc)}); {verb} {keys}", file=file, key="variant") from None


def configure_optimizers_safely(variant: Any, *, file: str | None = None) -> dict[str, Any]:
    """``variant.configure_optimizers()``; torch's checks of optimizer arguments (``Invalid beta
    parameter at index 0: 2.0``, ``Invalid learning rate``) become a :class:`ConfigError`."""
    try:
        return variant.configure_optimizers()
    except ValueError as exc:
        if not str(exc).startswith("Invalid "):
            raise
        name = getattr(variant.options, "name", type(variant).__name__)
        raise ConfigError(f"variant '{name}': the optimizer refuses its options ({_reason(exc)}); "
                          f"fix the variant's lr/betas options", file=file, key="variant") from None
