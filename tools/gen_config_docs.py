"""Regenerate docs/configs.md from the run-config schema, so the reference never drifts from it.

Every key comes from the pydantic models: the fixed sections in ganzoo/config.py, and the
``Options`` of every variant, data set and regularizer that ganzoo itself registers (third-party
plugins document their own). ``tests/test_config_docs.py`` fails when the file is out of date or
a key is missing. ``--check`` only reports whether the file is up to date (exit 1 if not).

    python tools/gen_config_docs.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "configs.md"

INTRO = """\
# Run configs

A run is one YAML file (examples: `zoo_configs/*.yaml`). `ganzoo config check CONFIG` validates it
and `ganzoo config show CONFIG` prints it with every default filled in. Any key can be overridden
on the command line as `KEY=VALUE`, where VALUE is YAML: `ganzoo run cfg.yaml train.steps=200
variant.lr_g=1e-4 variant.g_hidden=[64,64]`.

Every key is checked before anything runs; a mistake is one line naming the file, line and key
(see [errors.md](errors.md)). The rules beyond each key's type and range:

* unknown keys are errors, with a "did you mean" suggestion;
* numbers are strict: `steps: true` or `steps: 2.5` is refused, not read as 1 or 2; NaN, infinity
  and integers beyond 64 bits are refused everywhere, plugin options included;
* a key given twice in one mapping is an error naming both lines;
* the file is read only if it is a regular file of at most 1 MiB, with YAML nested at most 64
  levels deep and at most 100000 values once aliases (`&a` / `*a`) are expanded; recursive
  aliases and numbers of over 100 digits are refused; tags that would build Python objects are
  refused (`yaml.safe_load`);
* `run.name` is text even when it looks like a date or a number (`name: 2024-01-01`).

This page is generated from the schema by `python tools/gen_config_docs.py`; a test fails when a
key is missing from it.

## Contents

1. [Sections](#sections): `run`, `seed`, `device`, `precision`, `train`, `log`, `checkpoint`,
   `ema`, `distributed`, `eval`
2. [Variants](#variants): the `variant:` block of each built-in variant
3. [Data sets](#data-sets): the `data:` block of each built-in data set, and
   [real data](#real-data) (CIFAR-10, MNIST, your own images)
4. [Regularizers](#regularizers): items of `variant.regularizers`
"""

REAL_DATA = """\
## Real data

The zoo configs train on built-in data that needs no download. To train on a standard data set,
download it once and point `data` at it (`ganzoo data list` shows what is known and present):

```bash
ganzoo data download cifar10
ganzoo run zoo_configs/dcgan.yaml data.name=cifar10 data.image_size=32
ganzoo data download mnist
ganzoo run zoo_configs/dcgan.yaml data.name=mnist data.image_size=32
```

Your own images: `data: {name: image_folder, root: path/to/images, image_size: 64}` (one folder),
`class_folder` (one sub-folder per class, for conditional variants), `npz` (arrays from
`numpy.savez`) or `unpaired_folders` (CycleGAN's `trainA/`, `trainB/`). Their keys are below.
"""


# -- rendering one field ------------------------------------------------------------------------
def type_text(annotation) -> str:
    """``list[int]``, ``float or null``, ``'a' | 'b'`` from a type annotation."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        parts = [type_text(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" or null" if type(None) in args else "")
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(type_text(a) for a in args)}]" if args else name
    if annotation is typing.Any:
        return "any"
    return getattr(annotation, "__name__", str(annotation))


def constraint_text(field) -> str:
    symbols = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤", "min_length": "length ≥",
               "max_length": "length ≤"}
    out = []
    for item in field.metadata:
        for attr, symbol in symbols.items():
            value = getattr(item, attr, None)
            if value is not None:
                out.append(f"{symbol} {'2^63-1' if value == 2**63 - 1 else value}")
    return ", ".join(out)


def default_text(field) -> str:
    from pydantic_core import PydanticUndefined

    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return f"`{json.dumps(value, default=str)}`"


def _model_of(annotation):
    """The pydantic model inside ``annotation`` (``X`` or ``X | None``), else None."""
    from pydantic import BaseModel

    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def rows(model, prefix: str, skip: tuple[str, ...] = ()) -> list[tuple[str, str, str, str, str]]:
    """(dotted key, type, default, constraints, description) of every field, nested models
    flattened into dotted keys."""
    out = []
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        key = f"{prefix}{name}"
        out.append((key, type_text(field.annotation), default_text(field), constraint_text(field),
                    (field.description or "").replace("|", "\\|").replace("\n", " ")))
        nested = _model_of(field.annotation)
        if nested is not None:
            out += rows(nested, key + ".")
    return out


def table(model, prefix: str, skip: tuple[str, ...] = ()) -> str:
    lines = ["| key | type | default | allowed | what it does |", "|---|---|---|---|---|"]
    for key, typ, default, allowed, text in rows(model, prefix, skip):
        lines.append(f"| `{key}` | {typ} | {default} | {allowed} | {text} |")
    return "\n".join(lines) + "\n"


# -- the page -----------------------------------------------------------------------------------
SECTION_TEXT = {
    "run": "Where the run goes: the folder `out_dir/name`; an existing run there is never "
           "overwritten (a new run gets `name-2`, `name-3`, ...).",
    "train": "The training loop.",
    "log": "Scalars, sample grids and the progress bar.",
    "checkpoint": "Atomic checkpoints; `ganzoo resume` continues from the latest good one.",
    "ema": "An exponential moving average of the generator's weights, used for samples and scores.",
    "distributed": "Settings that apply under `torchrun` (see [training.md](training.md)).",
    "eval": "Scores during training (see [training.md](training.md)).",
}


def heading(name: str, text: str) -> str:
    return f"\n### `{name}`\n\n" + (f"{text}\n\n" if text else "")


def builtin_entries(kind: str) -> list:
    """Registry entries of ``kind`` that ganzoo itself registers, by name."""
    from ganzoo.plugins import get_registry

    registry = get_registry()
    return [registry.entry(kind, name) for name in registry.names(kind)
            if registry.plugins[registry.entry(kind, name).plugin].distribution == "ganzoo"]


def sections_part() -> str:
    from ganzoo.config import _TopLevel

    out = ["## Sections\n\n"]
    scalars = [name for name, f in _TopLevel.model_fields.items() if _model_of(f.annotation) is None
               and name not in ("variant", "data")]
    out.append("### Top level\n\n`variant:` and `data:` are required; their keys depend on their "
               "`name` (see [Variants](#variants) and [Data sets](#data-sets)).\n\n")
    out.append(table(_TopLevel, "", skip=tuple(n for n in _TopLevel.model_fields if n not in scalars)))
    for name, field in _TopLevel.model_fields.items():
        model = _model_of(field.annotation)
        if model is None:
            continue
        optional = type(None) in typing.get_args(field.annotation)
        text = SECTION_TEXT.get(name) or " ".join((model.__doc__ or "").split("\n\n")[0].split())
        if optional:
            text += " Optional: leave the section out to turn it off."
        out.append(heading(name, text.strip()))
        out.append(table(model, f"{name}."))
    return "".join(out)


def options_part(title: str, kind: str, prefix: str) -> str:
    out = [f"## {title}\n"]
    for entry in builtin_entries(kind):
        doc = " ".join((entry.obj.__dict__.get("__doc__") or "").strip().split("\n\n")[0].split())
        out.append(heading(entry.name, doc))
        out.append(table(entry.obj.Options, prefix))
    return "".join(out)


def render() -> str:
    return "\n".join([
        INTRO,
        sections_part(),
        options_part("Variants", "variants", "variant."),
        options_part("Data sets", "datasets", "data."),
        REAL_DATA,
        options_part("Regularizers", "regularizers", "variant.regularizers[].").rstrip("\n") + "\n",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/configs.md is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is out of date; run: python tools/gen_config_docs.py", file=sys.stderr)
            return 1
        print(f"{DOC} is up to date")
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
