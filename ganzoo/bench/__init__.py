"""``ganzoo bench``: train several configs over several seeds, score them alike, compare them.

Each (config, seed) trains in its own subprocess (``ganzoo run CONFIG --resume auto ...``), so
its peak memory is that process's own (``os.wait4``) and a crash stays in it. The parent then
scores every final checkpoint with :func:`ganzoo.evaluation.score` under one protocol (same
metrics, sample count, sampling seed and real split) and writes:

* ``OUT/<config stem>/bench_config.yaml``: the config as read when the bench started (what the
  training processes get, so an edit to the file meanwhile changes no run);
* ``OUT/<config stem>/seed<k>/``: the run folder, plus ``train.json`` (time and memory of each
  training process), ``bench.json`` (the run's result) and ``bench.log`` (the process's output);
* ``OUT/results.md|csv|json``: mean +- standard error over seeds for each metric value, wall time,
  steps/s, peak memory and parameter count, with the command line and the protocol;
* ``OUT/plots/<metric>.png``: the in-training evaluations against the step, one line per config;
* ``OUT/tb_hparams/``: TensorBoard HParams (``tensorboard --logdir OUT/tb_hparams``).

A run with a final checkpoint and a ``bench.json`` for the same protocol is not touched again; an
interrupted one resumes from its checkpoint; a deleted ``bench.json`` is only re-scored.

The work is split by responsibility: :mod:`.plan` checks the configs and plans the runs (with
:mod:`.grid` for ``--grid`` overrides), :mod:`.driver` runs the bench from start to end,
:mod:`.run` trains and scores one run, :mod:`.state` reads how far a run got, :mod:`.lock` keeps
one process per run folder, :mod:`.measure` reads what a run cost, :mod:`.report` writes the
tables, plots and HParams. Sweeps (docs/sweeps.md): :mod:`.schedule` runs the cells through a
launcher of :mod:`.launchers` (local processes, submitit, Ray), each running :mod:`.cell`.
This package re-exports what the command and the tests use.
"""

from __future__ import annotations

from .measure import curves, read_log, training_speed
from .plan import (DEFAULT_METRICS, DEFAULT_N, RESULT_VERSION, BenchSettings, RunFailed, RunSpec, eval_every,
                   plan)
from .report import (columns, csv_text, fmt_pm, main_table, markdown, mean_se, summarize, write_hparams,
                     write_plots, write_tables)
from .driver import BenchResult, run_bench
from .run import evaluate_run, run_one, train_run

__all__ = ["DEFAULT_METRICS", "DEFAULT_N", "RESULT_VERSION", "BenchResult", "BenchSettings", "RunFailed",
           "RunSpec", "columns", "csv_text", "curves", "eval_every", "evaluate_run", "fmt_pm", "main_table",
           "markdown", "mean_se", "plan", "read_log", "run_bench", "run_one", "summarize", "train_run",
           "training_speed", "write_hparams", "write_plots", "write_tables"]
