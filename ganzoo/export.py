"""Sharing a trained generator: a folder that rebuilds it without the data set or the checkpoint.

``ganzoo export RUN_DIR -o DIR`` writes

* ``generator.safetensors``: ``generator_net()``'s state dict, the EMA average when the run kept
  one (safetensors: loading it never runs code, unlike a pickle);
* ``config.yaml``: the run's resolved config; ``data_info.json``: the data set's
  :class:`~ganzoo.data.DataInfo` (kind, shape, classes), so the variant is rebuilt without the
  data (its ``root`` is left out: a path on the exporting machine);
* ``export.json``: the format marker, the source run, step, which weights, each file's SHA-256;
* ``README.md``: a model card (variant, data, steps, recorded scores with their protocol, usage);
* optionally ``generator.torchscript.pt`` (``torch.jit.trace``) and ``generator.onnx``
  (``torch.onnx.export(dynamo=True)``, the ``ganzoo[onnx]`` extra), both checked against the
  eager generator before they are written.

A new DIR is written in a temporary folder beside it and renamed at the end, so it appears
whole or not at all. ``--force`` over an earlier export replaces only the files that export wrote
and listed in its manifest, still unchanged (checksums); anything else in DIR is kept, and a DIR
that is or holds a run folder is never touched.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import __version__
from .errors import CheckpointError, GanzooError

FORMAT = "ganzoo-export"
FORMAT_VERSION = 1
WEIGHTS, CONFIG, DATA_INFO, MANIFEST, CARD = (
    "generator.safetensors", "config.yaml", "data_info.json", "export.json", "README.md")
TORCHSCRIPT, ONNX = "generator.torchscript.pt", "generator.onnx"
FORMATS = ("torchscript", "onnx")
#: an exported program may differ from the eager generator by float rounding, not more
MAX_EXPORT_DIFF = 1e-4


# -- data info ------------------------------------------------------------------------------------
def data_info_dict(info: Any) -> dict[str, Any]:
    """DataInfo as JSON: its fields, extras that are plain JSON (less the data's location)."""
    extras = {}
    for key, value in (info.extras or {}).items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        if key != "root":
            extras[key] = value
    return {"name": info.name, "kind": info.kind, "shape": list(info.shape),
            "num_classes": info.num_classes, "class_names": list(info.class_names), "extras": extras}


def data_info_from_dict(data: Any, path: Path):
    """The DataInfo of ``data_info.json``, or one line naming the file and the bad field."""
    from .data.base import DataInfo

    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"{path}: {what}; export the run again with 'ganzoo export'")

    if not isinstance(data, dict):
        raise bad("not a JSON object")
    for key, kinds in (("name", str), ("kind", str), ("shape", list), ("class_names", list),
                       ("extras", dict)):
        if not isinstance(data.get(key), kinds):
            raise bad(f"'{key}' is missing or not a {kinds.__name__}")
    shape, k = data["shape"], data.get("num_classes")
    if not shape or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
        raise bad(f"'shape' must be positive whole numbers, got {shape}")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < 1):
        raise bad(f"'num_classes' must be a positive whole number or null, got {k!r}")
    return DataInfo(name=data["name"], kind=data["kind"], shape=tuple(shape), num_classes=k,
                    class_names=tuple(str(c) for c in data["class_names"]), extras=data["extras"])


# -- weights --------------------------------------------------------------------------------------
def generator_state(variant: Any) -> dict[str, torch.Tensor]:
    """``generator_net()``'s state dict as contiguous CPU tensors with their own storage
    (safetensors refuses shared or strided ones)."""
    return {k: v.detach().cpu().contiguous().clone() for k, v in variant.generator_net().state_dict().items()}


def weights_bytes(state: dict[str, torch.Tensor]) -> bytes:
    from safetensors.torch import save

    return save(state, metadata={"format": FORMAT, "ganzoo_version": __version__})


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file (no code runs), or one line naming the file."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        return load(path.read_bytes())
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0][:160]
        raise CheckpointError(f"{path}: not a readable safetensors file ({reason}); export the "
                              f"run again") from None


def load_generator(variant: Any, path: Path) -> None:
    """``variant.generator_net()`` with the weights of ``path``, or one line saying why not."""
    try:
        variant.generator_net().load_state_dict(load_weights(path))
    except RuntimeError as exc:
        first = next((line.strip() for line in str(exc).splitlines()[1:] if line.strip()), str(exc))
        raise CheckpointError(f"{path}: the weights do not fit the network its config.yaml builds "
                              f"({first[:200]}); export the run again") from None


# -- traced programs ------------------------------------------------------------------------------
def export_ready(net: nn.Module) -> nn.Module:
    """A copy in eval mode with parametrizations (spectral norm) folded into plain weights: the
    same outputs in eval mode, and a graph both exporters accept (ONNX has no ``vdot``).

    Not ``remove_parametrizations``: it deletes the property from the parametrized class, which
    a deep copy shares with the original, and would break the live generator."""
    from torch.nn.utils import parametrize

    net = copy.deepcopy(net).eval()
    with torch.no_grad():
        for module in list(net.modules()):
            if not parametrize.is_parametrized(module):
                continue
            values = {name: getattr(module, name).detach().clone() for name in module.parametrizations}
            module.__class__ = module.__class__.__bases__[0]  # the class before parametrization
            del module._modules["parametrizations"]
            for name, value in values.items():
                module.register_parameter(name, nn.Parameter(value, requires_grad=False))
    return net


def example_inputs(variant: Any, info: Any, n: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Fixed generator inputs: ``(z,)``, or ``(z, labels)`` (int64, every class in turn)."""
    net = variant.generator_net()
    z = net.sample_latent(n, device="cpu", generator=torch.Generator().manual_seed(seed))
    if variant.conditional and info.num_classes:
        return z, torch.arange(n) % info.num_classes
    return (z,)


def check_exported(name: str, run: Any, reference: nn.Module, inputs: tuple[torch.Tensor, ...]) -> float:
    """Largest difference between ``run(*inputs)`` and the eager generator; refuse a program
    that does not reproduce it (data-dependent control flow traced away, an op exported wrongly)."""
    with torch.no_grad():
        expected = reference(*inputs)
    diff = float((torch.as_tensor(run(*inputs)) - expected).abs().max())
    if not diff <= MAX_EXPORT_DIFF:
        raise GanzooError(f"--format {name}: the exported generator differs from the eager one by "
                          f"{diff:.3g} (more than {MAX_EXPORT_DIFF}); this generator cannot be "
                          f"exported that way, leave '{name}' out of --format")
    return diff


def torchscript_bytes(net: nn.Module, inputs: tuple[torch.Tensor, ...], check: tuple) -> tuple[bytes, float]:
    """``torch.jit.trace`` of ``net`` on ``inputs``, saved, reloaded and checked on ``check``
    (another batch size, so a batch size baked into the trace is caught)."""
    import io

    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch.jit is deprecated in favour of torch.export
        torch.jit.save(torch.jit.trace(net, inputs, check_trace=False), buffer)
        data = buffer.getvalue()
        loaded = torch.jit.load(io.BytesIO(data))
        diff = check_exported("torchscript", loaded, net, check)
    return data, diff


def onnx_input_names(inputs: tuple[torch.Tensor, ...]) -> list[str]:
    return ["z", "labels"][:len(inputs)]


def onnx_bytes(net: nn.Module, inputs: tuple[torch.Tensor, ...], check: tuple) -> tuple[bytes, float | None]:
    """``torch.onnx.export(dynamo=True)`` with a dynamic batch dimension; checked with
    onnxruntime on ``check`` when it is installed (None: not checked)."""
    import contextlib
    import io

    import logging

    names = onnx_input_names(inputs)
    batch = torch.export.Dim("batch")
    quiet = logging.getLogger("torch.onnx")  # "torchvision is not installed", progress lines
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(net, inputs, None, dynamo=True, verbose=False, report=False,
                                        input_names=names, output_names=["images"],
                                        dynamic_shapes=tuple({0: batch} for _ in inputs))
    finally:
        quiet.setLevel(level)
    data = program.model_proto.SerializeToString()
    if importlib.util.find_spec("onnxruntime") is None:
        return data, None
    # onnxruntime otherwise keeps a telemetry device id under ~/.cache/Microsoft: nothing of
    # ganzoo's is written outside the export folder and ganzoo's own cache
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])

    def run(*tensors: torch.Tensor) -> torch.Tensor:
        feeds = {name: t.numpy() for name, t in zip(names, tensors)}
        return torch.from_numpy(session.run(None, feeds)[0])

    return data, check_exported("onnx", run, net, check)


def check_formats(formats: list[str], variant: Any, name: str) -> None:
    """Refuse, before any work, a format this run or this installation cannot produce."""
    if formats and variant.translates:
        raise GanzooError(f"--format {formats[0]}: variant '{name}' translates images and has no "
                          f"noise-to-image generator to trace; its generators' weights are in "
                          f"{WEIGHTS}; leave --format out")
    if "onnx" in formats:
        missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
        if missing:
            raise GanzooError(f"--format onnx needs {' and '.join(missing)}: pip install "
                              f"'ganzoo[onnx]' (or leave onnx out of --format)")


def program_files(variant: Any, info: Any, formats: list[str]) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The traced programs asked for, and how closely each reproduces the eager generator."""
    files: dict[str, bytes] = {}
    checks: dict[str, Any] = {}
    if not formats:
        return files, checks
    net = export_ready(variant.generator_net()).cpu().float()
    inputs, check = example_inputs(variant, info, 2), example_inputs(variant, info, 3, seed=1)
    if "torchscript" in formats:
        files[TORCHSCRIPT], checks["torchscript"] = torchscript_bytes(net, inputs, check)
    if "onnx" in formats:
        files[ONNX], checks["onnx"] = onnx_bytes(net, inputs, check)
    return files, checks


# -- the model card -------------------------------------------------------------------------------
def recorded_scores(run_dir: Path | None) -> list[dict[str, Any]]:
    """The run's scores with their protocol: ``eval.jsonl`` (``ganzoo eval``) and the ``eval:``
    block's records in ``log.jsonl``; unreadable lines are skipped."""
    found: list[dict[str, Any]] = []
    if run_dir is None:
        return found
    for name, wanted in (("eval.jsonl", None), ("log.jsonl", "eval_record")):
        path = Path(run_dir) / name
        try:
            lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
        except (OSError, UnicodeDecodeError):
            continue
        for line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "metric" in record and record.get("kind") == wanted:
                found.append({**record, "recorded_in": name})
    return found


def _score_row(r: dict[str, Any]) -> str:
    p = r.get("protocol") or {}
    ext = p.get("extractor") or "-"
    if p.get("extractor_weights_sha256"):
        ext += f" (weights {str(p['extractor_weights_sha256'])[:12]})"
    value = r.get("value")
    shown = f"{value:.6g}" if isinstance(value, (int, float)) else str(value)
    split = r.get("real_split") or "-"
    return (f"| {r.get('metric')} | {shown} | {r.get('step', '-')} | {ext} | {p.get('feature_dims', '-')} "
            f"| {p.get('n_fake', '-')} / {p.get('n_real', '-')} | {split} | {p.get('seed', '-')} "
            f"| {p.get('ganzoo_version', '-')} | {r['recorded_in']} |")


def scores_section(records: list[dict[str, Any]]) -> list[str]:
    if not records:
        return ["No scores were recorded for this run (`ganzoo eval RUN_DIR` or an `eval:` block "
                "in the run config records them)."]
    lines = ["| metric | value | step | extractor | feature dims | n fake / real | real split | seed "
             "| ganzoo | recorded in |", "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [_score_row(r) for r in records]
    notes = sorted({n for r in records for n in (r.get("protocol") or {}).get("notes", [])})
    lines += ["", *[f"- note: {n}" for n in notes]] if notes else []
    return lines


#: what ``ganzoo translate`` needs besides INPUT and -o, by the data kind the model maps
_TRANSLATE_OPTIONS = {"unpaired": " --direction AtoB", "multi_domain": " --domain 0"}


def translation_usage(folder: str, info: Any) -> list[str]:
    """How to translate with an exported translation model (CycleGAN; the command line also
    for paired and multi-domain ones)."""
    if info.kind != "unpaired":
        return ["```bash", f"ganzoo translate {folder} INPUT -o OUTPUT"
                f"{_TRANSLATE_OPTIONS.get(info.kind, '')}", "```"]
    return ["```bash", f"ganzoo translate {folder} INPUT -o OUTPUT --direction AtoB", "```", "",
            "```python", "from ganzoo.inference import load_export", "",
            f'model = load_export("{folder}")  # rebuilt from config.yaml + data_info.json',
            f"fake_b = model.variant.translate(images_a, \"AtoB\")  # (N, {info.channels}, H, W) "
            f"in [-1, 1], H and W multiples of 4", "```"]


def usage_section(folder: str, variant: Any, info: Any, files: list[str]) -> list[str]:
    """How to sample the folder: the CLI line, Python, and the traced programs' inputs."""
    if variant.translates:
        return translation_usage(folder, info)
    conditional = bool(variant.conditional and info.num_classes)
    z_dim = variant.generator_net().z_dim
    call = "model.variant.sample(16, generator=torch.Generator().manual_seed(0)" + (
        ", labels=torch.full((16,), 0))" if conditional else ")")
    lines = ["```bash", f"ganzoo sample {folder} -n 16 -o grid.png", "```", "",
             "```python", "import torch", "from ganzoo.inference import load_export", "",
             f'model = load_export("{folder}")  # rebuilt from config.yaml + data_info.json',
             f"images = {call}  # (16, {', '.join(map(str, info.shape))}) in [-1, 1]", "```"]
    inputs = f"`z` (N, {z_dim}) float32" + (" and `labels` (N,) int64" if conditional else "")
    for name, how in ((TORCHSCRIPT, "torch.jit.load"), (ONNX, "onnxruntime.InferenceSession")):
        if name in files:
            lines += ["", f"`{name}` ({how}): inputs {inputs}, output the generator's images (N, "
                          f"{', '.join(map(str, info.shape))}), as `generator_net()` returns them."]
    return lines


def model_card(trained: Any, run_dir: Path | None, folder: str, files: list[str],
               extra: list[str] | None = None) -> str:
    cfg, variant, info = trained.config, trained.variant, trained.info
    classes = f", {info.num_classes} classes" + (f" ({', '.join(info.class_names)})" if info.class_names else "") \
        if info.num_classes else ""
    weights = ("the moving average (EMA) of the generator's weights" if trained.averaged
               else "the generator's weights as trained")
    lines = [f"# {cfg.run.name}: {cfg.variant.name} on {cfg.data.name}", "",
             f"Exported by ganzoo {__version__} with `ganzoo export`.", "", "| | |", "|---|---|",
             f"| variant | `{cfg.variant.name}` |",
             f"| data set | `{info.name}`: {info.kind} {' x '.join(map(str, info.shape))}{classes} |",
             f"| steps trained | {trained.step} |",
             f"| checkpoint | `{Path(str(trained.checkpoint)).name}` |",
             f"| weights | {weights} |", "", "## Scores", "", *scores_section(recorded_scores(run_dir)),
             "", "## Files", "", *[f"- `{name}`" for name in files], "", "## Use", "",
             *usage_section(folder, variant, info, files), "", *(extra or [])]
    return "\n".join(lines)


# -- writing the folder ---------------------------------------------------------------------------
def _manifest_of(out: Path) -> dict[str, Any] | None:
    """The earlier export's manifest in ``out`` (None if there is none or it is not ours)."""
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return None
    return manifest if isinstance(manifest.get("sha256"), dict) else None


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else None
    except OSError:
        return None


def exported_files(out: Path, manifest: dict[str, Any]) -> set[str]:
    """Names of the files in ``out`` that the earlier export wrote and that are unchanged since
    (listed in its manifest with the same SHA-256): the only files ``--force`` may replace or
    remove. Manifests before the model card was listed: its README.md counts while it still
    reads as the card ganzoo wrote."""
    found = {MANIFEST}
    for name, digest in manifest["sha256"].items():
        if isinstance(name, str) and "/" not in name and _sha256(out / name) == digest:
            found.add(name)
    card = out / CARD
    if CARD not in manifest["sha256"] and card.is_file() and not card.is_symlink():
        try:
            if "\nExported by ganzoo " in card.read_text(encoding="utf-8"):
                found.add(CARD)
        except (OSError, UnicodeDecodeError):
            pass
    return found


def check_destination(out: Path, force: bool, run_dir: Path | None) -> None:
    """Refuse, before any work, a DIR that holds something other than an earlier export, or
    (even with ``--force``) one that is or holds a run folder."""
    from .rundir import holds_a_run

    from .data.walk import entry_kind

    kind = entry_kind(out)
    if kind not in ("folder", "unreadable entry") or out.is_symlink() and kind != "folder":
        raise GanzooError(f"-o {out} is a {kind}; give a folder name for the export")
    if run_dir is not None:
        target, run = out.resolve(), Path(run_dir).resolve()
        if target == run or target in run.parents:
            raise GanzooError(f"-o {out} holds the run folder {run_dir}; give another folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not force:
        raise GanzooError(f"-o {out} exists and is not empty; give a new folder, or --force to "
                          f"replace an earlier export there")
    run = holds_a_run(out)
    if run is not None:
        raise GanzooError(f"-o {out} is or holds the run folder {run}; --force never replaces a "
                          f"run: give another folder")
    if _manifest_of(out) is None:
        raise GanzooError(f"-o {out}: --force replaces only a folder 'ganzoo export' wrote (with "
                          f"{MANIFEST}); this one is not, so it is kept: give another folder")


def _check_replaceable(out: Path, names: list[str], ours: set[str]) -> None:
    """Every file the new export writes over must be one the earlier export wrote, unchanged."""
    for name in names:
        if (out / name).exists() or (out / name).is_symlink():
            if name not in ours:
                raise GanzooError(f"-o {out}: {name} there was changed since the earlier export "
                                  f"(or not written by it), so --force keeps it: move it away or "
                                  f"give another folder")


def _write_new_folder(files: dict[str, bytes], out: Path) -> None:
    """A new (or empty) ``out``: everything in a temporary folder beside it, then one rename."""
    from .fileio import atomic_write_bytes

    tmp = out.parent / f".{out.name}.{os.getpid()}.tmp"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, data in files.items():
            atomic_write_bytes(tmp / name, data)
        os.replace(tmp, out)  # onto a missing or empty folder
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _update_folder(files: dict[str, bytes], out: Path, ours: set[str]) -> None:
    """An earlier export in ``out``: its unchanged files are moved aside, the new ones moved in
    (the manifest last), and the old ones deleted once all are in place; on a failure the old
    ones come back. Files the earlier export did not write (or that changed) stay untouched."""
    from .fileio import atomic_write_bytes

    tmp, old = out / f".export.{os.getpid()}.tmp", out / f".export.{os.getpid()}.old"
    _check_replaceable(out, list(files), ours)
    moved: list[str] = []
    try:
        for folder in (tmp, old):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
        for name, data in files.items():
            atomic_write_bytes(tmp / name, data)
        for name in sorted(ours & {p.name for p in out.iterdir()}):
            os.replace(out / name, old / name)
            moved.append(name)
        for name in sorted(files, key=lambda n: n == MANIFEST):
            os.replace(tmp / name, out / name)
    except BaseException:
        for name in moved:
            if (old / name).exists():
                os.replace(old / name, out / name)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def write_folder(files: dict[str, bytes], out: Path) -> None:
    """Write the export folder ``out`` whole: a new folder appears at once; an earlier export
    there has only its own unchanged files replaced (:func:`exported_files`). A link named
    ``out`` is followed, so nothing is left beside it."""
    from .fileio import write_error

    target = out.resolve() if out.is_symlink() else out
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        manifest = _manifest_of(target) if target.is_dir() else None
        if manifest is None or not any(target.iterdir()):
            _write_new_folder(files, target)
        else:
            _update_folder(files, target, exported_files(target, manifest))
    except OSError as exc:
        raise write_error(out, exc) from None


def export_files(trained: Any, run_dir: Path | None, out: Path, formats: list[str],
                 card_extra: list[str] | None = None,
                 extra_files: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Every file of the export folder, by name (the traced programs already checked); the
    manifest lists every other file's SHA-256, so a later ``--force`` knows what it wrote."""
    import yaml

    variant, info = trained.variant, trained.info
    files = {WEIGHTS: weights_bytes(generator_state(variant)),
             CONFIG: yaml.safe_dump(trained.config.to_dict(), sort_keys=False).encode(),
             DATA_INFO: (json.dumps(data_info_dict(info), indent=2) + "\n").encode()}
    programs, checks = program_files(variant, info, formats)
    files.update(programs)
    files.update(extra_files or {})  # e.g. an import's discriminator: listed and checksummed too
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "ganzoo_version": __version__,
                "variant": trained.config.variant.name, "data": info.name, "step": trained.step,
                "source_run": str(run_dir) if run_dir is not None else None,
                "checkpoint": Path(str(trained.checkpoint)).name,
                "weights": "ema" if trained.averaged else "live",
                "max_abs_diff_vs_eager": checks}
    files[CARD] = model_card(trained, run_dir, str(out), sorted([*files, CARD, MANIFEST]),
                             card_extra).encode()
    manifest["sha256"] = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    files[MANIFEST] = (json.dumps(manifest, indent=2) + "\n").encode()
    return files


def export_run(trained: Any, run_dir: Path | None, out: str | os.PathLike, formats: list[str],
               force: bool = False, card_extra: list[str] | None = None,
               extra_files: dict[str, bytes] | None = None) -> Path:
    """Write the export folder ``out`` for a loaded run (see the module docstring);
    ``card_extra`` lines (markdown) are added to the model card, e.g. an import's source, and
    ``extra_files`` (name: bytes) are written, listed and checksummed with the others."""
    out = Path(out)
    check_destination(out, force, run_dir)
    check_formats(formats, trained.variant, trained.config.variant.name)
    write_folder(export_files(trained, run_dir, out, formats, card_extra, extra_files), out)
    return out
