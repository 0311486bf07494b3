"""Loggers: where a run's scalars, images, parameters, scores and final status go.

Built in: ``tensorboard`` and ``jsonl`` (the default), ``mlflow`` (``pip install 'ganzoo[mlflow]'``)
and ``wandb`` (``pip install 'ganzoo[wandb]'``). A plugin adds one with the ``register_loggers``
hook; see docs/plugins.md.
"""

from __future__ import annotations

from .base import (STATUSES, Logger, LoggerContext, LoggerError, LoggerOptions, LoggerWarning, SentSteps,
                   flatten, import_optional)

__all__ = ["STATUSES", "Logger", "LoggerContext", "LoggerError", "LoggerOptions", "LoggerWarning",
           "SentSteps", "flatten", "import_optional"]
