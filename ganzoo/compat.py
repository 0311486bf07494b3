"""Start-up checks that a loss or regularizer can read the scores a variant's discriminator gives.

Losses and regularizers declare the kinds of scores they read (``scores``, a class attribute);
variants declare what their discriminator's scores mean (``Variant.d_scores``: "logit" or
"energy"). A mismatch would train without an error but towards the wrong goal (an energy-based
discriminator wants real samples *low*), so it is refused with one line: by the options schema
when the plugins are loaded (``ganzoo config check``), and again when the variant is built.
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigError

MEANING = {"logit": "logits (higher = more real)",
           "energy": "energies (lower = more real: an autoencoder's reconstruction error)"}


def _describe(kind: str) -> str:
    return MEANING.get(kind, f"'{kind}' scores")


def loss_mismatch(loss_cls: Any, name: str, variant: str, d_scores: str) -> str | None:
    """Why loss ``name`` cannot read ``d_scores`` (naming the losses that can), or None."""
    if d_scores in loss_cls.scores:
        return None
    from .plugins import get_loss, list_losses

    fitting = [n for n in list_losses() if d_scores in get_loss(n).scores]
    hint = f"use one of: {', '.join(fitting)}" if fitting else "no registered loss reads them"
    return (f"loss '{name}' reads {' or '.join(map(_describe, loss_cls.scores))}, but variant "
            f"'{variant}' scores with {_describe(d_scores)}; set variant.loss: {hint}")


def regularizer_mismatch(reg_cls: Any, name: str, variant: str, d_scores: str) -> str | None:
    """Why regularizer ``name`` cannot read ``d_scores``, or None."""
    if d_scores in reg_cls.scores:
        return None
    return (f"regularizer '{name}' reads {' or '.join(map(_describe, reg_cls.scores))}, but "
            f"variant '{variant}' scores with {_describe(d_scores)}; remove it from "
            f"variant.regularizers")


def check_loss_scores(loss: object, name: str, variant: str, d_scores: str) -> None:
    message = loss_mismatch(type(loss), name, variant, d_scores)
    if message:
        raise ConfigError(message, key="variant.loss")


def check_regularizer_scores(reg: object, name: str, variant: str, d_scores: str) -> None:
    message = regularizer_mismatch(type(reg), name, variant, d_scores)
    if message:
        raise ConfigError(message, key="variant.regularizers")


def schema_mismatch(registry: Any, variant: str, loss: str | None, regularizers: list[dict]) -> str | None:
    """For an options schema: the first mismatch of the loss or a regularizer with the registered
    variant ``variant`` (None when they fit, or when a name is not registered: that is reported
    elsewhere)."""
    from .errors import GanzooError

    try:
        d_scores = registry.get("variants", variant).d_scores
        if loss is not None:
            message = loss_mismatch(registry.get("losses", loss), loss, variant, d_scores)
            if message:
                return message
        for spec in regularizers:
            reg = registry.get("regularizers", spec["name"])
            message = regularizer_mismatch(reg, spec["name"], variant, d_scores)
            if message:
                return message
    except GanzooError:
        return None
    return None
