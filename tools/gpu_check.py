"""One-command CUDA check of ganzoo for a short slot on one GPU: JSON report + Markdown table.

    python tools/gpu_check.py [--out gpu_check_out] [--budget-s 450] [--steps 30]

1. zoo: every ``zoo_configs/*.yaml`` (not ``real/``) for ``--steps`` steps on ``cuda`` in fp32,
   bf16, fp16 (ganzoo's GradScaler), channels_last (image configs) and ``train.compile``: finished
   or the error, steps/s, peak GPU memory. Mode by mode, so a short budget covers every config
   in fp32 before anything is compiled.
2. speed: images/s of ganzoo against the plain PyTorch loops of ``tools/bench_overhead.py``
   (DCGAN, here at 64 px, batch 128) and ``tools/bench_cyclegan_speed.py`` (CycleGAN at 256 px,
   batch 1 and 4), in paired rounds; ratio = median of the per-round ratios.
3. resume: 2N steps straight against N + resume + N under ``torch.use_deterministic_algorithms``.
4. fid: FID Inception (random weights) feature extraction images/s; the Frechet distance at
   d = 2048 in float64 torch on the GPU against ganzoo's NumPy method and scipy's sqrtm on the CPU.

Every item is timed and caught: one failure is recorded in one line and the rest go on. The
budget is split into consecutive section deadlines; an item whose estimated cost does not fit
is recorded as "skipped: time budget". The report is rewritten after every item, so a slot that
ends early still leaves what was measured; an item still running 15 s past the budget is
stopped with the whole process (exit status 3) after a last write of the report.

Without CUDA only the CPU side of 4 runs (at a small d); the rest is listed as skipped with the
reason. The exit status is 1 if an item that ran failed (skipped ones do not count), else 0.
Imports at the top: stdlib and torch only; ganzoo and its dependencies must be installed (see
docs/training.md, "Checking a GPU machine").
"""

from __future__ import annotations

import argparse
import gc
import importlib
import itertools
import json
import math
import os
import platform
import shutil
import statistics
import sys
import threading
import time
import types
import warnings
from pathlib import Path
from typing import Any, Callable

import torch

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
MODES = ("fp32", "bf16", "fp16", "channels_last", "compile")
MODE_OVERRIDES = {
    "fp32": ["precision=fp32"], "bf16": ["precision=bf16"], "fp16": ["precision=fp16"],
    "channels_last": ["precision=fp32", "train.channels_last=true"],
    "compile": ["precision=fp32", "train.compile=true"],
}
SECTIONS = ("zoo", "speed", "resume", "fid")
#: where each section must have ended, as a fraction of the budget (time a section leaves unused
#: rolls over to the next one); the last 4 % is the margin for writing the report
SECTION_ENDS = {"zoo": 0.60, "speed": 0.80, "resume": 0.88, "fid": 0.96}
#: seconds an item of a kind is assumed to take until one of that kind has been timed
FIRST_GUESS = {"compile": 45.0, "speed": 25.0, "resume": 20.0, "fid_features": 20.0,
               "frechet": 30.0}
DEFAULT_GUESS = 10.0
NO_CUDA = "CUDA not available"
TIME_BUDGET = "time budget"
UNPAIRED = "gpu_check_unpaired"
HARD_STOP_GRACE_S = 15.0
#: the item running now, for the hard stop to name (and mark) if it never returns
RUNNING: dict[str, Any] = {"entry": None}


# -- budget ------------------------------------------------------------------------------------------
class Budget:
    """Section deadlines inside one wall-clock allowance, plus per-kind cost estimates learnt as
    items finish (the slowest seen), so the check starts nothing that would overrun the slot."""

    def __init__(self, total_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.clock, self.start = float(total_s), clock, clock()
        self.seen: dict[str, float] = {}

    def elapsed(self) -> float:
        return self.clock() - self.start

    def left(self, section: str) -> float:
        return self.start + self.total * SECTION_ENDS[section] - self.clock()

    def estimate(self, kind: str) -> float:
        return self.seen.get(kind, FIRST_GUESS.get(kind, DEFAULT_GUESS))

    def allows(self, section: str, kind: str) -> bool:
        return self.left(section) >= self.estimate(kind)

    def record(self, kind: str, seconds: float) -> None:
        self.seen[kind] = max(float(seconds), self.seen.get(kind, 0.0))


# -- small helpers -------------------------------------------------------------------------------------
def one_line(exc: BaseException, limit: int = 300) -> str:
    """``Type: first line of the message``: what a table cell and a JSON field can hold."""
    text = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    return f"{type(exc).__name__}: {text}"[:limit] if text else type(exc).__name__


def attempt(entry: dict, fn: Callable[[], None]) -> dict:
    """Run one item; any exception becomes a one-line error on its entry, so the rest go on."""
    t0 = time.perf_counter()
    RUNNING["entry"] = entry
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the point is to record every failure and continue
        entry.update(status="error", error=one_line(exc))
    finally:
        RUNNING["entry"] = None
    entry.setdefault("seconds", round(time.perf_counter() - t0, 2))
    return entry


def start_watchdog(seconds: float, report: dict, out: Path, budget: "Budget") -> threading.Timer:
    """End the process ``seconds`` after the start if an item overruns or hangs (a compile that
    never ends must not eat the slot), after marking that item and writing the report."""
    def stop() -> None:
        entry = RUNNING["entry"]
        if entry is not None:
            entry.update(status="error", error=f"hard stop: still running {seconds:.0f} s after the start")
        report["skipped"].append({"section": "all", "what": "whatever had not run yet",
                                  "why": f"hard stop after {seconds:.0f} s"})
        try:
            write_report(report, out, budget)
        finally:
            print(f"gpu_check: hard stop after {seconds:.0f} s; the report has every finished item",
                  file=sys.stderr, flush=True)
            os._exit(3)

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    return timer


def sync(device: torch.device | str) -> None:
    """Wait for queued GPU work, so a timer measures it (no-op on the CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def tool_module(name: str) -> types.ModuleType:
    """A sibling script of tools/ as a module (tools/ is no package), to reuse its functions."""
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    return importlib.import_module(name)


def jsonable(value: Any) -> Any:
    """The report in strict JSON: non-finite floats as strings, paths as strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    return value


def say(budget: Budget, message: str) -> None:
    """A progress line with the elapsed time, so a watcher of the slot sees where the time goes."""
    print(f"[{budget.elapsed():5.0f} s] {message}", flush=True)


def install_problem() -> str | None:
    """Why ganzoo cannot run here (not installed, a dependency missing) and the fix; None if fine."""
    fix = ("install it first (docs/training.md, 'Checking a GPU machine'): pip install --no-index "
           "--find-links .whl <names printed by tools/gpu_wheels.sh>, then pip install --no-deps "
           "--no-build-isolation -e .")
    try:
        import ganzoo.config  # noqa: F401 - needs pydantic
        from ganzoo.plugins import get_registry

        variants = get_registry().names("variants")
    except ImportError as exc:
        return f"gpu_check: {one_line(exc)}; {fix}"
    if "dcgan" not in variants:
        return (f"gpu_check: ganzoo's built-in variants are not registered (they are found through "
                f"entry points, so ganzoo must be installed); {fix}")
    return None


# -- 1. the zoo configs ---------------------------------------------------------------------------------
def zoo_configs(names: list[str] | None = None) -> list[Path]:
    """The built-in zoo configs (zoo_configs/*.yaml; real/ needs downloads), optionally a subset."""
    found = sorted((ROOT / "zoo_configs").glob("*.yaml"))
    if names:
        unknown = sorted(set(names) - {p.stem for p in found})
        if unknown:
            raise SystemExit(f"gpu_check: unknown zoo config(s) {', '.join(unknown)}; known: "
                             f"{', '.join(p.stem for p in found)}")
        found = [p for p in found if p.stem in names]
    return found


def data_kind(path: Path) -> str:
    """"images", "unpaired" or "points" for a config (channels_last applies to images only)."""
    from ganzoo.config import load_config
    from ganzoo.plugins import get_registry

    try:
        cfg = load_config(path)
        return get_registry().get("datasets", cfg.data.name)(cfg.data).info().kind
    except Exception:  # noqa: BLE001 - the run itself will report the problem
        return "unknown"


def zoo_plan(configs: list[Path], modes: list[str], cuda: bool) -> list[dict]:
    """One entry per (mode, config), mode by mode; channels_last only for image configs."""
    kinds = {p.stem: data_kind(p) for p in configs}
    plan = []
    for mode in modes:
        for path in configs:
            if mode == "channels_last" and kinds[path.stem] == "points":
                continue
            entry = {"config": path.stem, "mode": mode, "status": "pending"}
            if not cuda:
                entry.update(status="skipped", reason=NO_CUDA)
            plan.append(entry)
    return plan


def log_summary(jsonl: Path | None) -> dict:
    """Steady-state steps/s (median of the logged intervals after the first, which holds the
    warm-up) and the last logged losses, from a run's log.jsonl."""
    if jsonl is None or not Path(jsonl).is_file():
        return {}
    records = [json.loads(ln) for ln in Path(jsonl).read_text().splitlines() if ln.strip()]
    logged = [r for r in records if r.get("kind") == "train"]
    if not logged:
        return {}
    rates = [r["steps_per_s"] for r in logged if isinstance(r.get("steps_per_s"), (int, float))]
    losses = {k: v for k, v in logged[-1].items()
              if k not in ("step", "kind", "time", "steps_per_s") and "/" not in k}
    out: dict[str, Any] = {"losses": losses}
    if rates:
        out["steps_per_s"] = round(statistics.median(rates[1:] or rates), 2)
    return out


def run_zoo(entry: dict, path: Path, steps: int, out: Path, keep_runs: bool,
            device: str = "cuda") -> None:
    """Train one zoo config in one mode in-process; fill ``entry`` with the outcome and speed."""
    from ganzoo.config import load_config
    from ganzoo.trainer import train

    cuda = torch.device(device).type == "cuda"
    overrides = [f"train.steps={steps}", f"device={device}", f"run.out_dir={out / 'runs'}",
                 f"run.name={entry['config']}-{entry['mode']}", "log.progress=false",
                 f"log.every={max(1, steps // 3)}", "log.image_every=1000000",
                 "checkpoint.every=1000000", *MODE_OVERRIDES[entry["mode"]]]
    cfg = load_config(path, overrides)
    if entry["mode"] == "compile":
        torch._dynamo.reset()  # compile afresh, not into the cache limit of earlier runs
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    result = train(cfg)
    sync(device)
    entry.update(status="ok" if result.status == "finished" else result.status, steps=result.step,
                 seconds=round(time.perf_counter() - t0, 2))
    if cuda:
        entry["peak_mem_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    entry.update(log_summary(result.jsonl))
    if not keep_runs:
        shutil.rmtree(result.run_dir, ignore_errors=True)


def zoo_section(report: dict, args: argparse.Namespace, budget: Budget, cuda: bool,
                save: Callable[[], None]) -> None:
    """Every zoo config in every mode that fits the budget; no NaN (ganzoo raises TrainingError
    on a non-finite loss, recorded as the run's error)."""
    configs = zoo_configs(args.configs)
    plan = report["zoo"] = zoo_plan(configs, args.modes, cuda)
    save()
    if not cuda:
        note(report, "zoo", f"{len(plan)} runs of {len(configs)} configs", NO_CUDA)
        return
    paths = {p.stem: p for p in configs}
    for entry in plan:
        if not budget.allows("zoo", entry["mode"]):
            entry.update(status="skipped", reason=TIME_BUDGET)
            continue
        attempt(entry, lambda: run_zoo(entry, paths[entry["config"]], args.steps, args.out,
                                       args.keep_runs))
        budget.record(entry["mode"], entry["seconds"])
        say(budget, f"zoo {entry['config']} {entry['mode']}: {zoo_cell(entry)}")
        save()
    if not args.keep_runs:
        shutil.rmtree(args.out / "runs", ignore_errors=True)
    late = sum(e.get("reason") == TIME_BUDGET for e in plan)
    if late:
        note(report, "zoo", f"{late} of {len(plan)} runs", TIME_BUDGET)


# -- 2. speed against plain PyTorch --------------------------------------------------------------------------
def plain_dcgan64(z_dim: int, ngf: int, ndf: int) -> tuple[torch.nn.Module, torch.nn.Module]:
    """bench_overhead's hand-written 32-px DCGAN grown by one stride-2 layer on each side: the
    layers ganzoo's DCGANGenerator/Discriminator build at 64 px."""
    from torch import nn

    G32, D32 = tool_module("bench_overhead").plain_dcgan(z_dim, ngf * 2, ndf)
    g_new = [nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
             nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh()]
    d_new = [nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8),
             nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False)]
    for m in g_new + d_new:  # plain_dcgan's initialisation
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return nn.Sequential(*list(G32)[:-2], *g_new), nn.Sequential(*list(D32)[:-1], *d_new)


def plain_dcgan_seconds(images: torch.Tensor, steps: int, batch: int, z_dim: int, ngf: int,
                        device: str, warmup: int = 3) -> float:
    """Seconds per step of bench_overhead's plain DCGAN loop (same updates as its plain_steps) at
    64 px on ``device``; batches are drawn from CPU images and copied over, as ganzoo does."""
    import torch.nn.functional as F

    torch.manual_seed(0)
    G, D = (net.to(device) for net in plain_dcgan64(z_dim, ngf, ngf))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(0)

    def step() -> None:
        real = images[torch.randint(0, len(images), (batch,), generator=gen)].to(device, non_blocking=True)
        with torch.no_grad():
            fake = G(torch.randn(batch, z_dim, 1, 1, device=device))
        d_real, d_fake = D(real).view(-1), D(fake).view(-1)
        loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        d_gen = D(G(torch.randn(batch, z_dim, 1, 1, device=device))).view(-1)
        loss_g = F.binary_cross_entropy_with_logits(d_gen, torch.ones_like(d_gen))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

    for _ in range(warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return (time.perf_counter() - t0) / steps


class BatchDraw:
    """What plain_iterations indexes as its image tensor (``len`` and ``[index]``), returning
    ``batch`` consecutive images from the drawn index on ``device``: the reference loop, unchanged,
    at batch > 1."""

    def __init__(self, images: torch.Tensor, batch: int, device: str) -> None:
        self.images, self.batch, self.device = images, batch, device

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: torch.Tensor) -> torch.Tensor:
        rows = (torch.arange(self.batch) + int(index[0])) % len(self.images)
        return self.images[rows].to(self.device, non_blocking=True)


def plain_cyclegan_seconds(a: torch.Tensor, b: torch.Tensor, steps: int, batch: int, ngf: int,
                           n_blocks: int, device: str, warmup: int = 2) -> float:
    """Seconds per iteration of bench_cyclegan_speed's reference loop (its plain_iterations and
    networks), moved to ``device`` and fed ``batch`` images per domain."""
    bcs = tool_module("bench_cyclegan_speed")
    torch.manual_seed(0)
    G_A, G_B = (bcs.init_plain(bcs.plain_generator(ngf, n_blocks)).to(device) for _ in range(2))
    D_A, D_B = (bcs.init_plain(bcs.plain_discriminator(ngf)).to(device) for _ in range(2))
    state = {"nets": (G_A, G_B, D_A, D_B), "pools": (bcs.PlainPool(50), bcs.PlainPool(50)),
             "opt_G": torch.optim.Adam(itertools.chain(G_A.parameters(), G_B.parameters()), 2e-4, (0.5, 0.999)),
             "opt_D": torch.optim.Adam(itertools.chain(D_A.parameters(), D_B.parameters()), 2e-4, (0.5, 0.999)),
             "gen": torch.Generator().manual_seed(0)}
    draw_a, draw_b = BatchDraw(a, batch, device), BatchDraw(b, batch, device)
    with warnings.catch_warnings():  # its float(loss) on a tensor that requires grad
        warnings.simplefilter("ignore", UserWarning)
        bcs.plain_iterations(draw_a, draw_b, warmup, ngf, ngf, n_blocks, state)
        times, _ = bcs.plain_iterations(draw_a, draw_b, steps, ngf, ngf, n_blocks, state)
    return sum(times) / len(times)  # each iteration ends on float(loss): synchronised


def ganzoo_seconds(variant: dict, data: dict, batch: int, steps: int, out_dir: Path,
                   device: str) -> float:
    """Seconds per step of ganzoo's whole trainer from its own JSONL timestamps between logged
    steps ``steps`` and ``2 * steps`` (start-up and warm-up excluded), as the bench tools do."""
    from ganzoo.config import config_from_dict
    from ganzoo.trainer import train

    cfg = config_from_dict({
        "run": {"name": "speed", "out_dir": str(out_dir)}, "device": device, "seed": 0,
        "variant": variant, "data": data, "train": {"steps": 2 * steps, "batch_size": batch},
        "log": {"every": steps, "image_every": 1_000_000, "num_images": 4, "tensorboard": True,
                "progress": False},
        "checkpoint": {"every": 1_000_000}})
    result = train(cfg)
    records = [json.loads(line) for line in result.jsonl.read_text().splitlines()]
    stamps = [(r["step"], r["time"]) for r in records if r.get("kind") == "train"]
    (s0, t0), (s1, t1) = stamps[0], stamps[-1]
    shutil.rmtree(result.run_dir, ignore_errors=True)
    return (t1 - t0) / (s1 - s0)


def paired_rounds(entry: dict, plain: Callable[[int], float], ours: Callable[[int], float],
                  rounds: int, budget: Budget | None) -> dict:
    """Alternate the plain loop and ganzoo in one process (and which goes first), so machine
    noise hits both alike; ratio = median of the per-round ratios ganzoo/plain images/s."""
    entry["rounds"] = []
    for r in range(rounds):
        if r and budget is not None and not budget.allows("speed", entry["name"]):
            entry["stopped"] = f"after {r} round(s): {TIME_BUDGET}"
            break
        t = time.perf_counter()
        seconds = {}
        for side, fn in (("plain", plain), ("ganzoo", ours))[:: 1 if r % 2 == 0 else -1]:
            seconds[side] = fn(r)
        entry["rounds"].append({"plain_s": seconds["plain"], "ganzoo_s": seconds["ganzoo"],
                                "ratio": seconds["plain"] / seconds["ganzoo"]})
        if budget is not None:
            budget.record(entry["name"], time.perf_counter() - t)
    batch, done = entry["batch"], entry["rounds"]
    entry.update(status="ok",
                 plain_images_per_s=round(batch / statistics.median(x["plain_s"] for x in done), 2),
                 ganzoo_images_per_s=round(batch / statistics.median(x["ganzoo_s"] for x in done), 2),
                 ratio=round(statistics.median(x["ratio"] for x in done), 3))
    return entry


def bench_dcgan(entry: dict, steps: int, rounds: int, out: Path, device: str,
                budget: Budget | None, ngf: int = 64, size: int = 2048) -> dict:
    """DCGAN at 64 px (``entry['batch']``, z 100, ngf = ndf = ``ngf``) on the built-in shapes."""
    from ganzoo.plugins import get_registry
    from ganzoo.trainer import take

    src = get_registry().get("datasets", "shapes")
    images = take(src(src.Options(name="shapes", image_size=64, size=size)).dataset("train"), size)["x"]
    variant = {"name": "dcgan", "z_dim": 100, "ngf": ngf, "ndf": ngf}
    data = {"name": "shapes", "image_size": 64, "size": size}
    batch = entry["batch"]
    return paired_rounds(
        entry, lambda r: plain_dcgan_seconds(images, steps, batch, 100, ngf, device),
        lambda r: ganzoo_seconds(variant, data, batch, steps, out / f"dcgan-{r}", device),
        rounds, budget)


def register_unpaired(a: torch.Tensor, b: torch.Tensor) -> dict:
    """An in-memory unpaired data set of these images (the built-in two_domain stops at 128 px),
    so ganzoo trains on the same CPU tensors as the plain loop; returns its ``data:`` block."""
    from ganzoo.data.base import DataInfo, DataOptions, DataSource
    from ganzoo.hookspecs import hookimpl
    from ganzoo.plugins import get_registry

    class Pairs(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(a)

        def __getitem__(self, i: int) -> dict:
            return {"a": a[i], "b": b[(7 * i + 3) % len(b)]}

    class Source(DataSource):
        Options = DataOptions

        def info(self) -> DataInfo:
            return DataInfo(name=UNPAIRED, kind="unpaired", shape=tuple(a.shape[1:]))

        def dataset(self, split: str = "train") -> Pairs:
            return Pairs()

    @hookimpl
    def register_datasets(register) -> None:
        register(UNPAIRED, Source)

    registry = get_registry()
    registry.remove_plugin(UNPAIRED)  # the images of an earlier call
    registry.add_plugin(types.SimpleNamespace(register_datasets=register_datasets), UNPAIRED)
    return {"name": UNPAIRED}


def bench_cyclegan(entry: dict, steps: int, rounds: int, out: Path, device: str,
                   budget: Budget | None, size: int = 256, ngf: int = 64, n_blocks: int = 9) -> dict:
    """CycleGAN at ``size`` px with the authors' 256-px networks (ngf = ndf = 64, 9 blocks) on
    two_domain scenes rendered at 128 px and upsampled (64 per domain)."""
    import torch.nn.functional as F

    from ganzoo.plugins import get_registry
    from ganzoo.trainer import take

    src = get_registry().get("datasets", "two_domain")
    scenes = take(src(src.Options(name="two_domain", image_size=min(size, 128), size=64,
                                  test_size=16)).dataset("train"), 64)
    a, b = (F.interpolate(scenes[k], size=(size, size), mode="bilinear", align_corners=False)
            for k in ("a", "b"))
    data = register_unpaired(a.contiguous(), b.contiguous())
    variant = {"name": "cyclegan", "ngf": ngf, "ndf": ngf, "n_blocks": n_blocks}
    batch = entry["batch"]
    return paired_rounds(
        entry, lambda r: plain_cyclegan_seconds(a, b, steps, batch, ngf, n_blocks, device),
        lambda r: ganzoo_seconds(variant, data, batch, steps, out / f"cyclegan-{batch}-{r}", device),
        rounds, budget)


def speed_section(report: dict, args: argparse.Namespace, budget: Budget, cuda: bool,
                  save: Callable[[], None]) -> None:
    """ganzoo against plain PyTorch where the GPU makes framework overhead visible."""
    benches = [("dcgan_64px", 128, bench_dcgan), ("cyclegan_256px", 1, bench_cyclegan),
               ("cyclegan_256px", 4, bench_cyclegan)]
    for name, batch, fn in benches:
        entry = {"name": f"{name}_b{batch}", "batch": batch, "status": "pending"}
        report["speed"].append(entry)
        if not cuda:
            entry.update(status="skipped", reason=NO_CUDA)
        elif not budget.allows("speed", "speed"):
            entry.update(status="skipped", reason=TIME_BUDGET)
        else:
            attempt(entry, lambda: fn(entry, args.bench_steps, args.bench_rounds,
                                      args.out / "speed", "cuda", budget))
            budget.record("speed", entry["seconds"])
            say(budget, f"speed {entry['name']}: {entry.get('ratio', entry.get('error'))}")
        save()
    shutil.rmtree(args.out / "speed", ignore_errors=True)
    if not cuda:
        note(report, "speed", "ganzoo vs plain PyTorch images/s", NO_CUDA)


# -- 3. resume on CUDA ----------------------------------------------------------------------------------
def resume_check(config: Path, steps: int, out: Path, device: str) -> dict:
    """2N steps straight against N, resume, N more, under deterministic algorithms: the final
    weights must be bit-identical (tests/test_trainer.py checks the same on the CPU)."""
    from ganzoo.checkpoint import load_checkpoint
    from ganzoo.config import load_config
    from ganzoo.trainer import train

    base = [f"device={device}", "precision=fp32", f"run.out_dir={out}", "log.progress=false",
            "log.tensorboard=false", "log.image_every=1000000", "checkpoint.every=1000000"]

    def cfg(name: str, n: int):
        return load_config(config, [*base, f"run.name={name}", f"train.steps={n}"])

    old = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark,
           torch.backends.cudnn.deterministic)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = False, True
    try:
        straight = train(cfg("straight", 2 * steps))
        half = train(cfg("split", steps))
        resumed = train(cfg("split", 2 * steps), run_dir=half.run_dir, resume=True)
    finally:
        torch.use_deterministic_algorithms(old[0])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = old[1], old[2]
    a = load_checkpoint(straight.checkpoint)["model"]
    b = load_checkpoint(resumed.checkpoint)["model"]
    differing = sorted(k for k in a if k not in b or not torch.equal(a[k], b[k]))
    diffs = [(a[k].double() - b[k].double()).abs().max().item() for k in a
             if k in b and a[k].is_floating_point() and a[k].numel()]
    return {"status": "ok" if not differing else "mismatch", "identical": not differing,
            "config": config.stem, "device": device, "steps": [2 * steps, steps, steps],
            "final_steps": [straight.step, resumed.step], "tensors": len(a),
            "n_differing": len(differing), "differing": differing[:5],
            "max_abs_diff": max(diffs, default=0.0)}


def resume_section(report: dict, args: argparse.Namespace, budget: Budget, cuda: bool,
                   save: Callable[[], None]) -> None:
    """The CUDA resume check, if CUDA is here and it fits."""
    entry = {"config": Path(args.resume_config).stem, "status": "pending"}
    if not cuda:
        entry.update(status="skipped", reason=NO_CUDA)
        note(report, "resume", "exact resume on CUDA", NO_CUDA)
    elif not budget.allows("resume", "resume"):
        entry.update(status="skipped", reason=TIME_BUDGET)
    else:
        out = args.out / "resume"
        attempt(entry, lambda: entry.update(resume_check(Path(args.resume_config), args.resume_steps,
                                                         out, "cuda")))
        shutil.rmtree(out, ignore_errors=True)
        say(budget, f"resume: {entry.get('identical', entry.get('error'))}")
    report["resume"] = entry
    save()


# -- 4. FID on the GPU ---------------------------------------------------------------------------------
def fid_features(out: Path, n: int, batch: int, device: str) -> dict:
    """Images/s of ganzoo's FID Inception (random weights: same shapes and cost as the real ones)
    through InceptionExtractor.iter_outputs (resize to 299 inside, features back on the CPU per
    batch, as scoring does), in both memory layouts."""
    from ganzoo.metrics.features import InceptionExtractor
    from ganzoo.metrics.inception import FIDInceptionV3

    torch.manual_seed(0)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / "random_inception.pth"
    torch.save(FIDInceptionV3().state_dict(), weights)
    ext = InceptionExtractor(weights=weights, dims=2048, device=device, progress=False)
    weights.unlink()
    x = torch.rand(n, 3, 32, 32, device=device)
    rates = {}
    for layout in ("contiguous", "channels_last"):
        ext.net.use_channels_last(layout == "channels_last")
        for _ in ext.iter_outputs(x[:batch].split(batch)):  # warm-up (cuDNN picks its kernels)
            pass
        sync(device)
        t0 = time.perf_counter()
        for _ in ext.iter_outputs(x.split(batch)):
            pass
        sync(device)
        rates[layout] = round(n / (time.perf_counter() - t0), 1)
    return {"status": "ok", "device": device, "images": n, "batch": batch, "input_px": 32,
            "images_per_s": rates}


def frechet_torch(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor,
                  sigma2: torch.Tensor) -> float:
    """ganzoo's eigenvalue method (metrics/fid.py: Cholesky S1 = L L^T, eigenvalues of L^T S2 L,
    eigh-based S1^(1/2) if S1 is singular) in torch, so it runs where the tensors are."""
    low, info = torch.linalg.cholesky_ex(sigma1)
    if int(info) == 0:
        m = low.T @ (sigma2 @ low)
    else:
        w, v = torch.linalg.eigh(sigma1)
        root = (v * w.clamp_min(0).sqrt()) @ v.T
        m = root @ sigma2 @ root
    m = (m + m.T) / 2
    tr_covmean = torch.linalg.eigvalsh(m).clamp_min(0).sqrt().sum()
    diff = mu1 - mu2
    return float(diff @ diff + sigma1.trace() + sigma2.trace() - 2 * tr_covmean)


def random_stats(d: int, seed: int = 0) -> tuple[list, list]:
    """Two random full-rank Gaussians (A A^T / d + 1e-3 I), as tools/bench_fid.py builds them."""
    import numpy as np

    rng = np.random.default_rng(seed)
    mus, covs = [], []
    for scale in (1.0, 1.3):
        a = rng.standard_normal((d, d)) * scale
        covs.append(a @ a.T / d + 1e-3 * np.eye(d))
        mus.append(rng.standard_normal(d) * 0.1)
    return mus, covs


def timed(fn: Callable[[], float], device: str = "cpu", repeats: int = 1) -> dict:
    """The value of ``fn`` and its best wall time over ``repeats`` runs (GPU work included)."""
    best, value = math.inf, math.nan
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        value = fn()
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return {"value": value, "seconds": round(best, 4)}


def frechet_timing(d: int, device: str, with_scipy: bool = True) -> dict:
    """The Frechet distance at dimension d: float64 torch on ``device`` (best of 3 after a warm-up)
    against ganzoo's NumPy eigenvalue method and scipy's sqrtm (pytorch-fid's formula), CPU."""
    from ganzoo.metrics.fid import frechet_distance

    mus, covs = random_stats(d)
    res: dict[str, Any] = {"status": "ok", "d": d}
    res["numpy_eig_cpu"] = timed(lambda: frechet_distance(mus[0], covs[0], mus[1], covs[1]))
    if with_scipy:
        res["scipy_sqrtm_cpu"] = timed(
            lambda: frechet_distance(mus[0], covs[0], mus[1], covs[1], exact_sqrtm=True))
    tensors = [torch.as_tensor(x, dtype=torch.float64, device=device)
               for x in (mus[0], covs[0], mus[1], covs[1])]
    frechet_torch(*tensors)  # warm-up: kernels and solver workspaces
    res[f"torch_{torch.device(device).type}"] = ours = timed(lambda: frechet_torch(*tensors), device, 3)
    ref = res["numpy_eig_cpu"]["value"]
    res["relative_difference"] = abs(ours["value"] - ref) / abs(ref)
    return res


def fid_section(report: dict, args: argparse.Namespace, budget: Budget, cuda: bool,
                save: Callable[[], None]) -> None:
    """Feature extraction and the Frechet distance on the GPU; without CUDA, the CPU side of the
    Frechet comparison at a small d (so its code path is still exercised)."""
    fid = report["fid"] = {}
    device, d = ("cuda", args.fid_dim) if cuda else ("cpu", args.cpu_fid_dim)
    items = [("features", "fid_features",
              lambda e: e.update(fid_features(args.out / "fid", args.fid_images, args.fid_batch, device))),
             ("frechet", "frechet", lambda e: e.update(frechet_timing(d, device)))]
    for key, kind, fn in items:
        entry = fid[key] = {"status": "pending"}
        if key == "features" and not cuda:
            entry.update(status="skipped", reason=NO_CUDA)
            note(report, "fid", "Inception feature extraction images/s", NO_CUDA)
        elif not budget.allows("fid", kind):
            entry.update(status="skipped", reason=TIME_BUDGET)
        else:
            attempt(entry, lambda: fn(entry))
            budget.record(kind, entry["seconds"])
            say(budget, f"fid {key}: {entry['status']}")
        save()
    if not cuda:
        note(report, "fid", f"Frechet distance on the GPU at d = {args.fid_dim} (ran on the CPU "
                            f"at d = {d} instead)", NO_CUDA)
    shutil.rmtree(args.out / "fid", ignore_errors=True)


# -- the report ----------------------------------------------------------------------------------------
def note(report: dict, section: str, what: str, why: str) -> None:
    """Record (and say) something that did not run and why."""
    report["skipped"].append({"section": section, "what": what, "why": why})
    print(f"skipped {section}: {what} ({why})", flush=True)


def environment() -> dict:
    """Where the numbers come from: a GPU figure means little without its device and versions."""
    env: dict[str, Any] = {
        "python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
        "cpu_count": os.cpu_count(), "cuda_available": torch.cuda.is_available(),
        "cuda": torch.version.cuda, "CUBLAS_WORKSPACE_CONFIG": os.environ.get("CUBLAS_WORKSPACE_CONFIG")}
    try:
        import ganzoo

        env["ganzoo"] = ganzoo.__version__
    except ImportError:
        env["ganzoo"] = None
    if env["cuda_available"]:
        props = torch.cuda.get_device_properties(0)
        env.update(device=props.name, capability=f"{props.major}.{props.minor}",
                   memory_gib=round(props.total_memory / 2**30, 1),
                   bf16=torch.cuda.is_bf16_supported(), cudnn=torch.backends.cudnn.version(),
                   device_count=torch.cuda.device_count())
    return env


def cell_text(text: str) -> str:
    """Text that cannot break a Markdown table row (error messages may hold '|' or newlines)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def zoo_cell(entry: dict | None) -> str:
    """One run in a table cell: outcome, steps/s, peak memory."""
    if entry is None:
        return "n/a"
    status = entry.get("status")
    if status == "ok":
        sps, mem = entry.get("steps_per_s"), entry.get("peak_mem_mib")
        parts = ["ok"] + ([f"{sps:.0f} steps/s"] if sps is not None else [])
        return ", ".join(parts + ([f"{mem:.0f} MiB"] if mem is not None else []))
    if status == "error":
        return f"error: {cell_text(entry.get('error', ''))}"
    if status == "skipped":
        return f"skipped: {entry.get('reason', '')}"
    return cell_text(status or "not run")


def zoo_table(entries: list[dict], modes: list[str]) -> list[str]:
    """Config by mode: every zoo run of the report in one table."""
    if not entries:
        return []
    configs = list(dict.fromkeys(e["config"] for e in entries))
    by_key = {(e["config"], e["mode"]): e for e in entries}
    counts = {s: sum(e.get("status") == s for e in entries) for s in ("ok", "error", "skipped")}
    lines = ["## Zoo configs on CUDA", "",
             f"{counts['ok']} ok, {counts['error']} failed, {counts['skipped']} skipped of "
             f"{len(entries)} runs (n/a: channels_last on 2-D points).", "",
             "| config | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
    for c in configs:
        lines.append(f"| {c} | " + " | ".join(zoo_cell(by_key.get((c, m))) for m in modes) + " |")
    return lines + [""]


def speed_table(entries: list[dict]) -> list[str]:
    """ganzoo against plain PyTorch, images/s and the median per-round ratio."""
    if not entries:
        return []
    lines = ["## Speed: ganzoo vs plain PyTorch", "",
             "| benchmark | batch | ganzoo images/s | plain images/s | ganzoo/plain (median of rounds) "
             "| rounds |", "|---|---|---|---|---|---|"]
    for e in entries:
        if e.get("status") == "ok":
            lines.append(f"| {e['name']} | {e['batch']} | {e['ganzoo_images_per_s']:.1f} | "
                         f"{e['plain_images_per_s']:.1f} | {e['ratio']:.3f} | {len(e['rounds'])} |")
        else:
            lines.append(f"| {e['name']} | {e['batch']} | {zoo_cell(e)} | | | |")
    return lines + [""]


def resume_fid_lines(resume: dict | None, fid: dict | None) -> list[str]:
    """The resume verdict and the FID figures, a few lines each."""
    lines = []
    if resume:
        if resume.get("status") in ("ok", "mismatch"):
            verdict = ("bit-identical" if resume["identical"] else
                       f"DIFFERENT ({resume['n_differing']} of {resume['tensors']} tensors, max |diff| "
                       f"{resume['max_abs_diff']:.3g})")
            text = f"{resume['config']}, {resume['steps'][0]} steps straight vs {resume['steps'][1]} + resume + {resume['steps'][2]}: {verdict}"
        else:
            text = f"{resume.get('config')}: {zoo_cell(resume)}"
        lines += ["## Resume on CUDA (deterministic algorithms)", "", text, ""]
    if fid:
        lines += ["## FID on the GPU", ""]
        f = fid.get("features", {})
        if f.get("status") == "ok":
            rates = ", ".join(f"{k} {v:.0f}" for k, v in f["images_per_s"].items())
            lines.append(f"- Inception features ({f['device']}, batch {f['batch']}, {f['input_px']} px "
                         f"inputs): {rates} images/s")
        else:
            lines.append(f"- Inception features: {zoo_cell(f)}")
        fr = fid.get("frechet", {})
        if fr.get("status") == "ok":
            parts = [f"{k} {v['value']:.10g} in {v['seconds']:.3g} s" for k, v in fr.items()
                     if isinstance(v, dict)]
            lines.append(f"- Frechet distance at d = {fr['d']}: " + "; ".join(parts)
                         + f" (relative difference torch vs numpy {fr['relative_difference']:.2g})")
        else:
            lines.append(f"- Frechet distance: {zoo_cell(fr)}")
        lines.append("")
    return lines


def markdown_report(report: dict) -> str:
    """The whole report as Markdown: where it ran, then one table or paragraph per section."""
    env, st = report.get("environment", {}), report.get("settings", {})
    where = (f"{env['device']} ({env.get('memory_gib')} GiB), CUDA {env.get('cuda')}" if env.get("device")
             else "no CUDA device")
    lines = ["# ganzoo GPU check", "",
             f"{where}; torch {env.get('torch')}, Python {env.get('python')}, ganzoo {env.get('ganzoo')}. "
             f"Started {report.get('started')}, {report.get('elapsed_s')} s of a {st.get('budget_s')} s "
             f"budget; {st.get('steps')} steps per zoo run. Command: `{report.get('command')}`", ""]
    lines += zoo_table(report.get("zoo", []), st.get("modes", list(MODES)))
    lines += speed_table(report.get("speed", []))
    lines += resume_fid_lines(report.get("resume"), report.get("fid"))
    if report.get("skipped"):
        lines += ["## Not run here", ""]
        lines += [f"- {s['section']}: {s['what']} ({s['why']})" for s in report["skipped"]]
        lines.append("")
    return "\n".join(lines)


def write_report(report: dict, out: Path, budget: Budget) -> None:
    """report.json and report.md, each written atomically (a killed slot never leaves half a file)."""
    from ganzoo.fileio import atomic_write_text

    report["elapsed_s"] = round(budget.elapsed(), 1)
    atomic_write_text(out / "report.json", json.dumps(jsonable(report), indent=2) + "\n", durable=False)
    atomic_write_text(out / "report.md", markdown_report(report), durable=False)


def failures(report: dict) -> list[str]:
    """Every item that ran and failed (errors, a resume mismatch), for the exit status."""
    items = [*report.get("zoo", []), *report.get("speed", []), report.get("resume") or {},
             *(report.get("fid") or {}).values()]
    return [str(e.get("config") or e.get("name") or "fid") + (f" {e['mode']}" if "mode" in e else "")
            for e in items if e.get("status") in ("error", "mismatch")]


# -- main -------------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Options, with subsets (modes, configs, sections) for a second slot that reruns a part."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("gpu_check_out"), help="report folder")
    p.add_argument("--budget-s", type=float, default=450.0, help="wall-clock budget in seconds")
    p.add_argument("--steps", type=int, default=30, help="steps per zoo run")
    p.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of " + ",".join(MODES))
    p.add_argument("--configs", default="", help="comma-separated zoo config names (default: all)")
    p.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated subset of " + ",".join(SECTIONS))
    p.add_argument("--bench-steps", type=int, default=50, help="timed steps per side per round")
    p.add_argument("--bench-rounds", type=int, default=3)
    p.add_argument("--resume-steps", type=int, default=20, help="N of 2N vs N + resume + N")
    p.add_argument("--resume-config", default=str(ROOT / "zoo_configs" / "dcgan.yaml"))
    p.add_argument("--fid-images", type=int, default=2000)
    p.add_argument("--fid-batch", type=int, default=200)
    p.add_argument("--fid-dim", type=int, default=2048, help="Frechet distance dimension on the GPU")
    p.add_argument("--cpu-fid-dim", type=int, default=256, help="... on a machine without CUDA")
    p.add_argument("--keep-runs", action="store_true", help="keep the zoo run folders under OUT/runs")
    args = p.parse_args(argv)
    args.modes = [m for m in args.modes.split(",") if m]
    args.configs = [c for c in args.configs.split(",") if c]
    args.sections = [s for s in args.sections.split(",") if s]
    for name, given, known in (("mode", args.modes, MODES), ("section", args.sections, SECTIONS)):
        if set(given) - set(known):
            p.error(f"unknown {name}(s) {sorted(set(given) - set(known))}; choose from {', '.join(known)}")
    args.out = args.out.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the sections in order inside the budget; the report is written from the first second."""
    args = parse_args(argv)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # before CUDA starts: resume check
    budget = Budget(args.budget_s)
    problem = install_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    cuda = torch.cuda.is_available()
    report: dict[str, Any] = {
        "tool": "tools/gpu_check.py",
        "command": " ".join(["python tools/gpu_check.py", *(sys.argv[1:] if argv is None else argv)]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "environment": environment(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "zoo": [], "speed": [], "resume": None, "fid": {}, "skipped": []}

    def save() -> None:
        write_report(report, args.out, budget)

    save()
    watchdog = start_watchdog(args.budget_s + HARD_STOP_GRACE_S, report, args.out, budget)
    if not cuda:
        print(f"{NO_CUDA}: running only what applies on the CPU", flush=True)
    sections = {"zoo": zoo_section, "speed": speed_section, "resume": resume_section, "fid": fid_section}
    for name in SECTIONS:
        if name in args.sections:
            sections[name](report, args, budget, cuda, save)
    watchdog.cancel()
    save()
    failed = failures(report)
    say(budget, f"report: {args.out / 'report.json'} and {args.out / 'report.md'}; "
                f"{len(failed)} failed" + (f": {', '.join(failed[:10])}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
