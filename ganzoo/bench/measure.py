"""Measuring a run: its training process's peak memory, the machine's load, and what the
trainer's own log says (in-training evaluation curves, training speed without the evaluations).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any


def peak_rss_mib(usage: Any) -> float | None:
    """``ru_maxrss`` is KiB on Linux and bytes on macOS; None where it is not measured."""
    if usage is None:
        return None
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return round(float(usage.ru_maxrss) / scale, 1)


def wait_with_usage(proc: subprocess.Popen) -> tuple[int, Any, bool]:
    """Wait for ``proc`` with its resource usage. Ctrl-C is passed on to it once per press (it
    checkpoints and stops; a second press aborts it), SIGTERM too; returns (exit code, usage,
    whether the bench was asked to stop)."""
    stopped = False
    previous = None
    if threading.current_thread() is threading.main_thread():
        def forward_term(signum, frame):
            nonlocal stopped
            stopped = True
            proc.send_signal(signal.SIGTERM)
        previous = signal.signal(signal.SIGTERM, forward_term)
    try:
        while True:
            try:
                if not hasattr(os, "wait4"):  # Windows: no per-child resource usage
                    return proc.wait(), None, stopped
                _, status, usage = os.wait4(proc.pid, 0)
                break
            except KeyboardInterrupt:
                stopped = True
                proc.send_signal(signal.SIGINT)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage, stopped


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages, recorded because a busy machine slows every run."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def read_log(run_dir: Path) -> list[dict[str, Any]]:
    """The records of a run's ``log.jsonl``; a line cut off by a crash is skipped."""
    path = run_dir / "log.jsonl"
    out = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
    return out


def curves(records: list[dict[str, Any]]) -> dict[str, dict[str, list[list[float]]]]:
    """``{metric: {value key: [[step, value], ...]}}`` from the in-training evaluations."""
    out: dict[str, dict[str, dict[int, float]]] = {}
    for r in records:
        if r.get("kind") != "eval_record" or "metric" not in r:
            continue
        for k, v in (r.get("values") or {}).items():
            try:
                out.setdefault(r["metric"], {}).setdefault(k, {})[int(r["step"])] = float(v)
            except (TypeError, ValueError):
                continue
    return {m: {k: [[s, v] for s, v in sorted(pts.items())] for k, pts in keys.items()}
            for m, keys in out.items()}


def training_speed(records: list[dict[str, Any]]) -> float | None:
    """Generator steps per second of training proper, from the trainer's own log intervals
    (``steps_per_s`` over each ``log.every`` steps) less the in-training evaluations inside them
    (an evaluation at a logged step runs from that step's train record to its eval record)."""
    train_time = {int(r["step"]): float(r["time"]) for r in records
                  if r.get("kind") == "train" and "time" in r}
    eval_time = {int(r["step"]): float(r["time"]) for r in records if r.get("kind") == "eval" and "time" in r}
    steps = seconds = 0.0
    prev = 0
    for r in records:
        if r.get("kind") != "train" or "steps_per_s" not in r:
            continue
        step = int(r["step"])
        try:
            sps = float(r["steps_per_s"])
        except (TypeError, ValueError):
            sps = math.nan
        d = step - prev
        if d > 0 and math.isfinite(sps) and sps > 0:
            dt = d / sps
            if prev in eval_time and prev in train_time:
                dt -= max(0.0, eval_time[prev] - train_time[prev])
            if dt > 0:
                steps += d
                seconds += dt
        prev = step
    return steps / seconds if seconds > 0 else None
