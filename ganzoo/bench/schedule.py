"""Running a bench's cells through a launcher (:mod:`.launchers`): up to ``--jobs`` at once,
finished cells skipped without starting anything, each answer reported as it comes (the caller
rewrites the tables), a progress line with an ETA, and Ctrl-C cancelling what still runs.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any, Callable

from .cell import make_payload
from .plan import BenchSettings, RunSpec
from .state import failure_record, finished_result, run_progress

Done = Callable[[int, "dict[str, Any] | None", "dict[str, Any] | None"], None]


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """``cells: 3 done, 2 running, 1 failed, 4 queued of 10; ETA 0:12:30``, said when the counts
    change and every ``every_s`` seconds meanwhile. The ETA is the mean time of the cells this
    bench ran, spread over the cells that run at once."""

    def __init__(self, total: int, jobs: int, say: Callable[[str], None], every_s: float = 30.0) -> None:
        self.total, self.jobs, self.say, self.every_s = total, jobs, say, every_s
        self.durations: list[float] = []
        self.last: tuple = ()
        self.said = 0.0

    def eta(self, running: dict[int, float], queued: int) -> str:
        if not running and not queued:
            return "0:00:00"
        if not self.durations:
            return "after the first cell finishes"
        mean, now = sum(self.durations) / len(self.durations), time.monotonic()
        work = queued * mean + sum(max(0.0, mean - (now - t0)) for t0 in running.values())
        return _clock(work / max(1, min(self.jobs, queued + len(running))))

    def show(self, done: int, failed: int, running: dict[int, float], queued: int) -> None:
        counts = (done, failed, len(running), queued)
        if counts == self.last and time.monotonic() - self.said < self.every_s:
            return
        self.last, self.said = counts, time.monotonic()
        self.say(f"cells: {done} done, {len(running)} running, {failed} failed, {queued} queued of "
                 f"{self.total}; ETA {self.eta(running, queued)}")


def _skip_finished(specs: list[RunSpec], settings: BenchSettings, say: Callable[[str], None],
                   done: Done) -> list[int]:
    """Report the cells with a stored result now (nothing is started for them); the others' indices."""
    todo = []
    for i, spec in enumerate(specs):
        cached = finished_result(spec, settings.eval_seed)
        if cached is None:
            todo.append(i)
        else:
            say(f"[{i + 1}/{len(specs)}] {spec.label}: done already, skipped ({spec.run_dir / 'bench.json'})")
            done(i, cached, None)
    return todo


def _terminate_as_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_cells(specs: list[RunSpec], settings: BenchSettings, say: Callable[[str], None], done: Done) -> None:
    """Run every cell through ``settings.launcher``; a failed cell is reported, the others go on."""
    from .launchers import make_launcher

    queue = _skip_finished(specs, settings, say, done)
    if not queue:
        return
    launcher = make_launcher(settings, len(queue))
    if launcher.threads:
        settings.launch["threads_per_cell"] = launcher.threads  # for the table's machine line
    jobs = min(launcher.jobs, len(queue))
    say(f"{len(queue)} cells to run through {settings.launcher}, {jobs} at once")
    progress = Progress(len(specs), jobs, say)
    running: dict[int, tuple[Any, float]] = {}
    counts = {"done": len(specs) - len(queue), "failed": 0}
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        while queue or running:
            while queue and len(running) < jobs:
                i = queue.pop(0)
                payload = make_payload(specs[i], settings, i, len(specs), launcher.threads)
                handle = launcher.start(specs[i], payload)
                running[i] = (handle, time.monotonic())
                say(f"[{i + 1}/{len(specs)}] {specs[i].label}: started ({launcher.describe(handle)})")
            _collect(specs, launcher, running, counts, progress, say, done)
            progress.show(counts["done"], counts["failed"], {i: t for i, (_, t) in running.items()}, len(queue))
            if running:
                time.sleep(launcher.poll_s)
    except KeyboardInterrupt:
        say(f"interrupted: cancelling {len(running)} running cell(s) (each saves a checkpoint); run the "
            f"same command again to resume")
        launcher.cancel([h for h, _ in running.values()])
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        launcher.close()


def _collect(specs: list[RunSpec], launcher: Any, running: dict[int, tuple[Any, float]], counts: dict[str, int],
             progress: Progress, say: Callable[[str], None], done: Done) -> None:
    """Take in the answers of the cells that finished since the last look."""
    for i, (handle, t0) in list(running.items()):
        answer = launcher.poll(specs[i], handle)
        if answer is None:
            continue
        del running[i]
        seconds = time.monotonic() - t0
        label = f"[{i + 1}/{len(specs)}] {specs[i].label}"
        if "result" in answer:
            progress.durations.append(seconds)
            counts["done"] += 1
            say(f"{label}: finished in {seconds:.1f} s")
            done(i, answer["result"], None)
        else:
            counts["failed"] += 1
            say(f"{label}: FAILED: {answer['error']}")
            done(i, None, failure_record(specs[i], answer["error"]))


def plan_lines(specs: list[RunSpec], settings: BenchSettings) -> list[str]:
    """``--dry-run``: each cell, its folder and what a bench would do with it; nothing is started."""

    lines = []
    for i, spec in enumerate(specs, 1):
        step, complete = run_progress(spec)
        if complete and finished_result(spec, settings.eval_seed) is not None:
            state = "done (skipped)"
        elif complete:
            state = "trained (scored only)"
        else:
            state = f"resume at step {step} of {spec.steps}" if step else f"train {spec.steps} steps"
        lines.append(f"[{i}/{len(specs)}] {spec.label}: {state} in {spec.run_dir}"
                     + (f" ({' '.join(spec.grid)})" if spec.grid else ""))
    return lines
