"""Where a run's scalars and images go: TensorBoard event files and a JSONL file.

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


class RunLogger:
    def __init__(self, run_dir: Path, *, tensorboard: bool = True, jsonl: bool = True,
                 start_step: int = 0, resuming: bool = False) -> None:
        self.run_dir = Path(run_dir)
        self.tb = None
        self.tb_dir = self.run_dir / "tb"
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(self.tb_dir), purge_step=start_step + 1 if resuming else None)
        self.jsonl_path = self.run_dir / "log.jsonl" if jsonl else None
        self._jsonl = None
        if self.jsonl_path is not None:
            if resuming and self.jsonl_path.exists():
                self._truncate_jsonl(start_step)
            self._jsonl = open(self.jsonl_path, "a", encoding="utf-8")

    def _truncate_jsonl(self, start_step: int) -> None:
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

    def scalars(self, step: int, values: dict[str, float], kind: str = "train") -> None:
        clean = {k: float(v) for k, v in values.items()}
        if self.tb is not None:
            for k, v in clean.items():
                self.tb.add_scalar(k, v, step)
        if self._jsonl is not None:
            record = {"step": step, "kind": kind, "time": round(time.time(), 3)}
            record.update({k: (v if math.isfinite(v) else str(v)) for k, v in clean.items()})
            self._jsonl.write(json.dumps(record) + "\n")
            self._jsonl.flush()

    def image(self, step: int, tag: str, array: np.ndarray) -> None:
        if self.tb is not None:
            self.tb.add_image(tag, array, step, dataformats="HWC")

    def event(self, step: int, **fields: Any) -> None:
        if self._jsonl is not None:
            self._jsonl.write(json.dumps({"step": step, **fields}) + "\n")
            self._jsonl.flush()

    def flush(self) -> None:
        if self.tb is not None:
            self.tb.flush()

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None
