"""``init_from: DIR``: start a new run from the weights of an export folder (``ganzoo export``)
or an imported one (``ganzoo import``), to fine-tune it.

The trainer calls :func:`init_from_folder` after the variant is built and before its optimizers
(and the EMA copy, made from the generator) exist, and only for a new run: a resume takes every
weight from its checkpoint. Nothing here draws random numbers, so the run's RNG streams are
those of a run without ``init_from``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from .errors import ConfigError

#: the discriminator of an imported folder (``ganzoo.importers.DISCRIMINATOR``)
DISCRIMINATOR = "discriminator.safetensors"


def _differing(mine: dict[str, Any], theirs: dict[str, Any]) -> list[tuple[str, bool]]:
    """``(variant.KEY is A there and B here, is_float)`` for each option that differs; options
    that are not floats first (floats are learning rates and loss weights: they shape no tensor)."""
    keys = [k for k in sorted(set(mine) | set(theirs)) if k != "name" and mine.get(k) != theirs.get(k)]
    out = [(f"variant.{k} is {theirs.get(k)!r} there and {mine.get(k)!r} here",
            isinstance(theirs.get(k, mine.get(k)), float)) for k in keys]
    return sorted(out, key=lambda item: item[1])


def _plain(value: Any) -> Any:
    """Lists (read from JSON) and tuples compare alike."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _misfit(net: Any, state: dict[str, Any]) -> str | None:
    """The first tensor of ``state`` that does not fit ``net`` (missing, extra or reshaped)."""
    own = net.state_dict()
    for key in sorted(set(own) | set(state)):
        if key not in state:
            return f"{key} missing"
        if key not in own:
            return f"{key} unexpected"
        if tuple(own[key].shape) != tuple(state[key].shape):
            return f"{key} {tuple(state[key].shape)} there, {tuple(own[key].shape)} here"
    return None


def _refuse(cfg: Any, folder: Path, what: str, misfit: str, differing: list) -> ConfigError:
    options = [text for text, _ in differing]
    named = (f"{options[0]}" + (f" (and {len(options) - 1} more option(s))" if len(options) > 1 else "")
             if options else f"no variant option differs ({misfit})")
    return ConfigError(f"init_from: the {what} of {folder} does not fit this run's: {named}; use "
                       f"the variant block of {folder / 'config.yaml'}", file=cfg.source, key="init_from")


def _read_inputs(cfg: Any, folder: Path) -> tuple[Any, Any]:
    """The folder's run config and data info, its weights checked against ``export.json`` (the
    readers of :mod:`ganzoo.inference`, which the trainer cannot import: that would be a cycle)."""
    import hashlib
    import json

    import yaml

    from .config import config_from_dict
    from .export import CONFIG, DATA_INFO, MANIFEST, WEIGHTS, data_info_from_dict

    try:
        texts = {name: (folder / name).read_text(encoding="utf-8") for name in (CONFIG, DATA_INFO)}
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8")) \
            if (folder / MANIFEST).is_file() else {}
        config, data = yaml.safe_load(texts[CONFIG]), json.loads(texts[DATA_INFO])
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"init_from: cannot read {folder}'s {CONFIG}, {DATA_INFO} or {MANIFEST} "
                          f"({str(exc).splitlines()[0][:160]}); export or import it again",
                          file=cfg.source, key="init_from") from None
    expected = manifest.get("sha256", {}).get(WEIGHTS) if isinstance(manifest, dict) else None
    if expected and hashlib.sha256((folder / WEIGHTS).read_bytes()).hexdigest() != expected:
        raise ConfigError(f"init_from: {folder / WEIGHTS} differs from the SHA-256 in {folder / MANIFEST} "
                          f"(changed or damaged); export or import it again", file=cfg.source, key="init_from")
    return (config_from_dict(config, file=str(folder / CONFIG)),
            data_info_from_dict(data, folder / DATA_INFO))


def _read_folder(cfg: Any, info: Any) -> tuple[Path, Any, Any]:
    """The folder, its config and data info, checked against the run (variant name, data shape)."""
    from .export import WEIGHTS

    folder = Path(cfg.init_from).expanduser()
    if not (folder / WEIGHTS).is_file():
        raise ConfigError(f"init_from: {folder} is not an export folder (no {WEIGHTS}); give a folder "
                          f"written by 'ganzoo export' or 'ganzoo import'", file=cfg.source, key="init_from")
    theirs, their_info = _read_inputs(cfg, folder)
    if theirs.variant.name != cfg.variant.name:
        raise ConfigError(f"init_from: {folder} holds variant '{theirs.variant.name}' but this run's "
                          f"variant.name is '{cfg.variant.name}'; use the variant block of "
                          f"{folder / 'config.yaml'}", file=cfg.source, key="variant.name")
    for what, there, here in (("item shape", their_info.shape, info.shape),
                              ("number of classes", their_info.num_classes, info.num_classes)):
        if _plain(there) != _plain(here):
            raise ConfigError(f"init_from: {folder} was trained on data of {what} {there} but this "
                              f"run's data has {here}; set data options (e.g. data.image_size, "
                              f"data.channels) to match", file=cfg.source, key="data")
    return folder, theirs, their_info


def init_from_folder(cfg: Any, variant: Any, info: Any) -> None:
    """Load the generator (and the discriminator, when the folder has one) of ``cfg.init_from``
    into ``variant``; one line naming the folder and the option when they do not fit."""
    from .export import WEIGHTS, load_weights

    folder, theirs, _ = _read_folder(cfg, info)
    options = _differing(cfg.variant.model_dump(mode="json"), theirs.variant.model_dump(mode="json"))
    state = load_weights(folder / WEIGHTS)
    misfit = _misfit(variant.generator_net(), state)
    if misfit:
        raise _refuse(cfg, folder, "generator", misfit, options)
    has_d = "D" in dict(variant.named_children())
    d_file = folder / DISCRIMINATOR
    d_state = load_weights(d_file) if has_d and d_file.is_file() else None
    if d_state is not None and (misfit := _misfit(variant.D, d_state)):
        raise _refuse(cfg, folder, "discriminator", misfit, options)
    variant.generator_net().load_state_dict(state)
    if d_state is not None:
        variant.D.load_state_dict(d_state)
    elif has_d:
        warnings.warn(f"init_from: {folder} has no {DISCRIMINATOR}; the discriminator starts from "
                      f"fresh weights", stacklevel=2)
    shaping = [text for text, is_float in options if not is_float]
    if shaping:
        warnings.warn(f"init_from: the weights of {folder} fit, but {shaping[0]}"
                      f"{f' (and {len(shaping) - 1} more)' if len(shaping) > 1 else ''}; training "
                      f"goes on with this run's options", stacklevel=2)
