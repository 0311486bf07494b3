"""The two loggers that write into the run folder: TensorBoard event files and ``log.jsonl``.

On resume, records after the resume step are dropped (``purge_step`` for TensorBoard, a rewrite
for JSONL) so that the curves continue from the checkpoint without a jump or a duplicate.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from .base import Logger, LoggerContext, LoggerOptions


class TensorBoardLogger(Logger):
    """TensorBoard event files in RUN_DIR/tb: scalars and sample grids."""

    def __init__(self, options: LoggerOptions, context: LoggerContext) -> None:
        super().__init__(options, context)
        from torch.utils.tensorboard import SummaryWriter

        self.tb_dir = Path(context.run_dir) / "tb"
        self.tb = SummaryWriter(str(self.tb_dir),
                                purge_step=context.start_step + 1 if context.resuming else None)

    def scalars(self, step: int, values: dict[str, float], kind: str = "train") -> None:
        for k, v in values.items():
            self.tb.add_scalar(k, float(v), step)

    def image(self, step: int, tag: str, array: np.ndarray) -> None:
        self.tb.add_image(tag, array, step, dataformats="HWC")

    def flush(self) -> None:
        self.tb.flush()

    def close(self, status: str = "finished") -> None:
        self.tb.close()


class JsonlLogger(Logger):
    """One JSON record per line in RUN_DIR/log.jsonl: scalars, evaluation records, events."""

    def __init__(self, options: LoggerOptions, context: LoggerContext) -> None:
        super().__init__(options, context)
        self.jsonl_path = Path(context.run_dir) / "log.jsonl"
        if context.resuming and self.jsonl_path.exists():
            self._truncate(context.start_step)
        self._file: Any = open(self.jsonl_path, "a", encoding="utf-8")

    def _truncate(self, start_step: int) -> None:
        keep = []
        for line in self.jsonl_path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line).get("step", 0) <= start_step:
                    keep.append(line)
            except json.JSONDecodeError:  # a line cut by a crash
                continue
        tmp = self.jsonl_path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(k + "\n" for k in keep), encoding="utf-8")
        tmp.replace(self.jsonl_path)

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()

    def scalars(self, step: int, values: dict[str, float], kind: str = "train") -> None:
        record: dict[str, Any] = {"step": step, "kind": kind, "time": round(time.time(), 3)}
        for k, v in values.items():
            v = float(v)
            record[k] = v if math.isfinite(v) else str(v)
        self._write(record)

    def scores(self, step: int, records: list[dict[str, Any]]) -> None:
        for r in records:
            self._write({"step": step, "kind": "eval_record", **r})

    def event(self, step: int, fields: dict[str, Any]) -> None:
        self._write({"step": step, **fields})

    def close(self, status: str = "finished") -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
