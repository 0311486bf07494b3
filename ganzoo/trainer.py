"""The training loop: it decides *when* things happen, and knows no variant by name.

A variant is built from the registry and updates itself in ``train_step``; devices, precision and
seeds live in :mod:`ganzoo.runtime`, checkpoint contents in :mod:`ganzoo.checkpoint`, run folders
in :mod:`ganzoo.rundir`. :meth:`Trainer.fit` is the loop: read it top to bottom.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from . import distributed
from .checkpoint import (checkpoint_dir, checkpoint_path, check_compatible, latest_checkpoint_or_none,
                         latest_good_checkpoint, load_model_state, prune_checkpoints,
                         remove_partial_writes, restore_training_state, save_checkpoint,
                         training_state)
from .config import RunConfig
from .data.batched import take
from .data.loader import make_loader
from .ema import EMA
from .errors import CheckpointError, ConfigError, GanzooError, TrainingError
from .evaluation import check_labels_needed, score
from .fileio import atomic_write_text
from .finetune import init_from_folder
from .images import render, save_png
from .interfaces import StepContext, Variant
from .plugins import get_registry
from .rundir import RunLock, check_present, claim_run_dir, folder_identity
from .runlog import open_loggers
from .runtime import check_precision, resolve_device, rng_state, seed_everything, set_rng_state
from .safety import build_variant_safely, configure_optimizers_safely, memory_guard, size_options

__all__ = ["train", "build", "take", "resolve_device", "check_compatible", "load_model_state",
           "TrainResult", "Trainer"]


# -- data -----------------------------------------------------------------------------------------
class DeviceBatches:
    """Infinite batches moved to the device, counting how many were drawn (the data position)."""

    def __init__(self, loader: Iterator[dict], device: torch.device, start: int = 0,
                 channels_last: bool = False) -> None:
        self.loader, self.device, self.consumed = loader, device, start
        self.non_blocking = device.type == "cuda"
        self.memory_format = torch.channels_last if channels_last else torch.preserve_format

    def __iter__(self) -> "DeviceBatches":
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        batch = next(self.loader)
        self.consumed += 1
        return {k: (v.to(self.device, non_blocking=self.non_blocking,
                         memory_format=self.memory_format if v.dim() == 4 else torch.preserve_format)
                    if torch.is_tensor(v) else v)
                for k, v in batch.items()}


def build(cfg: RunConfig, device: torch.device | None = None):
    """The data source, its info, the train dataset and the variant, from a config."""
    registry = get_registry()
    source = registry.get("datasets", cfg.data.name)(cfg.data)
    info = source.info()
    variant_cls = registry.get("variants", cfg.variant.name)
    if info.kind not in variant_cls.supports:
        raise ConfigError(f"variant '{cfg.variant.name}' trains on {', '.join(variant_cls.supports)} "
                          f"data but data set '{cfg.data.name}' is {info.kind}; pick another data "
                          f"set or variant", file=cfg.source, key="data.name")
    if cfg.train.accumulate > 1 and not variant_cls.supports_accumulation:
        raise ConfigError(f"variant '{cfg.variant.name}' does not support gradient accumulation; "
                          f"set train.accumulate: 1 (a larger train.batch_size has the same effect "
                          f"if it fits in memory)", file=cfg.source, key="train.accumulate")
    try:
        variant: Variant = build_variant_safely(variant_cls, cfg.variant, info, file=cfg.source)
    except ConfigError as exc:  # raised by the variant, which does not know the config's file
        if exc.file is not None:
            raise
        raise ConfigError(str(exc), file=cfg.source, key=exc.key) from None
    check_batch_size(cfg, variant)
    if device is not None:
        variant.to(device)
    return source, info, variant


def check_batch_size(cfg: RunConfig, variant: Variant) -> None:
    """A batch size the variant cannot split (PacGAN's packs), refused before training."""
    multiple, why = variant.batch_multiple()
    if cfg.train.batch_size % multiple:
        raise ConfigError(f"train.batch_size={cfg.train.batch_size} is not a multiple of {multiple} "
                          f"({why}); set train.batch_size to a multiple of {multiple}",
                          file=cfg.source, key="train.batch_size")


def apply_speed_options(cfg: RunConfig, variant: Variant, info: Any, device: torch.device,
                        dinfo: Any) -> None:
    """channels_last, torch.compile and SyncBatchNorm, each refused where it does not apply."""
    if cfg.train.channels_last:
        if info.kind == "points":
            raise ConfigError("train.channels_last applies to image data only; this run's data "
                              f"'{cfg.data.name}' is 2-D points: set train.channels_last: false",
                              file=cfg.source, key="train.channels_last")
        variant.to(memory_format=torch.channels_last)
    if cfg.distributed.sync_batchnorm:
        if device.type != "cuda":
            raise ConfigError("distributed.sync_batchnorm needs CUDA devices (PyTorch's "
                              "SyncBatchNorm has no CPU kernel): set it to false", file=cfg.source,
                              key="distributed.sync_batchnorm")
        if dinfo.enabled:
            for name, child in list(variant.named_children()):
                setattr(variant, name, torch.nn.SyncBatchNorm.convert_sync_batchnorm(child))
    if cfg.train.compile:
        if device.type != "cuda":
            raise ConfigError(f"train.compile applies on CUDA devices only (this run is on "
                              f"'{device.type}'): set train.compile: false", file=cfg.source,
                              key="train.compile")
        for module in variant.children():
            module.compile()


# -- the loop -------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    run_dir: Path
    step: int
    status: str  # finished | interrupted | terminated | time_limit
    checkpoint: Path | None
    grid: Path | None
    tb_dir: Path | None
    jsonl: Path | None


class StopFlag:
    """Ctrl-C (SIGINT) or a scheduler's SIGTERM (SLURM, Kubernetes) asks the loop to stop after
    the current step and checkpoint. A second Ctrl-C aborts; a second SIGTERM is ignored (the
    checkpoint being written is what the scheduler's grace period is for)."""

    SIGNALS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}

    def __init__(self) -> None:
        self.requested: str | None = None  # "interrupted" | "terminated"
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopFlag":
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = self.requested or self.SIGNALS[signum]

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


def train(cfg: RunConfig, *, run_dir: Path | None = None, resume: bool | str = False) -> TrainResult:
    """Train ``cfg`` in a new run folder, or continue the run in ``run_dir`` when ``resume``.

    ``resume="auto"`` continues from the latest good checkpoint in ``run_dir`` if there is one
    and otherwise starts from step 0 in that same folder (its partial logs are replaced).
    """
    dinfo = distributed.from_environment()
    device = resolve_device(cfg.device)
    if dinfo.enabled and device.type == "cuda":
        device = torch.device("cuda", dinfo.local_rank)
        torch.cuda.set_device(device)
    check_precision(cfg.precision, device)
    distributed.init(dinfo, device)
    try:
        with contextlib.ExitStack() as stack:
            return Trainer(cfg, device, dinfo, stack, init=resume is not True).fit(run_dir, resume)
    finally:
        distributed.shutdown()


class Trainer:
    """One run: set up in ``__init__`` and ``prepare``, trained in ``fit``; each periodic action
    (log, validate, evaluate, preview, checkpoint, stop checks) is a method of its own."""

    def __init__(self, cfg: RunConfig, device: torch.device, dinfo: Any,
                 stack: contextlib.ExitStack, init: bool = True) -> None:
        self.cfg, self.device, self.dinfo, self.stack = cfg, device, dinfo, stack
        self.main = dinfo.is_main
        # networks, optimizers and schedules, from the seed
        seed_everything(cfg.seed)
        self.source, self.info, self.variant = build(cfg, device)
        if init and cfg.init_from is not None:  # a resume takes its weights from the checkpoint
            init_from_folder(cfg, self.variant, self.info)
        if dinfo.enabled:
            distributed.broadcast_module(self.variant)
            torch.manual_seed(cfg.seed + 7919 * dinfo.rank)  # each rank draws its own noise
        apply_speed_options(cfg, self.variant, self.info, device, dinfo)
        if cfg.eval is not None:  # refuse per-class metrics now, not at the first evaluation
            try:
                check_labels_needed(self.variant, self.info, cfg.eval.metrics, cfg.variant.name)
            except GanzooError as e:
                raise ConfigError(f"eval.metrics: {e}", file=cfg.source, key="eval.metrics") from None
        self.dataset = self.source.dataset("train")
        if len(self.dataset) == 0:
            raise GanzooError(f"data set '{cfg.data.name}' is empty; check data options in {cfg.source}")
        self.variant.optimizers = configure_optimizers_safely(self.variant, file=cfg.source)
        self.schedulers = self.variant.configure_schedulers(self.variant.optimizers, cfg.train.steps)
        ema = cfg.ema.model_dump() if cfg.ema is not None else self.variant.default_ema
        self.ema = EMA(self.variant.generator_net(), ema["decay"], ema["start"]) if ema else None
        self.start, self.state, self.best = 0, None, {}
        self.run_dir: Path | None = None
        self.last_ckpt: Path | None = None
        self.saved_step = -1

    # -- setting up ------------------------------------------------------------------------------
    def restore(self, run_dir: Path, resume: bool | str) -> int:
        """Continue from the latest checkpoint that loads and fits; returns its data position."""
        remove_partial_writes(run_dir)
        skipped: list[str] = []
        found = latest_good_checkpoint(run_dir, skipped, training=True)
        if found is None and resume != "auto":
            why = f" (the newest was refused: {skipped[0]})" if skipped else ""
            raise CheckpointError(f"{run_dir}: no loadable checkpoint to resume from{why}; start a "
                                  f"new run with 'ganzoo run'")
        if found is None:
            return 0
        path, self.state = found
        restore_training_state(self.variant, self.schedulers, self.state, path, self.cfg)
        if self.ema is not None and "ema" in self.state:
            try:
                self.ema.load_state_dict(self.state["ema"])
            except (RuntimeError, KeyError) as exc:
                raise CheckpointError(f"{path}: its 'ema' entry does not fit the generator "
                                      f"({str(exc).strip().splitlines()[-1][:160]}); use another "
                                      f"checkpoint of the run") from None
        self.start = self.saved_step = self.state["step"]
        self.best = dict(self.state.get("best", {}))
        if self.start >= self.cfg.train.steps:
            raise GanzooError(f"{run_dir} already finished {self.start} of {self.cfg.train.steps} "
                              f"steps; to train longer, resume with train.steps=N (N > {self.start})")
        return int(self.state["data_position"])

    def open_data(self, consumed: int) -> None:
        """The loader from the data position, then the RNG state of the checkpoint (after the
        loader, so that its set-up does not shift the RNGs)."""
        cfg, d = self.cfg, self.dinfo
        self.loader = make_loader(self.dataset, batch_size=cfg.train.batch_size, seed=cfg.seed,
                                  num_workers=cfg.train.num_workers, device_type=self.device.type,
                                  start_batch=consumed, rank=d.rank, world_size=d.world_size)
        if hasattr(self.loader, "close"):
            self.stack.callback(self.loader.close)
        self.batches = DeviceBatches(iter(self.loader), self.device, start=consumed,
                                     channels_last=cfg.train.channels_last)
        if self.state is not None:
            rng = self.state["rng"]
            set_rng_state(rng[d.rank] if isinstance(rng, list) else rng)

    def open_step_context(self) -> None:
        cfg = self.cfg
        self.scaler = torch.amp.GradScaler("cuda") if cfg.precision == "fp16" else None
        if self.scaler is not None and self.state is not None and "scaler" in self.state:
            self.scaler.load_state_dict(self.state["scaler"])
        self.ctx = StepContext(self.device, cfg.precision, self.scaler)
        self.ctx.total_steps = cfg.train.steps
        self.ctx.world_size = self.dinfo.world_size
        self.ctx.accumulate = cfg.train.accumulate

    def open_previews(self) -> None:
        """Fixed preview inputs (drawn once per run) and, for variants that score held-out data,
        a held-out batch."""
        cfg, info, device = self.cfg, self.info, self.device
        preview_gen = torch.Generator().manual_seed(cfg.seed + 1_000_003)
        n_preview = 2500 if info.kind == "points" else cfg.log.num_images
        examples = {k: v.to(device) for k, v in take(self.dataset, n_preview).items() if torch.is_tensor(v)}
        self.fixed = self.variant.fixed_inputs(n_preview, preview_gen, examples)
        self.real_preview = examples["x"].cpu() if info.kind == "points" else None
        self.heldout = None
        if self.main and self.variant.validates:
            self.heldout = {k: v.to(device) for k, v in take(self.source.dataset("test"), 1000).items()
                            if torch.is_tensor(v)}

    def open_run_dir(self, run_dir: Path | None, resume: bool | str) -> None:
        """Claim a new run folder (or keep the resumed one), open the loggers and record the
        resolved config: the first writes, made only once everything above has succeeded."""
        if self.main and not resume:
            run_dir = claim_run_dir(self.cfg.run.out_dir, self.cfg.run.name)
            self.stack.enter_context(RunLock(run_dir))
        self.run_dir = Path(run_dir) if run_dir is not None else None
        if not self.main:
            self.logger = open_loggers(None, None, start_step=self.start, resuming=bool(resume))
            return
        self.identity = folder_identity(self.run_dir)
        checkpoint_dir(self.run_dir).mkdir(exist_ok=True)
        self.logger = open_loggers(self.cfg, self.run_dir, start_step=self.start,
                                   resuming=bool(resume))
        self.stack.callback(self.close_loggers)
        self.logger.params(self.cfg.to_dict())
        self.status = "failed"
        self.record_config()

    def record_config(self) -> None:
        """config.yaml, once everything that can refuse the run has passed; a resume whose
        config did not change leaves the file as it was."""
        path, text = self.run_dir / "config.yaml", self.cfg.to_yaml()
        try:
            same = path.read_text(encoding="utf-8") == text
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            atomic_write_text(path, text)

    def close_loggers(self) -> None:
        self.logger.close(self.status)

    # -- periodic actions ------------------------------------------------------------------------
    def averaged(self) -> contextlib.AbstractContextManager:
        """The EMA weights swapped into the generator, when the run keeps an average."""
        return self.ema.swapped_in() if self.ema is not None else contextlib.nullcontext()

    def check_finite(self, step: int, values: dict[str, float]) -> None:
        """Stop on a NaN or infinite loss, naming it and the checkpoint to go back to."""
        bad = {k: v for k, v in values.items() if not np.isfinite(v)}
        if not bad:
            return
        name, value = next(iter(bad.items()))
        kept = self.last_ckpt or (latest_checkpoint_or_none(self.run_dir) if self.run_dir else None)
        then = (f"'ganzoo resume {self.run_dir} KEY=VALUE', or start again" if kept
                else "start again")  # nothing to resume from
        raise TrainingError(
            f"loss '{name}' is {value} at step {step}: training stopped; the last good "
            f"checkpoint is {kept or 'none (none was written yet)'}; lower the learning "
            f"rate (e.g. variant.lr_d) and {then}")

    def log(self, step: int, values: dict[str, float]) -> None:
        """Scalars of this step with gradient norms, learning rates and speed."""
        now = time.perf_counter()
        values.update({f"grad_norm/{k}": v for k, v in self.ctx.grad_norms.items()})
        for name, opt in self.variant.optimizers.items():
            values[f"lr/{name}"] = opt.param_groups[0]["lr"]
        values["steps_per_s"] = (step - self.speed_mark[1]) / max(now - self.speed_mark[0], 1e-9)
        self.speed_mark = (now, step)
        self.logger.scalars(step, values)
        self.progress.show(step, values)

    def validate(self, step: int) -> None:
        """The variant's scores on held-out data (``val/<name>``), with the averaged weights."""
        self.variant.eval()
        with self.averaged():
            scores = self.variant.validate(self.heldout)
        self.variant.train()
        self.logger.scalars(step, {f"val/{k}": v for k, v in scores.items()}, kind="val")

    def evaluate(self, step: int) -> None:
        """Score the (averaged) generator; keep checkpoints/best.pt by ``eval.best``."""
        e = self.cfg.eval
        self.variant.eval()
        with self.averaged(), memory_guard(f"eval.n={e.n} samples", f"lower eval.n in {self.cfg.source}"):
            records = score(self.variant, self.source, self.info, e.metrics, n=e.n, seed=self.cfg.seed,
                            split=e.split, extractor=e.extractor, device=str(self.device))
        self.variant.train()
        self.logger.scalars(step, {f"eval/{r['metric']}": r["value"] for r in records}, kind="eval")
        self.logger.scores(step, records)
        chosen = next((r for r in records if r["metric"] == e.best), None)
        if chosen is None:
            return
        best = self.best
        if not best or (chosen["value"] > best["value"] if chosen["higher_is_better"]
                        else chosen["value"] < best["value"]):
            best.update(metric=e.best, value=chosen["value"], step=step)
            save_checkpoint(self.training_state(step, rng_state()),
                            checkpoint_dir(self.run_dir) / "best.pt")

    def preview(self, step: int, final: bool = False) -> Path | None:
        """The sample grid of this step (``samples/step_N.png``; also ``final.png`` at the end)."""
        if not self.main:
            return None
        keys = ", ".join(size_options(self.cfg.variant)) or "the network sizes"
        with self.averaged(), memory_guard(f"the preview of step {step}", f"reduce {keys} or "
                                           f"log.num_images in {self.cfg.source}"):
            samples = self.preview_in_chunks()
        picture = render(samples, self.info.kind, real=self.real_preview,
                         centers=self.info.extras.get("centers"))
        self.logger.image(step, "samples", picture)
        path = save_png(picture, self.run_dir / "samples" / f"step_{step:08d}.png")
        return save_png(picture, self.run_dir / "samples" / "final.png") if final else path

    def preview_in_chunks(self) -> torch.Tensor:
        """The preview samples; plain latent codes (2500 for point data) go through the
        generator a training batch at a time, so a preview needs no more memory than a step."""
        fixed, size = self.fixed, self.cfg.train.batch_size
        if not torch.is_tensor(fixed) or len(fixed) <= size:
            return self.variant.preview(fixed).float().cpu()
        return torch.cat([self.variant.preview(part).float().cpu() for part in fixed.split(size)])

    def training_state(self, step: int, rng: Any, stopped: str | None = None) -> dict[str, Any]:
        return training_state(self.variant, self.schedulers, self.scaler, self.cfg, step,
                              self.batches.consumed, rng, self.ema, self.best, stopped)

    def checkpoint(self, step: int, stopped: str | None = None) -> None:
        """Every rank's RNG state gathered, then (main rank) an atomic checkpoint; older ones pruned."""
        self.saved_step = step
        rng = rng_state()
        if self.dinfo.enabled:  # every rank's RNG, so each continues its own noise stream
            gathered: list[Any] = [None] * self.dinfo.world_size
            torch.distributed.all_gather_object(gathered, rng)
            rng = gathered
        if not self.main:
            return
        self.check_run_dir(step)
        self.logger.flush()  # every logged step up to here is on disk before the checkpoint exists
        path = save_checkpoint(self.training_state(step, rng, stopped), checkpoint_path(self.run_dir, step))
        prune_checkpoints(self.run_dir, self.cfg.checkpoint.keep, protect={path})
        self.last_ckpt = path

    def check_run_dir(self, step: int) -> None:
        """Stop if the run folder was deleted or replaced under the running training."""
        if self.main:
            check_present(self.run_dir, self.identity, step)

    def out_of_time(self) -> bool:
        """Whether ``train.time_limit_s`` seconds (wall or CPU, ``train.time_limit_clock``) of
        training have passed (all ranks agree)."""
        limit = self.cfg.train.time_limit_s
        return limit is not None and self.stop_agreed(self.clock() - self.started >= limit)

    def stop_agreed(self, requested: bool) -> bool:
        """Ctrl-C on any rank stops every rank at the same step."""
        if not self.dinfo.enabled:
            return requested
        flag = torch.tensor([1 if requested else 0])
        torch.distributed.all_reduce(flag)
        return bool(flag.item())

    # -- the loop --------------------------------------------------------------------------------
    def fit(self, run_dir: Path | None, resume: bool | str) -> TrainResult:
        cfg, variant = self.cfg, self.variant
        if resume and self.main:  # hold the folder first: a training run is not resumed twice
            self.stack.enter_context(RunLock(Path(run_dir)))
        consumed = self.restore(Path(run_dir), resume) if resume else 0
        self.open_data(consumed)
        self.open_step_context()
        self.open_previews()
        self.open_run_dir(run_dir, resume)
        ctx, log_cfg, total = self.ctx, cfg.log, cfg.train.steps
        self.progress = Progress(cfg, self.start, enabled=cfg.log.progress and self.main)
        self.stack.callback(self.progress.close)
        self.speed_mark = (time.perf_counter(), self.start)
        self.clock = time.process_time if cfg.train.time_limit_clock == "cpu" else time.perf_counter
        self.started = self.clock()
        status, step = "finished", self.start
        with StopFlag() as stop:
            variant.train()
            for step in range(self.start + 1, total + 1):
                # one training step: the variant's update, then schedules and the average
                ctx.step_index, ctx.grad_norms = step - 1, {}
                ctx.log_now = step % log_cfg.every == 0 or step == total
                logs = variant.train_step(self.batches, ctx)
                for sched in self.schedulers.values():
                    sched.step()
                if self.ema is not None:
                    self.ema.update(step)
                # stop on a NaN loss; log; score; preview; checkpoint
                values = {k: float(v) for k, v in logs.items()}
                self.check_finite(step, values)
                self.progress.advance()
                self.last_values = values
                if ctx.log_now and self.main:
                    self.check_run_dir(step)
                    self.log(step, values)
                if self.heldout is not None and (step % cfg.checkpoint.every == 0 or step == total):
                    self.validate(step)
                if self.main and cfg.eval is not None and (step % cfg.eval.every == 0 or step == total):
                    self.evaluate(step)
                if step % log_cfg.image_every == 0 and step != total:
                    self.preview(step)
                if step % cfg.checkpoint.every == 0:
                    self.checkpoint(step)
                # Ctrl-C, SIGTERM or the time limit: stop after this step, with a checkpoint
                if self.stop_agreed(stop.requested is not None):
                    status = stop.requested or "interrupted"  # another rank's signal
                    break
                if self.out_of_time():
                    status = "time_limit"
                    break
        return self.finish(step, status)

    def finish(self, step: int, status: str) -> TrainResult:
        """The last step's scalars (when it was not a logging step), the last checkpoint and
        grid, then the result (only once all of them are on disk)."""
        if self.main and step > self.start and self.speed_mark[1] != step:
            self.log(step, self.last_values)
        if self.saved_step != step or status == "time_limit":  # the last one says why it stopped
            self.checkpoint(step, stopped="time_limit" if status == "time_limit" else None)
        grid = self.preview(step, final=status not in ("interrupted", "terminated"))
        self.check_run_dir(step)
        if self.main:
            self.status = status
        logger = self.logger
        return TrainResult(run_dir=self.run_dir, step=step, status=status, checkpoint=self.last_ckpt,
                           grid=grid, tb_dir=logger.tb_dir, jsonl=logger.jsonl_path)


class Progress:
    """A progress bar on a terminal; with output captured (no TTY), a plain line now and then
    instead, so that log files get no carriage returns."""

    def __init__(self, cfg: RunConfig, start: int, enabled: bool) -> None:
        self.total, self.name = cfg.train.steps, cfg.run.name
        self.bar = None
        self.lines = enabled and not sys.stderr.isatty()
        self.last_line = time.monotonic()
        if enabled and not self.lines:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, initial=start, desc=self.name, dynamic_ncols=True,
                            file=sys.stderr)

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def show(self, step: int, values: dict[str, float]) -> None:
        """The losses beside the bar, or (no TTY) a line at most every 10 s and at the end."""
        losses = {k: v for k, v in values.items() if k.startswith("loss")}
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()}, refresh=False)
        elif self.lines and (time.monotonic() - self.last_line >= 10 or step == self.total):
            self.last_line = time.monotonic()
            text = " ".join(f"{k}={v:.3g}" for k, v in losses.items())
            print(f"{self.name}: step {step}/{self.total} {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
