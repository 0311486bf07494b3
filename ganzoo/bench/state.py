"""What a bench knows about a run from its folder alone: how far it trained and whether its stored
result can be reused. Shared by the serial bench, the cells and the launchers' scheduler.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .plan import RunSpec


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def valid_result(spec: RunSpec, eval_seed: int) -> dict[str, Any] | None:
    result = read_json(spec.run_dir / "bench.json")
    if isinstance(result, dict) and result.get("key") == spec.key(eval_seed) and result.get("metrics"):
        return result
    return None


def run_progress(spec: RunSpec) -> tuple[int, bool]:
    """(step of the latest good checkpoint, whether the run trained all it will)."""
    from ..checkpoint import latest_good_checkpoint

    found = latest_good_checkpoint(spec.run_dir) if spec.run_dir.is_dir() else None
    step = int(found[1].get("step", 0)) if found else 0
    return step, step >= spec.steps or bool(found and found[1].get("stopped") == "time_limit")


def finished_result(spec: RunSpec, eval_seed: int) -> dict[str, Any] | None:
    """The stored result of a run that trained all it will, else None (a launcher skips it)."""
    return valid_result(spec, eval_seed) if run_progress(spec)[1] else None


def failure_record(spec: RunSpec, error: str) -> dict[str, Any]:
    return {"config": spec.config, "name": spec.name, "seed": spec.seed, "run_dir": str(spec.run_dir),
            "error": error}
