"""Weights & Biases: history, config, sample grids, scores and the run's status.

``mode: offline`` (or ``WANDB_MODE=offline``) needs no account and no network: the run is
written under the run folder (``RUN_DIR/wandb/offline-run-*``) for a later ``wandb sync``. The
W&B run id is kept in ``run_dir/trackers.json``: a resumed training run continues the same W&B
run (``resume="allow"``), sending each step at most once.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from .base import Logger, LoggerContext, LoggerOptions, SentSteps, import_optional

#: W&B marks a run finished for exit code 0 and failed otherwise; a run stopped early on purpose
#: (Ctrl-C, train.time_limit_s) exits with 255, as W&B's own Ctrl-C handling does.
_EXIT = {"finished": 0, "failed": 1}


class WandbLogger(Logger):
    """Weights & Biases: history, config, sample grids, scores (ganzoo[wandb])."""

    class Options(LoggerOptions):
        project: str | None = Field(None, description="W&B project (default: WANDB_PROJECT, else "
                                    "'ganzoo')")
        entity: str | None = Field(None, description="W&B team or user (default: yours)")
        run_name: str | None = Field(None, description="W&B run name (default: run.name)")
        group: str | None = Field(None, description="W&B group of runs")
        tags: list[str] = Field([], description="W&B tags of the run")
        mode: Literal["online", "offline", "disabled"] | None = Field(
            None, description="online, offline (no account or network) or disabled (default: "
                              "WANDB_MODE, else online)")
        dir: str | None = Field(None, description="where W&B keeps its local files (default: "
                                "WANDB_DIR, else the run folder)")

    tracker = True

    def __init__(self, options: Options, context: LoggerContext) -> None:
        super().__init__(options, context)
        wandb = import_optional("wandb", "wandb")
        self.wandb = wandb
        state = context.state(options.name)
        run_id = state.get("id") or uuid.uuid4().hex[:12]
        folder = Path(options.dir or os.environ.get("WANDB_DIR") or context.run_dir)
        folder.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(
            id=run_id, resume="allow", reinit="create_new", dir=str(folder),
            project=options.project or os.environ.get("WANDB_PROJECT") or "ganzoo",
            entity=options.entity, name=options.run_name or context.run_name, group=options.group,
            tags=list(options.tags) or None, mode=options.mode)
        state["id"] = run_id
        self.sent = SentSteps(context, state)
        context.save(durable=True)

    def params(self, config: dict[str, Any]) -> None:
        self.run.config.update(config, allow_val_change=True)

    def _log(self, kind: str, step: int, values: dict[str, Any]) -> None:
        # W&B history only moves forward: a step sent before a crash is not sent again
        if values and self.sent.is_new(kind, step):
            self.run.log(values, step=step)
            self.sent.mark(kind, step)

    def scalars(self, step: int, values: dict[str, float], kind: str = "train") -> None:
        self._log(kind, step, {k: float(v) for k, v in values.items()})

    def image(self, step: int, tag: str, array: np.ndarray) -> None:
        self._log(f"image:{tag}", step, {tag: self.wandb.Image(array)})

    def scores(self, step: int, records: list[dict[str, Any]]) -> None:
        columns = list(dict.fromkeys(k for r in records for k in r))
        rows = [[_cell(r.get(c)) for c in columns] for r in records]
        self._log("scores", step, {"eval/records": self.wandb.Table(columns=columns, data=rows)})

    def summary(self, step: int, values: dict[str, float]) -> None:
        self.run.summary.update({k: float(v) for k, v in values.items()})

    def tags(self, tags: dict[str, str]) -> None:
        words = [f"{k}:{v}"[:64] for k, v in tags.items()]
        self.run.tags = tuple(dict.fromkeys([*self.run.tags, *words]))
        self.run.config.update(dict(tags), allow_val_change=True)

    def close(self, status: str = "finished") -> None:
        self.run.summary["ganzoo/status"] = status
        self.run.finish(exit_code=_EXIT.get(status, 255))


def _cell(value: Any) -> Any:
    """A W&B table cell: numbers and strings as they are, anything else as JSON."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else json.dumps(value)
