"""The training loop: devices, precision, seeds, data, logging, previews and checkpoints.

It knows no variant by name: a variant is built from the registry and updates itself in
``train_step``; this file only decides *when* things happen. Read it top to bottom.
"""

from __future__ import annotations

import contextlib
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from . import __version__
from .checkpoint import (FORMAT, FORMAT_VERSION, checkpoint_path, latest_good_checkpoint,
                         prune_checkpoints, save_checkpoint)
from .config import RunConfig
from .errors import CheckpointError, ConfigError, GanzooError, TrainingError
from .images import render, save_png
from .interfaces import StepContext, Variant
from .plugins import get_registry
from .runlog import RunLogger


# -- devices, precision and seeds ---------------------------------------------------------------
def resolve_device(spec: str) -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; explicit devices are checked to exist."""
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(spec)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device '{spec}' asked for, but CUDA is not available here; "
                              f"use device: auto or device: cpu", key="device")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device '{spec}' does not exist ({torch.cuda.device_count()} CUDA "
                              f"device(s) here)", key="device")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("device 'mps' asked for, but MPS is not available here; use device: auto",
                          key="device")
    return device


def check_precision(precision: str, device: torch.device) -> None:
    if precision != "fp32" and device.type != "cuda":
        raise ConfigError(f"precision '{precision}' applies only on CUDA devices and this run is on "
                          f"'{device.type}'; set precision: fp32 (or run on a GPU)", key="precision")
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise ConfigError("precision 'bf16' is not supported by this GPU; use fp16 or fp32",
                          key="precision")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every global RNG state, in types that ``torch.load(weights_only=True)`` accepts."""
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state()
    state = {"python": [version, list(internal), gauss],
             "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# -- run folder -----------------------------------------------------------------------------------
def new_run_dir(cfg: RunConfig) -> Path:
    """``out_dir/name``, or ``name-2``, ``name-3``... if that already holds a run (never overwrite)."""
    base = Path(cfg.run.out_dir) / cfg.run.name
    candidate, n = base, 1
    while candidate.exists() and any(candidate.iterdir()):
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    try:
        candidate.mkdir(parents=True, exist_ok=True)
        probe = candidate / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise GanzooError(f"cannot write the run folder {candidate}: {exc.strerror or exc}; "
                          f"set run.out_dir to a writable folder") from None
    return candidate


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
    if cfg.train.accumulate > 1 and not getattr(variant_cls, "supports_accumulation", False):
        raise ConfigError(f"variant '{cfg.variant.name}' does not support gradient accumulation; "
                          f"set train.accumulate: 1 (a larger train.batch_size has the same effect "
                          f"if it fits in memory)", file=cfg.source, key="train.accumulate")
    variant: Variant = variant_cls(cfg.variant, info)
    if device is not None:
        variant.to(device)
    return source, info, variant


def take(dataset: Any, n: int) -> dict[str, torch.Tensor]:
    """The first ``n`` items of a dataset as one batch."""
    from .data.batched import collate

    n = min(n, len(dataset))
    if hasattr(dataset, "__getitems__"):
        return collate(dataset.__getitems__(list(range(n))))
    return collate([dataset[i] for i in range(n)])


# -- the loop -------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    run_dir: Path
    step: int
    status: str  # finished | interrupted
    checkpoint: Path | None
    grid: Path | None
    tb_dir: Path | None
    jsonl: Path | None


class _StopFlag:
    """Ctrl-C asks the loop to stop after the current step and checkpoint; twice aborts."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> "_StopFlag":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def apply_speed_options(cfg: RunConfig, variant: Variant, info: Any, device: torch.device,
                        dinfo: "DistInfo") -> None:
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


class _NoLogger:
    """What ranks other than 0 log: nothing."""

    tb_dir = jsonl_path = None

    def scalars(self, *a, **k) -> None: ...
    def event(self, *a, **k) -> None: ...
    def flush(self) -> None: ...
    def image(self, *a, **k) -> None: ...
    def close(self) -> None: ...


def train(cfg: RunConfig, *, run_dir: Path | None = None, resume: bool | str = False) -> TrainResult:
    """Train ``cfg`` in a new run folder, or continue the run in ``run_dir`` when ``resume``.

    ``resume="auto"`` continues from the latest good checkpoint in ``run_dir`` if there is one
    and otherwise starts from step 0 in that same folder (its partial logs are replaced).
    """
    from tqdm import tqdm

    from . import distributed
    from .data.loader import make_loader
    from .ema import EMA

    dinfo = distributed.from_environment()
    device = resolve_device(cfg.device)
    if dinfo.enabled and device.type == "cuda":
        device = torch.device("cuda", dinfo.local_rank)
        torch.cuda.set_device(device)
    check_precision(cfg.precision, device)
    distributed.init(dinfo, device)
    try:
        return _train(cfg, run_dir, resume, device, dinfo, tqdm, make_loader, EMA)
    finally:
        distributed.shutdown()


def _train(cfg, run_dir, resume, device, dinfo, tqdm, make_loader, EMA) -> TrainResult:
    from . import distributed

    main = dinfo.is_main
    seed_everything(cfg.seed)
    source, info, variant = build(cfg, device)
    if dinfo.enabled:
        distributed.broadcast_module(variant)
        torch.manual_seed(cfg.seed + 7919 * dinfo.rank)  # each rank draws its own noise
    apply_speed_options(cfg, variant, info, device, dinfo)
    dataset = source.dataset("train")
    if len(dataset) == 0:
        raise GanzooError(f"data set '{cfg.data.name}' is empty; check data options in {cfg.source}")
    variant.optimizers = variant.configure_optimizers()
    schedulers = variant.configure_schedulers(variant.optimizers, cfg.train.steps)
    ema = EMA(variant.generator_net(), cfg.ema.decay, cfg.ema.start) if cfg.ema else None

    # Resume: the latest checkpoint that loads, checked against this run's variant and data.
    start, consumed, state = 0, 0, None
    if resume:
        remove_partial_writes(run_dir)
    found = latest_good_checkpoint(run_dir) if resume else None
    if resume and found is None and resume != "auto":
        raise CheckpointError(f"{run_dir}: no loadable checkpoint to resume from; start a new "
                              f"run with 'ganzoo run'")
    if found is not None:
        ckpt_path, state = found
        restore_training_state(variant, schedulers, state, ckpt_path, cfg)
        if ema is not None and "ema" in state:
            ema.load_state_dict(state["ema"])
        start, consumed = int(state["step"]), int(state["data_position"])
        if start >= cfg.train.steps:
            raise GanzooError(f"{run_dir} already finished {start} of {cfg.train.steps} steps; "
                              f"to train longer, resume with train.steps=N (N > {start})")
    elif main and not resume:
        run_dir = new_run_dir(cfg)
    run_dir = Path(run_dir) if run_dir is not None else None
    if main:
        (run_dir / "config.yaml").write_text(cfg.to_yaml(), encoding="utf-8")

    loader = make_loader(dataset, batch_size=cfg.train.batch_size, seed=cfg.seed,
                         num_workers=cfg.train.num_workers, device_type=device.type,
                         start_batch=consumed, rank=dinfo.rank, world_size=dinfo.world_size)
    batches = DeviceBatches(iter(loader), device, start=consumed,
                            channels_last=cfg.train.channels_last)
    if state is not None:  # after the loader exists, so its set-up does not shift the RNGs
        set_rng_state(state["rng"][dinfo.rank] if isinstance(state["rng"], list) else state["rng"])

    scaler = torch.amp.GradScaler("cuda") if cfg.precision == "fp16" else None
    if scaler is not None and state is not None and "scaler" in state:
        scaler.load_state_dict(state["scaler"])
    ctx = StepContext(device, cfg.precision, scaler)
    ctx.total_steps = cfg.train.steps
    ctx.world_size = dinfo.world_size
    ctx.accumulate = cfg.train.accumulate

    preview_gen = torch.Generator().manual_seed(cfg.seed + 1_000_003)
    n_preview = 2500 if info.kind == "points" else cfg.log.num_images
    examples = {k: v.to(device) for k, v in take(dataset, n_preview).items() if torch.is_tensor(v)}
    fixed = variant.fixed_inputs(n_preview, preview_gen, examples)
    real_preview = examples["x"].cpu() if info.kind == "points" else None
    heldout = None
    if main and type(variant).validate is not Variant.validate:  # the variant scores held-out data
        heldout = {k: v.to(device) for k, v in take(source.dataset("test"), 1000).items()
                   if torch.is_tensor(v)}

    logger = (RunLogger(run_dir, tensorboard=cfg.log.tensorboard, jsonl=cfg.log.jsonl, start_step=start,
                        resuming=bool(resume))
              if main else _NoLogger())
    last_ckpt: Path | None = None
    grid_path: Path | None = None

    def averaged():
        return ema.swapped_in() if ema is not None else contextlib.nullcontext()

    saved_step = start if state is not None else -1

    def checkpoint(step: int) -> Path | None:
        nonlocal last_ckpt, saved_step
        saved_step = step
        rng = rng_state()
        if dinfo.enabled:  # every rank's RNG, so each continues its own noise stream
            gathered: list[Any] = [None] * dinfo.world_size
            torch.distributed.all_gather_object(gathered, rng)
            rng = gathered
        if not main:
            return None
        logger.flush()  # every logged step up to here is on disk before the checkpoint exists
        path = save_checkpoint(training_state(variant, schedulers, scaler, cfg, step, batches.consumed,
                                              rng, ema, best), checkpoint_path(run_dir, step))
        prune_checkpoints(run_dir, cfg.checkpoint.keep, protect={path})
        last_ckpt = path
        return path

    best = dict(state.get("best", {})) if state is not None else {}

    def evaluate(step: int) -> None:
        """Score the (averaged) generator; keep checkpoints/best.pt by ``eval.best``."""
        from .evaluation import score

        e = cfg.eval
        variant.eval()
        with averaged():
            records = score(variant, source, info, e.metrics, n=e.n, seed=cfg.seed, split=e.split,
                            extractor=e.extractor, device=str(device))
        variant.train()
        logger.scalars(step, {f"eval/{r['metric']}": r["value"] for r in records}, kind="eval")
        for r in records:
            logger.event(step, kind="eval_record", **r)
        chosen = next((r for r in records if r["metric"] == e.best), None)
        if chosen is None:
            return
        better = (not best or (chosen["value"] > best["value"] if chosen["higher_is_better"]
                               else chosen["value"] < best["value"]))
        if better:
            best.update(metric=e.best, value=chosen["value"], step=step)
            save_checkpoint(training_state(variant, schedulers, scaler, cfg, step, batches.consumed,
                                           rng_state(), ema, best), run_dir / "checkpoints" / "best.pt")

    def preview(step: int, name: str) -> Path | None:
        if not main:
            return None
        with averaged():
            samples = variant.preview(fixed).float().cpu()
        picture = render(samples, info.kind, real=real_preview, centers=info.extras.get("centers"))
        logger.image(step, "samples", picture)
        return save_png(picture, run_dir / "samples" / name)

    status, step = "finished", start
    bar = tqdm(total=cfg.train.steps, initial=start, desc=cfg.run.name,
               disable=not (cfg.log.progress and main), dynamic_ncols=True, file=sys.stderr)
    t_last, s_last = time.perf_counter(), start
    try:
        with _StopFlag() as stop:
            variant.train()
            for step in range(start + 1, cfg.train.steps + 1):
                ctx.step_index = step - 1
                ctx.log_now = step % cfg.log.every == 0
                ctx.grad_norms = {}
                logs = variant.train_step(batches, ctx)
                for sched in schedulers.values():
                    sched.step()
                if ema is not None:
                    ema.update(step)
                values = {k: float(v) for k, v in logs.items()}
                bad = {k: v for k, v in values.items() if not np.isfinite(v)}
                if bad:
                    name, value = next(iter(bad.items()))
                    kept = last_ckpt or (latest_checkpoint_or_none(run_dir) if run_dir else None)
                    then = (f"'ganzoo resume {run_dir} KEY=VALUE', or start again" if kept
                            else "start again")  # nothing to resume from
                    raise TrainingError(
                        f"loss '{name}' is {value} at step {step}: training stopped; the last good "
                        f"checkpoint is {kept or 'none (none was written yet)'}; lower the learning "
                        f"rate (e.g. variant.lr_d) and {then}")
                bar.update(1)
                if ctx.log_now:
                    now = time.perf_counter()
                    values.update({f"grad_norm/{k}": v for k, v in ctx.grad_norms.items()})
                    for name, opt in variant.optimizers.items():
                        values[f"lr/{name}"] = opt.param_groups[0]["lr"]
                    values["steps_per_s"] = (step - s_last) / max(now - t_last, 1e-9)
                    t_last, s_last = now, step
                    logger.scalars(step, values)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in logs.items()}, refresh=False)
                if heldout is not None and (step % cfg.checkpoint.every == 0 or step == cfg.train.steps):
                    variant.eval()
                    with averaged():
                        scores = variant.validate(heldout) or {}
                    variant.train()
                    logger.scalars(step, {f"val/{k}": v for k, v in scores.items()}, kind="val")
                if main and cfg.eval is not None and (step % cfg.eval.every == 0 or step == cfg.train.steps):
                    evaluate(step)
                if step % cfg.log.image_every == 0 and step != cfg.train.steps:
                    preview(step, f"step_{step:08d}.png")
                if step % cfg.checkpoint.every == 0:
                    checkpoint(step)
                if _stop_agreed(stop.requested, dinfo):
                    status = "interrupted"
                    break
            else:
                step = cfg.train.steps
        if saved_step != step:
            checkpoint(step)
        grid_path = preview(step, "final.png" if status == "finished" else f"step_{step:08d}.png")
    finally:
        bar.close()
        logger.close()
        if hasattr(loader, "close"):
            loader.close()
    return TrainResult(run_dir=run_dir, step=step, status=status, checkpoint=last_ckpt,
                       grid=grid_path, tb_dir=logger.tb_dir if cfg.log.tensorboard else None,
                       jsonl=logger.jsonl_path)


def _stop_agreed(requested: bool, dinfo) -> bool:
    """Ctrl-C on any rank stops every rank at the same step."""
    if not dinfo.enabled:
        return requested
    flag = torch.tensor([1 if requested else 0])
    torch.distributed.all_reduce(flag)
    return bool(flag.item())


def remove_partial_writes(run_dir: Path) -> None:
    """Delete temporary files left by a process killed while writing a checkpoint."""
    from .checkpoint import checkpoint_dir

    for tmp in checkpoint_dir(run_dir).glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def latest_checkpoint_or_none(run_dir: Path) -> Path | None:
    from .checkpoint import list_checkpoints

    found = list_checkpoints(run_dir)
    return found[-1] if found else None


# -- checkpoint contents --------------------------------------------------------------------------
def training_state(variant: Variant, schedulers: dict, scaler, cfg: RunConfig, step: int,
                   data_position: int, rng: Any, ema: Any = None,
                   best: dict[str, Any] | None = None) -> dict[str, Any]:
    state = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "ganzoo_version": __version__,
        "variant": cfg.variant.name, "data": cfg.data.name, "config": cfg.to_dict(),
        "step": step, "data_position": data_position,
        "model": variant.state_dict(),
        "optimizers": {k: o.state_dict() for k, o in variant.optimizers.items()},
        "schedulers": {k: s.state_dict() for k, s in schedulers.items()},
        "extra": variant.extra_state(),
        "rng": rng,
    }
    if ema is not None:
        state["ema"] = ema.state_dict()
    if best:
        state["best"] = dict(best)
    if scaler is not None:
        state["scaler"] = scaler.state_dict()
    return state


def check_compatible(state: dict[str, Any], cfg: RunConfig, path: Path) -> None:
    """Refuse a checkpoint from another variant, data set or network shape."""
    if state.get("variant") != cfg.variant.name:
        raise CheckpointError(f"{path}: checkpoint is from variant '{state.get('variant')}', but the "
                              f"config uses '{cfg.variant.name}'; use that run's own config")
    if state.get("data") != cfg.data.name:
        raise CheckpointError(f"{path}: checkpoint was trained on data '{state.get('data')}', but "
                              f"the config uses '{cfg.data.name}'; use that run's own data set")


def load_model_state(variant: Variant, state: dict[str, Any], path: Path) -> None:
    try:
        variant.load_state_dict(state["model"])
    except (RuntimeError, KeyError) as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()] or [repr(exc)]
        first = lines[1] if len(lines) > 1 and lines[0].endswith(":") else lines[0]  # skip the heading
        raise CheckpointError(f"{path}: its networks do not fit this config's ({first[:200]}); "
                              f"it comes from a run with other variant options") from None
    variant.load_extra_state(state.get("extra", {}))


def restore_training_state(variant: Variant, schedulers: dict, state: dict[str, Any], path: Path,
                           cfg: RunConfig) -> None:
    check_compatible(state, cfg, path)
    load_model_state(variant, state, path)
    try:
        for k, opt in variant.optimizers.items():
            opt.load_state_dict(state["optimizers"][k])
        for k, sched in schedulers.items():
            sched.load_state_dict(state["schedulers"][k])
    except (KeyError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: optimizer/scheduler state does not fit this run ({exc})") from None
