"""A small CNN classifier trained on a labelled data set's own train split.

It serves two purposes: a feature extractor (``classifier:<dataset>``) where Inception does not
apply (28 px grayscale digits) or its weights are absent, and the "classifier accuracy of
generated samples" metric for conditional generators. Training takes seconds on 2 CPU cores; the
result is cached under ``cache_dir("classifiers")`` by a hash of the data set's name and options,
the seed and the training recipe, so every run compares against the same network. Its held-out
accuracy on real data is recorded with every score it produces.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import GanzooError
from ..fileio import write_cache
from .base import Metric, MetricInputs
from .features import FeatureExtractor, resolve_device

log = logging.getLogger(__name__)

#: Bump when the architecture or the recipe changes (invalidates cached classifiers).
RECIPE_VERSION = 1
MAX_SIDE = 32


class SmallCNN(nn.Module):
    """Four strided 3x3 convolutions with BatchNorm, global average pool, linear head."""

    def __init__(self, channels: int, num_classes: int, width: int = 16) -> None:
        super().__init__()
        w = width
        layers: list[nn.Module] = []
        for cin, cout, stride in ((channels, w, 2), (w, 2 * w, 2), (2 * w, 4 * w, 1), (4 * w, 8 * w, 2)):
            layers += [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                       nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(8 * w, num_classes)
        self.feature_dims = 8 * w

    @staticmethod
    def shrink(x: torch.Tensor) -> torch.Tensor:
        """Images larger than 32 px are downsized (bilinear with antialias) to keep it fast."""
        if max(x.shape[-2:]) > MAX_SIDE:
            h, w = x.shape[-2:]
            s = MAX_SIDE / max(h, w)
            x = F.interpolate(x, size=(max(1, round(h * s)), max(1, round(w * s))), mode="bilinear",
                              align_corners=False, antialias=True)
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features of images in [-1, 1] at the data's channel count."""
        return self.body(self.shrink(x)).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _options_json(data_source: Any) -> str:
    opts = getattr(data_source, "options", None)
    if opts is None:
        return "{}"
    dump = opts.model_dump(mode="json") if hasattr(opts, "model_dump") else dict(opts)
    return json.dumps(dump, sort_keys=True, default=str)


def cache_key(dataset: str, options_json: str, seed: int, recipe: dict[str, Any]) -> str:
    blob = json.dumps({"dataset": dataset, "options": options_json, "seed": seed, "recipe": recipe,
                       "version": RECIPE_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _load_split(dataset: Any, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to ``n`` random items (x, y) of a map-style data set of {"x", "y"} dicts."""
    total = len(dataset)
    idx = torch.randperm(total, generator=gen)[: min(n, total)].tolist()
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, idx), batch_size=512,
                                         shuffle=False, num_workers=0)
    xs, ys = [], []
    for batch in loader:
        if not isinstance(batch, dict) or "x" not in batch or "y" not in batch:
            raise GanzooError("the classifier needs a labelled data set (items with 'x' and 'y')")
        xs.append(batch["x"].float())
        ys.append(torch.as_tensor(batch["y"]).long().reshape(-1))
    return torch.cat(xs), torch.cat(ys)


def train_classifier(data_source: Any, info: Any, *, seed: int = 0, max_train: int = 10000,
                     holdout: int = 1000, steps: int = 300, batch_size: int = 128, lr: float = 2e-3,
                     width: int = 16, device: str | torch.device = "cpu",
                     progress: bool = False) -> tuple[SmallCNN, float]:
    """Train on the train split; returns the model (eval mode) and its held-out accuracy.

    Leaves the global RNG untouched (``fork_rng``), so a trainer's exact resume is not disturbed.
    """
    num_classes = getattr(info, "num_classes", None)
    if not num_classes:
        raise GanzooError(f"data set '{info.name}' has no class labels; the classifier extractor needs "
                          f"a labelled data set (use Inception: --extractor inception)")
    dev = torch.device(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        x, y = _load_split(data_source.dataset("train"), max_train + holdout, gen)
        if len(x) < 2:
            raise GanzooError(f"data set '{info.name}' has too few training items ({len(x)}) for a classifier")
        n_hold = min(holdout, len(x) // 5)
        xv, yv, xt, yt = x[:n_hold], y[:n_hold], x[n_hold:], y[n_hold:]
        model = SmallCNN(x.shape[1], int(num_classes), width).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
        it = range(steps)
        if progress:
            from tqdm import tqdm

            it = tqdm(it, desc=f"training classifier:{info.name}", leave=False)
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        pos = 0
        for _ in it:
            if pos + batch_size > len(xt):
                perm, pos = torch.randperm(len(xt), generator=gen), 0
            b = perm[pos:pos + batch_size]
            pos += batch_size
            loss = F.cross_entropy(model(xt[b].to(dev)), yt[b].to(dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        acc = accuracy(model, xv, yv) if n_hold else float("nan")
    return model, acc


@torch.inference_mode()
def accuracy(model: SmallCNN, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    dev = next(model.parameters()).device
    correct = 0
    for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
        correct += int((model(xb.to(dev)).argmax(1).cpu() == yb.cpu()).sum())
    return correct / max(len(x), 1)


def _data_source_for(info: Any, data_source: Any) -> Any:
    """The data source to train on: the one given, else the registered one with the info's options."""
    if data_source is not None:
        return data_source
    from ..plugins import get_dataset

    cls = get_dataset(info.name)
    opts = dict((getattr(info, "extras", None) or {}).get("options", {}))
    opts.setdefault("name", info.name)
    try:
        return cls(cls.Options(**opts))
    except Exception as exc:  # pydantic validation: the data set needs options we do not have
        raise GanzooError(f"cannot build data set '{info.name}' to train its classifier "
                          f"({type(exc).__name__}: {str(exc).splitlines()[0]}); pass the data source "
                          f"to evaluate(..., data_source=...)") from None


class ClassifierExtractor(FeatureExtractor):
    """Features and logits of the data set's own classifier; inputs [0, 1] at any size."""

    has_logits = True

    def __init__(self, data_info: Any = None, data_source: Any = None, seed: int = 0,
                 device: str | torch.device | None = "cpu", cache: bool = True, progress: bool = False,
                 **recipe: Any) -> None:
        if data_info is None and data_source is not None:
            data_info = data_source.info()
        if data_info is None:
            raise GanzooError("the classifier extractor needs the data set (data_info or data_source)")
        self.info = data_info
        self.device = resolve_device(device)
        self.name = f"classifier:{data_info.name}"
        self.resize = f"to the data's {data_info.shape[-2]}x{data_info.shape[-1]} (bilinear, antialias), " \
                      f"then to at most {MAX_SIDE} px"
        source = _data_source_for(data_info, data_source)
        defaults = {"max_train": 10000, "holdout": 1000, "steps": 300, "batch_size": 128, "lr": 2e-3, "width": 16}
        unknown = set(recipe) - set(defaults)
        if unknown:
            raise GanzooError(f"unknown classifier option(s) {sorted(unknown)}; known: {sorted(defaults)}")
        recipe = {**defaults, **recipe}
        key = cache_key(data_info.name, _options_json(source), seed, recipe)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", data_info.name)
        path: Path | None = None
        self.model: SmallCNN | None = None
        folder = None
        if cache:
            from ..download import cache_dir_or_none

            folder = cache_dir_or_none("classifiers")
        if folder is not None:
            path = folder / f"{safe}-{key[:16]}.pt"
            if path.is_file():
                self._load(path, data_info)
        if self.model is None:
            model, acc = train_classifier(source, data_info, seed=seed, device=self.device,
                                          progress=progress, **recipe)
            self.model, self.accuracy = model, acc
            meta = {"dataset": data_info.name, "options": _options_json(source), "seed": seed,
                    "recipe": recipe, "version": RECIPE_VERSION, "holdout_accuracy": acc,
                    "channels": int(data_info.shape[0]), "num_classes": int(data_info.num_classes)}
            if path is not None:
                state = {"state_dict": {k: v.cpu() for k, v in model.state_dict().items()}, "meta": meta}
                if write_cache(path, lambda f: torch.save(state, f)):
                    log.info("trained %s (held-out accuracy %.4f), cached at %s", self.name, acc, path)
        if path is not None and path.is_file():
            from .inception import file_sha256

            self.weights_hash = file_sha256(path)
        else:
            h = hashlib.sha256()
            for k, v in self.model.state_dict().items():
                h.update(k.encode())
                h.update(v.cpu().numpy().tobytes())
            self.weights_hash = h.hexdigest()
        self.model.to(self.device).eval().requires_grad_(False)
        self.dims = self.model.feature_dims
        self.path = path

    def _load(self, path: Path, info: Any) -> None:
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            meta = blob["meta"]
            model = SmallCNN(int(meta["channels"]), int(meta["num_classes"]), int(meta["recipe"]["width"]))
            model.load_state_dict(blob["state_dict"])
        except Exception as exc:  # a corrupt cache file is rebuilt, not fatal
            log.warning("cached classifier %s is unreadable (%s); training a new one", path, exc)
            return
        self.model, self.accuracy = model, float(meta["holdout_accuracy"])

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """[0, 1] images -> [-1, 1] at the data's channel count and size."""
        c, h, w = self.info.shape
        if x.shape[1] != c:
            if c == 1:
                x = x.mean(dim=1, keepdim=True)
            elif x.shape[1] == 1:
                x = x.expand(-1, c, -1, -1)
            else:
                raise GanzooError(f"{self.name} takes {c}-channel images, got {x.shape[1]} channels")
        if tuple(x.shape[-2:]) != (h, w):
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        return x * 2 - 1

    def batch_outputs(self, x: torch.Tensor, logits: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        f = self.model.features(self.prepare(x))
        return f, (self.model.head(f) if logits else None)


class ClassifierAccuracyMetric(Metric):
    """Share of generated samples that the data set's own classifier assigns to their conditioning
    label; the classifier's held-out accuracy on real data is reported next to it."""

    name = "classifier_accuracy"
    higher_is_better = True
    needs = frozenset({"classifier", "labels"})
    primary = "classifier_accuracy"
    kinds = ("images",)

    def compute(self, inputs: MetricInputs) -> dict[str, float]:
        if inputs.fake_labels is None:
            raise GanzooError("metric 'classifier_accuracy' needs the labels the samples were generated "
                              "for (a conditional generator)")
        clf = inputs.classifier
        from functools import partial

        from .features import to_unit

        _, logits = clf.extract(inputs.fake_samples, logits=True, progress=inputs.progress, desc=clf.name,
                                transform=partial(to_unit, quantize=inputs.quantize))
        labels = np.asarray(torch.as_tensor(inputs.fake_labels).cpu()).reshape(-1)
        if len(labels) != len(logits):
            raise GanzooError(f"{len(labels)} labels for {len(logits)} generated samples")
        return {"classifier_accuracy": float((logits.argmax(1) == labels).mean()),
                "classifier_real_accuracy": float(clf.accuracy)}
