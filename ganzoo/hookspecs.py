"""The hooks a ganzoo plugin can implement.

A plugin is a module named by an entry point in the ``ganzoo`` group::

    [project.entry-points.ganzoo]
    my_gan = "my_gan_package.plugin"

The module implements any of the hooks below with ``@ganzoo.hookimpl``. Each hook receives a
``register`` callback; call it once per thing the plugin adds::

    from ganzoo import hookimpl

    @hookimpl
    def register_variants(register):
        register("my_gan", MyGAN)

Names are global: two plugins registering the same name is an error that names both.
ganzoo's own variants, losses, data sets and metrics are registered through these same hooks.
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

PROJECT = "ganzoo"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: ``register(name, obj)``: the callback every hook receives.
Register = Callable[[str, Any], None]


@hookspec
def register_variants(register: Register) -> None:
    """Register GAN variants: ``register(name, VariantSubclass)``.

    The class must subclass :class:`ganzoo.Variant` and define an ``Options`` pydantic model (a
    subclass of :class:`ganzoo.VariantOptions`); ``variant: {name: NAME, ...}`` in a run config
    selects it and its options are validated against that model.
    """


@hookspec
def register_losses(register: Register) -> None:
    """Register adversarial losses: ``register(name, LossSubclass)``.

    The class must subclass :class:`ganzoo.Loss` and take no constructor arguments. Variants that
    allow a choice of loss select it by name (``variant.loss: hinge``).
    """


@hookspec
def register_datasets(register: Register) -> None:
    """Register data sources: ``register(name, DataSourceSubclass)``.

    The class must subclass :class:`ganzoo.data.DataSource` and define an ``Options`` pydantic
    model (a subclass of :class:`ganzoo.data.DataOptions`); ``data: {name: NAME, ...}`` selects it.
    """


@hookspec
def register_metrics(register: Register) -> None:
    """Register evaluation metrics: ``register(name, MetricSubclass)``.

    See :mod:`ganzoo.metrics` for the metric interface; ``ganzoo eval --metrics NAME`` and the
    ``eval:`` block of a run config select metrics by name.
    """


@hookspec
def register_feature_extractors(register: Register) -> None:
    """Register feature extractors used by metrics: ``register(name, factory)``.

    ``factory(**options)`` returns an object with ``name``, ``weights_hash`` and
    ``features(images) -> Tensor[N, D]`` (see :mod:`ganzoo.metrics.features`).
    """


@hookspec
def register_regularizers(register: Register) -> None:
    """Register regularizers: ``register(name, RegularizerSubclass)``.

    The class must subclass :class:`ganzoo.regularizers.Regularizer` and define an ``Options``
    model (a subclass of :class:`ganzoo.regularizers.RegularizerOptions`);
    ``variant.regularizers: [{name: NAME, every: N, ...}]`` selects it for any adversarial variant.
    """


@hookspec
def register_loggers(register: Register) -> None:
    """Register loggers: ``register(name, LoggerSubclass)``.

    The class must subclass :class:`ganzoo.loggers.Logger` and may define an ``Options`` model
    (a subclass of :class:`ganzoo.loggers.LoggerOptions`); ``log.loggers: [NAME, {name: NAME,
    ...}]`` in a run config selects loggers and their options are validated against that model.
    """


#: Every hook, with the kind of thing it registers (used by the registry and ``ganzoo plugins``).
HOOK_KINDS: dict[str, str] = {
    "register_variants": "variants",
    "register_losses": "losses",
    "register_datasets": "datasets",
    "register_metrics": "metrics",
    "register_feature_extractors": "feature_extractors",
    "register_loggers": "loggers",
    "register_regularizers": "regularizers",
}
