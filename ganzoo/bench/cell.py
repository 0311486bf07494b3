"""One cell of a bench (a config at one grid point and one seed) run away from the bench process:
in a local process (``python -m ganzoo.bench.cell TASK OUTCOME``), a submitit job or a Ray task.

The cell gets plain JSON (the planned config text and overrides, not a pickled config), trains
and scores exactly as the serial bench does (:func:`ganzoo.bench.run.run_one`), and answers
``{"result": ...}`` or ``{"error": ...}``; a failed run is an answer, not an exception.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import GanzooError


def make_payload(spec: Any, settings: Any, index: int, total: int, threads: int | None) -> dict[str, Any]:
    """What a cell needs, as JSON-able data: the spec, the settings, where it stands, its threads."""
    return {"spec": spec.to_payload(), "settings": dataclasses.asdict(settings), "index": index,
            "total": total, "threads": threads, "cwd": os.getcwd()}


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_cell(payload: dict[str, Any]) -> dict[str, Any]:
    """Bring one cell to a stored result in this process (the worker of any launcher)."""
    from .plan import BenchSettings, RunFailed, RunSpec
    from .run import run_one

    previous = os.getcwd()
    os.chdir(payload["cwd"])  # relative config and output paths mean what they meant to the bench
    try:
        spec = RunSpec.from_payload(payload["spec"])
        settings = BenchSettings(**{**payload["settings"], "threads": payload["threads"]})
        if payload["threads"]:
            import torch

            torch.set_num_threads(payload["threads"])  # the scoring; the training gets OMP_NUM_THREADS
        try:
            return {"result": run_one(spec, settings, _say, f"[{payload['index'] + 1}/{payload['total']}]")}
        except RunFailed as exc:
            return {"error": str(exc)}
        except GanzooError as exc:  # the run folder, config or scoring refused: the cell failed
            return {"error": f"{spec.config} seed {spec.seed}: {exc}"}
    finally:
        os.chdir(previous)


def main(argv: list[str]) -> int:
    """``python -m ganzoo.bench.cell TASK.json OUTCOME.json``: the local launcher's worker."""
    from ..fileio import atomic_write_text

    task, outcome = Path(argv[0]), Path(argv[1])
    try:
        answer = run_cell(json.loads(task.read_text(encoding="utf-8")))
    except KeyboardInterrupt:  # asked to stop: the run saved a checkpoint; no answer
        return 130
    atomic_write_text(outcome, json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
