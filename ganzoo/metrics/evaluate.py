"""One entry point for scoring samples: used by the trainer and by ``ganzoo eval``.

:func:`evaluate` takes generated and real samples (images in [-1, 1] or 2-D points), computes
each metric input once (features, logits, statistics), caches the real side (in memory, and on
disk when ``real_stats_cache`` is given), and returns one record per metric with its protocol.
It never touches the global random state, so a trainer's exact resume is unaffected.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import types
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import GanzooError
from ..fileio import write_cache
from .base import Metric, MetricInputs, ScoreRecord
from .features import FeatureExtractor, get_extractor, to_unit

log = logging.getLogger(__name__)

CACHE_VERSION = 1
_MEMORY: dict[tuple[str, str], "_RealSide"] = {}
_MEMORY_MAX = 4


@dataclass
class _RealSide:
    stats: Any               # FIDStats
    features: np.ndarray | None
    source: str
    n: int | None


def _data_kind(fake: torch.Tensor, data_info: Any) -> str:
    kind = getattr(data_info, "kind", None)
    if fake.ndim == 2:
        return "points"
    if fake.ndim == 4:
        return "images"
    raise GanzooError(f"samples to evaluate must be images (N, C, H, W) or points (N, 2); got shape "
                      f"{tuple(fake.shape)} for data set '{getattr(data_info, 'name', '?')}' ({kind})")


def _applies(metric: Metric, kind: str, data_kind: str) -> bool:
    """A metric applies to the samples' kind, to the data's kind ("paired": outputs vs targets),
    and image metrics apply to image-to-image runs too."""
    if kind in metric.kinds or data_kind in metric.kinds:
        return True
    return kind == "images" and data_kind in ("paired", "multi_domain") and "images" in metric.kinds


def _build_metrics(names: list[str], kind: str, metric_options: dict[str, dict[str, Any]],
                   data_kind: str = "") -> list[Metric]:
    from ..plugins import get_registry, suggest

    registry = get_registry()
    known = registry.names("metrics")
    out = []
    for name in names:
        if name not in known:
            raise GanzooError(f"unknown metric '{name}'{suggest(name, known)}; known metrics: "
                              f"{', '.join(known) or 'none'}")
        cls = registry.get("metrics", name)
        try:
            metric = cls(**metric_options.get(name, {}))
        except TypeError as exc:
            raise GanzooError(f"bad options for metric '{name}': {exc}") from None
        if not _applies(metric, kind, data_kind):
            raise GanzooError(f"metric '{name}' applies to {' and '.join(metric.kinds)} data, not to "
                              f"{data_kind or kind}")
        out.append(metric)
    return out


def _options_json(data_info: Any, data_source: Any) -> str:
    opts = getattr(data_source, "options", None)
    if opts is not None and hasattr(opts, "model_dump"):
        return json.dumps(opts.model_dump(mode="json"), sort_keys=True, default=str)
    return json.dumps((getattr(data_info, "extras", None) or {}).get("options", {}), sort_keys=True, default=str)


def choose_extractor(kind: str, data_info: Any, weights: str | os.PathLike | None = None) -> tuple[str, list[str]]:
    """The default extractor name and notes: raw for points; Inception when its weights are on this
    machine; else the data set's own classifier for labelled images (never a silent download)."""
    if kind == "points":
        return "raw", []
    from .inception import WEIGHTS_ENV, WEIGHTS_URL, default_weights_path, find_weights

    if find_weights(weights) is not None:
        return "inception", []
    name = getattr(data_info, "name", "?")
    how = (f"download {WEIGHTS_URL} to {default_weights_path()} (or set {WEIGHTS_ENV}, or pass "
           f"extractor='inception' to download it)")
    if getattr(data_info, "num_classes", None):
        note = (f"Inception weights not found, so features come from classifier:{name} (scores are not "
                f"comparable with published FIDs); to use Inception, {how}")
        log.warning(note)
        return "classifier", [note]
    raise GanzooError(f"no feature extractor for unlabelled images of data set '{name}': Inception "
                      f"weights not found; {how}")


def _extractor_options(name: str, *, weights: Any, dims: int, device: Any, data_info: Any,
                       data_source: Any, seed: int, flat_dims: int, progress: bool,
                       extra: dict[str, Any]) -> dict[str, Any]:
    if name == "inception":
        base = {"weights": str(weights) if weights else None, "dims": dims, "device": str(device),
                "progress": progress}
    elif name == "raw":
        base = {"dims": flat_dims}
    else:
        base = {"data_info": data_info, "data_source": data_source, "seed": seed, "device": str(device)}
    return {**base, **extra}


def _fingerprint(x: torch.Tensor) -> str:
    arr = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
    h = hashlib.sha256(str(arr.shape).encode())
    h.update(memoryview(arr).cast("B"))
    return h.hexdigest()


def _save_real(path: Path, side: _RealSide, key: dict[str, Any], fingerprint: str) -> None:
    arrays = {"mu": side.stats.mu, "sigma": side.stats.sigma, "n": np.asarray(side.n or 0),
              "protocol": np.asarray(json.dumps(key, sort_keys=True)), "fingerprint": np.asarray(fingerprint)}
    if side.features is not None:
        arrays["features"] = side.features
    write_cache(path, lambda f: np.savez(f, **arrays))  # recomputed if lost or unwritable


def _load_real(path: Path, key: dict[str, Any], fingerprint: str | None, need_features: bool) -> _RealSide | None:
    """A cached real side when ``path`` was written for this key (and these samples), else None."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if "protocol" not in f.files or json.loads(str(f["protocol"])) != key:
                return None
            if fingerprint is not None and str(f["fingerprint"]) != fingerprint:
                return None
            if need_features and "features" not in f.files:
                return None
            from .fid import FIDStats

            n = int(f["n"])
            stats = FIDStats(np.asarray(f["mu"], np.float64), np.asarray(f["sigma"], np.float64), n, key)
            feats = np.asarray(f["features"]) if "features" in f.files else None
    except Exception as exc:  # unreadable cache: recompute
        log.warning("ignoring unreadable real-statistics cache %s (%s)", path, exc)
        return None
    return _RealSide(stats, feats, f"cache:{path}", n)


def _is_ganzoo_cache(path: Path) -> bool:
    try:
        with np.load(path, allow_pickle=False) as f:
            return "fingerprint" in f.files
    except Exception:
        return False


def _cache_file(cache: Path | None, key: dict[str, Any], key_hash: str, ext_name: str) -> Path | None:
    """The real side's file: ``cache`` itself when it is an ``.npz``, else a file in that folder
    named by data set, extractor, n and key."""
    if cache is None:
        return None
    cache = Path(cache)
    if cache.suffix.lower() == ".npz":
        return cache
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{key['dataset']}-{ext_name}")
    return cache / f"real-{safe}-{key['n']}-{key_hash}.npz"


def _real_from_file(file: Path | None, ext: FeatureExtractor, need_features: bool) -> _RealSide:
    """The real side from a statistics file alone (no real samples), checked against ``ext``."""
    from .fid import load_stats

    if file is None or not file.is_file():
        raise GanzooError("no real samples and no real statistics file to compare with: pass real "
                          "samples or real_stats_cache=PATH.npz (e.g. from 'ganzoo fid --save-stats')")
    feats = None
    if need_features:
        with np.load(file, allow_pickle=False) as f:
            if "features" not in f.files:
                raise GanzooError(f"{file} holds only statistics; KID and precision/recall need real "
                                  f"samples (or a cache written by ganzoo with features)")
            feats = np.asarray(f["features"])
    stats = load_stats(file)
    if stats.dims != ext.dims:
        raise GanzooError(f"real statistics in {file} have {stats.dims} dimensions but extractor "
                          f"'{ext.name}' gives {ext.dims}")
    meta = stats.meta
    if meta.get("extractor") not in (None, ext.name) or meta.get("weights") not in (None, ext.weights_hash):
        raise GanzooError(f"real statistics in {file} were computed with extractor "
                          f"{meta.get('extractor')} (weights {meta.get('weights')}), this evaluation "
                          f"uses {ext.name} (weights {ext.weights_hash}); delete the file or use the same")
    note = "" if meta else " (no ganzoo protocol in the file: its preprocessing is not known)"
    return _RealSide(stats, feats, f"file:{file}{note}", stats.n)


def _real_from_samples(real: torch.Tensor, ext: FeatureExtractor, key: dict[str, Any], key_hash: str,
                       file: Path | None, need_features: bool, *, kind: str, batch_size: int,
                       quantize: bool, progress: bool) -> _RealSide:
    """The real side of ``real``: from memory, else from its cache file, else computed (and cached)."""
    from .fid import stats_from_features

    fingerprint = _fingerprint(real)
    mem_key = (key_hash, fingerprint)
    side = _MEMORY.get(mem_key)
    if side is not None and (side.features is not None or not need_features):
        return _RealSide(side.stats, side.features, "memory cache (" + side.source + ")", side.n)
    if file is not None and file.is_file():
        side = _load_real(file, key, fingerprint, need_features)
        if side is not None:
            _remember(mem_key, side)
            return side
    transform = partial(to_unit, quantize=quantize) if kind == "images" else None
    feats, _ = ext.extract(real, batch_size=batch_size, progress=progress, desc="real features",
                           transform=transform)
    stats = stats_from_features(feats, **key)
    side = _RealSide(stats, feats if need_features else None, f"computed from {len(real)} real samples", len(real))
    if file is not None:
        _save_real(file, side, key, fingerprint)
        side.source += f", cached at {file}"
    _remember(mem_key, side)
    return side


def _real_side(real: torch.Tensor | None, ext: FeatureExtractor, key: dict[str, Any],
               cache: Path | None, need_features: bool, *, kind: str, batch_size: int,
               quantize: bool, progress: bool) -> _RealSide:
    """Statistics (and features when needed) of the real side, from samples or a statistics file."""
    key_hash = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    file = _cache_file(cache, key, key_hash, ext.name)
    if real is not None and file is not None and file.is_file() and not _is_ganzoo_cache(file):
        real = None  # an explicit statistics file (e.g. pytorch-fid's) is used as given, never overwritten
    if real is None:
        return _real_from_file(file, ext, need_features)
    return _real_from_samples(real, ext, key, key_hash, file, need_features, kind=kind,
                              batch_size=batch_size, quantize=quantize, progress=progress)


def _remember(key: tuple[str, str], side: _RealSide) -> None:
    _MEMORY[key] = side
    while len(_MEMORY) > _MEMORY_MAX:
        _MEMORY.pop(next(iter(_MEMORY)))


def evaluate(fake: torch.Tensor, real: torch.Tensor | None, data_info: Any, metrics: list[str], *,
             extractor: str | None = None, real_stats_cache: Path | None = None, seed: int = 0,
             device: str | torch.device = "cpu", batch_size: int = 50, data_source: Any = None,
             fake_labels: torch.Tensor | None = None, real_labels: torch.Tensor | None = None,
             metric_options: dict[str, dict[str, Any]] | None = None,
             weights: str | os.PathLike | None = None, dims: int = 2048, quantize: bool = True,
             extractor_options: dict[str, Any] | None = None,
             progress: bool = False, baseline: torch.Tensor | None = None,
             masks: torch.Tensor | None = None) -> list[dict[str, Any]]:
    """Score ``fake`` against ``real`` with each metric named in ``metrics``; one record per metric.

    * ``fake``/``real``: images (N, C, H, W) in [-1, 1] (rounded to 8 bits first when
      ``quantize``, as saving to PNG would) or points (N, 2). ``real`` may be None when
      ``real_stats_cache`` names a statistics ``.npz``.
    * ``extractor``: a registered feature extractor; default: Inception if its weights are on this
      machine, else the data set's own classifier (said so in the records' notes), raw for points.
    * ``real_stats_cache``: a folder (file name from data set, options, extractor and n) or an
      ``.npz`` file; the real side is reused when it was computed for the same key and samples.
    * ``data_source``: the data set object, for the classifier (its options go into the cache key).
    * ``fake_labels``: conditioning labels of ``fake`` (for ``classifier_accuracy``, ``intra_fid``);
      ``real_labels``: the classes of ``real`` (for ``intra_fid``).
    * ``metric_options``: ``{metric name: {option: value}}`` (e.g. ``{"fid": {"exact_sqrtm": True}}``).
    * ``weights``/``dims``: Inception weights file and feature size; ``extractor_options``: extra
      options for the extractor's factory (e.g. the classifier's ``steps``).
    * ``baseline``/``masks``: for paired runs (``fake`` the outputs, ``real`` their ground truth,
      aligned): a trivial baseline's outputs and the holes, read by ``psnr``/``ssim``.
    """
    if not isinstance(fake, torch.Tensor):
        fake = torch.as_tensor(np.asarray(fake))
    if real is not None and not isinstance(real, torch.Tensor):
        real = torch.as_tensor(np.asarray(real))
    kind = _data_kind(fake, data_info)
    objs = _build_metrics(list(metrics), kind, metric_options or {}, str(getattr(data_info, "kind", kind)))
    if real is not None and tuple(real.shape[1:]) != tuple(fake.shape[1:]):
        raise GanzooError(f"real samples have shape {tuple(real.shape[1:])}, generated ones "
                          f"{tuple(fake.shape[1:])}; evaluate samples of the same data set")
    inputs = MetricInputs(data_info=data_info, seed=seed, fake_samples=fake, real_samples=real,
                          fake_labels=fake_labels, real_labels=real_labels, quantize=quantize,
                          progress=progress, baseline_samples=baseline, masks=masks)
    common = dict(weights=weights, dims=dims, device=device, data_info=data_info, data_source=data_source,
                  seed=seed, flat_dims=int(np.prod(fake.shape[1:])), progress=progress,
                  extra=dict(extractor_options or {}))
    needs = set().union(*(m.needs for m in objs)) if objs else set()
    shared = _SharedInputs(kind=kind, quantize=quantize)
    if needs & {"features", "stats", "logits"}:
        _extract_features(inputs, shared, needs, extractor, common, real_stats_cache=real_stats_cache,
                          batch_size=batch_size, data_source=data_source)
    if "classifier" in needs:
        if shared.ext is not None and shared.ext.name.startswith("classifier:"):
            inputs.classifier = shared.ext
        else:
            inputs.classifier = get_extractor("classifier", **_extractor_options("classifier", **common))
    return [_record(metric, inputs, shared) for metric in objs]


@dataclass
class _SharedInputs:
    """What :func:`evaluate` computed once for all metrics, and what the records say about it."""

    kind: str
    quantize: bool
    ext: FeatureExtractor | None = None
    real_side: _RealSide | None = None
    notes: list[str] = field(default_factory=list)


def _extract_features(inputs: MetricInputs, shared: _SharedInputs, needs: set[str], extractor: str | None,
                      common: dict[str, Any], *, real_stats_cache: Path | None, batch_size: int,
                      data_source: Any) -> None:
    """Generated features/logits/statistics and the real side, with one extractor for all metrics."""
    fake, real, data_info = inputs.fake_samples, inputs.real_samples, inputs.data_info
    kind, quantize, progress = shared.kind, shared.quantize, inputs.progress
    name = extractor
    if name is None:
        name, shared.notes = choose_extractor(kind, data_info, common["weights"])
    ext = shared.ext = get_extractor(name, **_extractor_options(name, **common))
    transform = partial(to_unit, quantize=quantize) if kind == "images" else None
    feats, logits = ext.extract(fake, batch_size=batch_size, logits="logits" in needs,
                                progress=progress, desc="fake features", transform=transform)
    inputs.fake_features, inputs.fake_logits = feats, logits
    if not needs & {"features", "stats"}:
        return
    from .fid import stats_from_features

    inputs.fake_stats = stats_from_features(feats)
    key = {"dataset": getattr(data_info, "name", "?"), "options": _options_json(data_info, data_source),
           "shape": list(fake.shape[1:]), "extractor": ext.name, "weights": ext.weights_hash,
           "dims": ext.dims, "n": None if real is None else len(real), "quantize": quantize,
           "version": CACHE_VERSION}
    shared.real_side = _real_side(real, ext, key, real_stats_cache, "features" in needs, kind=kind,
                                  batch_size=batch_size, quantize=quantize, progress=progress)
    inputs.real_stats, inputs.real_features = shared.real_side.stats, shared.real_side.features


def _record(metric: Metric, inputs: MetricInputs, shared: _SharedInputs) -> dict[str, Any]:
    """Compute ``metric`` and describe how: extractor, sample counts, real source, options, notes."""
    values = {k: float(v) for k, v in metric.compute(inputs).items()}
    uses_ext = bool(metric.needs & {"features", "stats", "logits"})
    uses_real = bool(metric.needs & {"features", "stats"})
    rec_ext = shared.ext if uses_ext else (inputs.classifier if "classifier" in metric.needs else None)
    rec_notes = list(shared.notes) if uses_ext else []
    if "classifier" in metric.needs and inputs.classifier is not None:
        rec_notes.append(f"{inputs.classifier.name} held-out accuracy on real data: "
                         f"{inputs.classifier.accuracy:.4f}")
    opts = metric.protocol_options()
    if shared.kind == "images" and rec_ext is not None:
        opts["quantize_8bit"] = shared.quantize
    real_side = shared.real_side
    return ScoreRecord(
        metric=metric.name, value=values[metric.primary], values=values,
        higher_is_better=metric.higher_is_better,
        extractor=rec_ext.name if rec_ext else None,
        extractor_weights_sha256=rec_ext.weights_hash if rec_ext else None,
        feature_dims=rec_ext.dims if rec_ext else None,
        resize=rec_ext.resize if rec_ext else None,
        n_real=(real_side.n if real_side else None) if uses_real else None,
        n_fake=len(inputs.fake_samples),
        real_source=(real_side.source if real_side else "") if uses_real else "not used",
        seed=inputs.seed, options=opts, notes=rec_notes).to_dict()


class _CallableModule(types.ModuleType):
    """``ganzoo.metrics.evaluate`` names both this module and the function; once the module is
    imported Python binds the package attribute to the module, so calling it forwards to the
    function and ``from ganzoo.metrics import evaluate; evaluate(...)`` works either way."""

    def __call__(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return evaluate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
