"""ganzoo's built-in loggers, registered like a third party's would be (entry point
``loggers = "ganzoo.loggers.plugin"``). MLflow and W&B are imported only when a run uses them."""

from __future__ import annotations

from typing import Any

from ..hookspecs import hookimpl


@hookimpl
def register_loggers(register: Any) -> None:
    from .files import JsonlLogger, TensorBoardLogger
    from .mlflow_logger import MLflowLogger
    from .wandb_logger import WandbLogger

    register("tensorboard", TensorBoardLogger)
    register("jsonl", JsonlLogger)
    register("mlflow", MLflowLogger)
    register("wandb", WandbLogger)
