"""MLflow: metrics, parameters, sample grids, scores and the run's status in a tracking store.

The default store is MLflow's own default, ``sqlite:///mlflow.db`` in the current folder (made
absolute and kept in ``run_dir/trackers.json``, so a resume from another folder finds it);
``mlflow ui`` started in that folder shows the runs. The run id is kept there too: a resumed
training run continues the same MLflow run, sending each step at most once (MLflow keeps every
logged value and cannot delete one, see :class:`~ganzoo.loggers.base.SentSteps`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any
from warnings import warn

import numpy as np
from pydantic import Field

from .base import Logger, LoggerContext, LoggerOptions, LoggerWarning, SentSteps, flatten, import_optional

#: a run stopped early on purpose (Ctrl-C, train.time_limit_s) is KILLED: resumable, not failed
_STATUS = {"finished": "FINISHED", "failed": "FAILED"}
_MAX_PARAM = 6000  # MLflow's limit on a parameter value's length
_BATCH = 100  # MLflow's limit on parameters per batch


def default_tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` if set, else MLflow's default: ``mlflow.db`` in this folder."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def absolute_uri(uri: str) -> str:
    """``sqlite:///x.db`` relative to the current folder -> absolute, so a resume finds it."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return f"sqlite:///{Path(uri[len('sqlite:///'):]).resolve()}"
    return uri


def metric_key(name: str) -> str:
    """MLflow refuses some characters in metric names; replace them."""
    return re.sub(r"[^/\w.\- ]", "_", name).strip("/") or "_"


class MLflowLogger(Logger):
    """MLflow tracking: metrics, parameters, sample grids, scores (ganzoo[mlflow])."""

    class Options(LoggerOptions):
        tracking_uri: str | None = Field(None, description="MLflow tracking URI (default: "
                                         "MLFLOW_TRACKING_URI, else sqlite:///mlflow.db here)")
        experiment: str | None = Field(None, description="experiment name (default: "
                                       "MLFLOW_EXPERIMENT_NAME, else 'ganzoo')")
        run_name: str | None = Field(None, description="MLflow run name (default: run.name)")
        tags: dict[str, str] = Field({}, description="tags set on the MLflow run")

    tracker = True

    def __init__(self, options: Options, context: LoggerContext) -> None:
        super().__init__(options, context)
        import_optional("mlflow", "mlflow")
        from mlflow.tracking import MlflowClient

        state = context.state(options.name)
        uri = absolute_uri(options.tracking_uri or state.get("tracking_uri") or default_tracking_uri())
        if uri.startswith("sqlite:"):  # MLflow's local store; mlflow-skinny alone lacks these
            import_optional("sqlalchemy", "mlflow")
            import_optional("alembic", "mlflow")
        for name in ("alembic", "mlflow.store.db.utils"):  # "creating tables" chatter on every start
            logging.getLogger(name).setLevel(logging.WARNING)
        self.client = MlflowClient(tracking_uri=uri)
        run_id = state.get("run_id") if state.get("tracking_uri") == uri else None
        if run_id is not None and not self._reopen(run_id):
            warn(LoggerWarning(f"MLflow run {run_id} (from {context.trackers_path}) is not in {uri}; "
                               f"starting a new MLflow run"), stacklevel=2)
            run_id = None
        if run_id is None:
            run_id = self._new_run(uri, options)
            state.clear()
        self.run_id = run_id
        state.update(tracking_uri=uri, run_id=run_id)
        self.sent = SentSteps(context, state)
        context.save(durable=True)

    def _reopen(self, run_id: str) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_run(run_id)
        except MlflowException:
            return False
        self.client.update_run(run_id, status="RUNNING")
        return True

    def _experiment_id(self, uri: str, name: str) -> str:
        from mlflow.exceptions import MlflowException

        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = None
        if uri.startswith("sqlite:///"):  # artifacts beside the database, as MLflow does in its folder
            location = (Path(uri[len("sqlite:///"):]).parent / "mlruns").as_uri()
        try:
            return self.client.create_experiment(name, artifact_location=location)
        except MlflowException:  # created by another process meanwhile
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    def _new_run(self, uri: str, options: Options) -> str:
        name = options.experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or "ganzoo"
        tags = {"ganzoo.run_dir": str(Path(self.context.run_dir).resolve()), **options.tags}
        run = self.client.create_run(self._experiment_id(uri, name),
                                     run_name=options.run_name or self.context.run_name, tags=tags)
        return run.info.run_id

    def params(self, config: dict[str, Any]) -> None:
        """Parameters cannot change in MLflow: on resume, a changed value (``train.steps``) is
        kept as the tag ``resume.<key>``."""
        from mlflow.entities import Param, RunTag

        flat = {k: (v if isinstance(v, str) else json.dumps(v))[:_MAX_PARAM]
                for k, v in flatten(config).items()}
        logged = self.client.get_run(self.run_id).data.params
        params = [Param(k, v) for k, v in flat.items() if k not in logged]
        tags = [RunTag(f"resume.{k}", v) for k, v in flat.items() if k in logged and logged[k] != v]
        for i in range(0, max(len(params), len(tags)), _BATCH):
            self.client.log_batch(self.run_id, params=params[i:i + _BATCH], tags=tags[i:i + _BATCH])

    def scalars(self, step: int, values: dict[str, float], kind: str = "train") -> None:
        from mlflow.entities import Metric

        if not values or not self.sent.is_new(kind, step):
            return
        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(metric_key(k), float(v), now, step)
                                                    for k, v in values.items()])
        self.sent.mark(kind, step)

    def image(self, step: int, tag: str, array: np.ndarray) -> None:
        # a file per step: a resumed run that logs a step again replaces its picture
        self.client.log_image(self.run_id, array, artifact_file=f"{metric_key(tag)}/step_{step:08d}.png")

    def scores(self, step: int, records: list[dict[str, Any]]) -> None:
        self.client.log_dict(self.run_id, records, f"scores/step_{step:08d}.json")

    def summary(self, step: int, values: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(metric_key(k), float(v), now, step)
                                                    for k, v in values.items()])

    def tags(self, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def close(self, status: str = "finished") -> None:
        self.client.set_tag(self.run_id, "ganzoo.status", status)
        self.client.set_terminated(self.run_id, _STATUS.get(status, "KILLED"))
