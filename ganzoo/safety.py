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
             "overflow", "invalid size")


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


def build_variant_safely(variant_cls: type, options: Any, info: Any, *, file: str | None = None) -> Any:
    """``variant_cls(options, info)``; networks that cannot be allocated (or get a negative or
    overflowing size) become a :class:`ConfigError` naming the variant options that size them."""
    name = getattr(options, "name", variant_cls.__name__)
    try:
        return variant_cls(options, info)
    except (RuntimeError, MemoryError, ValueError, OverflowError) as exc:
        text = str(exc).lower()
        if not (is_out_of_memory(exc) or any(m in text for m in _BAD_SIZE)):
            raise
        keys = ", ".join(size_options(options)) or "its size options"
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
