"""Importing weights trained elsewhere (``ganzoo import FILE -o DIR``) as a ganzoo export folder.

* :mod:`.safe_pickle`: a restricted unpickler for NVIDIA's network pickles (data only, no code);
* :mod:`.stylegan2_ada`: NVIDIA StyleGAN2-ADA snapshots -> ``stylegan2`` / ``stylegan2_conditional``;
* :mod:`.biggan_hf`: ``pytorch-pretrained-biggan`` folders (weights + config.json) -> ``biggan_deep``;
* :mod:`.rosinality`: rosinality/stylegan2-pytorch checkpoints (``g_ema``, ``latent_avg``) ->
  ``stylegan2``.

Each importer returns an :class:`ImportedModel` (variant, options, image shape, classes and
the weights renamed to ganzoo's networks); :func:`write_import` builds the variant, loads the
weights strictly (every tensor must fit) and writes the folder with ``ganzoo.export.export_run``,
plus ``discriminator.safetensors`` when the source had a discriminator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import GanzooError
from .base import ImportedModel, load_state

__all__ = [
    "FORMATS",
    "ImportedModel",
    "discriminator_of",
    "load_discriminator",
    "load_state",
    "read_model",
    "write_import",
]

FORMATS = ("stylegan2-ada", "biggan-hf", "rosinality")
DISCRIMINATOR = "discriminator.safetensors"


def detect_format(path: Path) -> tuple[str, Any]:
    """The format of ``path`` from its contents (and the state dict, if it had to be loaded to
    tell), or one line asking for ``--format``."""
    from . import biggan_hf, rosinality, stylegan2_ada

    if path.is_dir():
        if (path / biggan_hf.WEIGHTS).is_file():
            return "biggan-hf", None
        raise GanzooError(f"{path}: a folder without {biggan_hf.WEIGHTS}; give a weights file")
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise GanzooError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if stylegan2_ada.looks_like(head):
        return "stylegan2-ada", None
    if head[:2] == b"PK" or head[:1] == b"\x80":  # torch.save: zip, or the legacy pickle stream
        state = load_state(path)
        for name, module in (("biggan-hf", biggan_hf), ("rosinality", rosinality)):
            if module.looks_like(state):
                return name, state
    raise GanzooError(f"{path}: cannot tell its format from its contents; give --format "
                      f"({', '.join(FORMATS)})")


def read_model(path: Path, fmt: str | None = None) -> ImportedModel:
    """The model of ``path`` in format ``fmt`` (detected when None)."""
    from . import biggan_hf, rosinality, stylegan2_ada

    path = Path(path)
    if not path.exists():
        raise GanzooError(f"{path}: no such file; give the weights file to import")
    state = None
    if fmt is None:
        fmt, state = detect_format(path)
    if fmt == "stylegan2-ada":
        if path.is_dir():
            raise GanzooError(f"{path} is a folder; give the network pickle")
        return stylegan2_ada.read(path)
    if fmt == "biggan-hf":
        return biggan_hf.read(path, state)
    if fmt == "rosinality":
        return rosinality.read(path, state)
    raise GanzooError(f"--format {fmt}: unknown; use one of {', '.join(FORMATS)}")


def run_config(model: ImportedModel) -> dict[str, Any]:
    """A run config that rebuilds the variant (its data section names a folder of images of the
    right size, for a later fine-tuning run to point at real data)."""
    channels, size, _ = model.image_shape
    data = {"name": "class_folder" if model.num_classes else "image_folder", "image_size": size}
    if channels in (1, 3):
        data["channels"] = channels
    return {"run": {"name": f"import-{model.source.stem}"[:80]},
            "variant": {"name": model.variant, **model.options}, "data": data}


def build_trained(model: ImportedModel):
    """A :class:`~ganzoo.inference.TrainedRun` with the imported weights loaded strictly."""
    from ..config import config_from_dict
    from ..data.base import DataInfo
    from ..inference import TrainedRun
    from ..plugins import get_registry
    from ..safety import build_variant_safely

    cfg = config_from_dict(run_config(model), file=f"{model.source} (imported)")
    classes = model.num_classes
    info = DataInfo(name=f"imported:{model.source.name}", kind="images", shape=model.image_shape,
                    num_classes=classes, class_names=tuple(str(i) for i in range(classes or 0)))
    variant_cls = get_registry().get("variants", cfg.variant.name)
    variant = build_variant_safely(variant_cls, cfg.variant, info, file=cfg.source)
    if model.estimate_w_avg:
        model.g_state["w_avg"] = variant.G.w_avg.detach().clone()
    _load_strict(variant.G, model.g_state, model.source, "generator")
    if model.estimate_w_avg:
        from .rosinality import estimate_w_avg

        variant.G.w_avg.copy_(estimate_w_avg(variant))
    if model.d_state is not None:
        _load_strict(variant.D, model.d_state, model.source, "discriminator")
    variant.eval()
    return TrainedRun(cfg, variant, info, model.source, 0, False)


def _load_strict(net: Any, state: dict[str, Any], source: Path, what: str) -> None:
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = " ".join(str(exc).split())[:300]
        raise GanzooError(f"{source}: its {what} does not fit the network its recorded "
                          f"architecture builds ({first})") from None


def card_lines(model: ImportedModel) -> list[str]:
    """Model-card lines naming the source, the format and the licence."""
    return ["## Source", "", f"Imported with `ganzoo import` from `{model.source.name}` "
            f"(format `{model.source_format}`, code: {model.source_url}).", "",
            f"Licence: {model.licence}. Check the licence of these weights before any use; "
            f"ganzoo's own licence does not cover them.", "", *model.notes]


def write_import(model: ImportedModel, out: Path, force: bool = False) -> Path:
    """The export folder ``out`` of the imported model (and its discriminator, if any)."""
    from ..export import export_run, weights_bytes

    trained = build_trained(model)
    extra = {}
    if model.d_state is not None:  # listed and checksummed in the manifest like the generator
        state = {k: v.detach().cpu().contiguous().clone() for k, v in trained.variant.D.state_dict().items()}
        extra[DISCRIMINATOR] = weights_bytes(state)
    export_run(trained, None, out, [], force=force, card_extra=card_lines(model), extra_files=extra)
    return Path(out)


def load_discriminator(folder: str | Path, variant: Any) -> bool:
    """Load ``discriminator.safetensors`` of an imported folder into ``variant.D``; False if the
    folder has none."""
    from ..export import load_weights

    path = Path(folder) / DISCRIMINATOR
    if not path.is_file():
        return False
    _load_strict(variant.D, load_weights(path), path, "discriminator")
    return True


def discriminator_of(folder: str | Path):
    """The discriminator of an imported folder (eval mode), or one line if it has none."""
    from ..inference import load_export

    trained = load_export(folder)
    if not load_discriminator(folder, trained.variant):
        raise GanzooError(f"{folder}: no {DISCRIMINATOR}; the imported file had no discriminator")
    return trained.variant.D.eval()
