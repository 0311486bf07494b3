"""The bench from start to end: plan, bring every run to a result (one after another, or through
a launcher: :mod:`.schedule`), rewriting the tables as each finishes, then the plots and HParams.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..fileio import atomic_write_text
from .measure import load_average
from .plan import BenchSettings, RunFailed, RunSpec, plan
from .report import summarize, write_hparams, write_plots, write_tables
from .run import say_stderr, warm_caches, run_one
from .schedule import run_cells
from .state import failure_record


@dataclass
class BenchResult:
    results: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    summary: dict[str, Any]
    files: list[Path]


def _run_serial(specs: list[RunSpec], settings: BenchSettings, say: Callable[[str], None],
                done: Callable[[int, dict[str, Any] | None, dict[str, Any] | None], None]) -> None:
    """One run after another in this process chain (each training in its own process)."""
    for i, spec in enumerate(specs, 1):
        try:
            done(i - 1, run_one(spec, settings, say, f"[{i}/{len(specs)}]"), None)
        except RunFailed as exc:
            say(f"[{i}/{len(specs)}] {spec.label}: FAILED: {exc}")
            done(i - 1, None, failure_record(spec, str(exc)))
        except KeyboardInterrupt:
            say(f"interrupted during {spec.label}; run the same command again to resume")
            raise


def run_bench(settings: BenchSettings, say: Callable[[str], None] = say_stderr) -> BenchResult:
    """Plan, train and score every run (the tables rewritten as each finishes), then write the
    tables, plots and HParams. ``settings.launcher`` says where the runs go (:mod:`.launchers`)."""
    specs = plan(settings)
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    load_start = load_average()
    import torch

    threads_before = torch.get_num_threads()
    if settings.threads:
        torch.set_num_threads(settings.threads)  # the scoring in this process too
    for spec in specs:
        if not spec.snapshot.is_file() or spec.snapshot.read_text(encoding="utf-8") != spec.text:
            atomic_write_text(spec.snapshot, spec.text)
    finished: dict[int, tuple[dict[str, Any] | None, dict[str, Any] | None]] = {}

    def ordered(which: int) -> list[dict[str, Any]]:  # in plan order, whichever finished first
        return [finished[i][which] for i in sorted(finished) if finished[i][which] is not None]

    def done(index: int, result: dict[str, Any] | None, failure: dict[str, Any] | None) -> None:
        finished[index] = (result, failure)
        write_tables(out, summarize(specs, ordered(0), ordered(1), settings, load_start))

    try:
        if any(s.kind == "images" for s in specs):
            warm_caches(specs, settings, say)
        if settings.launcher == "serial":
            _run_serial(specs, settings, say, done)
        else:
            run_cells(specs, settings, say, done)
    finally:
        torch.set_num_threads(threads_before)
    results, failures = ordered(0), ordered(1)
    summary = summarize(specs, results, failures, settings, load_start)
    files = write_tables(out, summary)
    files += write_plots(out, summary, results)
    files.append(write_hparams(out, results))
    return BenchResult(results, failures, summary, files)
