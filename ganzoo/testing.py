"""Test helpers for ganzoo and for plugin authors (installed as a pytest plugin).

* ``ganzoo_plugin`` fixture: ``ganzoo_plugin(module)`` registers a plugin module for one test.
* :func:`check_variant`: a few CPU steps at tiny size, a checkpoint round trip and sample shapes;
  the smoke test every variant (built-in or third-party) should pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest


@pytest.fixture
def ganzoo_plugin() -> Iterator[Any]:
    """Register plugin modules for the duration of one test: ``ganzoo_plugin(module)``."""
    from .plugins import get_registry

    added: list[str] = []

    def register(module: Any, name: str | None = None):
        info = get_registry().add_plugin(module, name)
        if info.status != "loaded":
            raise AssertionError(f"plugin {info.name} failed to load: {info.error}")
        added.append(info.name)
        return info

    yield register
    registry = get_registry()
    for name in added:
        registry.remove_plugin(name)


def tiny_config(variant: dict[str, Any], data: dict[str, Any], out_dir: str | Path, *,
                steps: int = 3, batch_size: int = 8, **sections: Any) -> dict[str, Any]:
    """A run config dict for a few quick CPU steps."""
    cfg = {
        "run": {"name": "check", "out_dir": str(out_dir)}, "seed": 0, "device": "cpu",
        "variant": variant, "data": data,
        "train": {"steps": steps, "batch_size": batch_size},
        "log": {"every": 1, "image_every": steps, "num_images": 4, "tensorboard": False,
                "progress": False},
        "checkpoint": {"every": steps, "keep": 2},
    }
    cfg.update(sections)
    return cfg


def check_variant(variant: dict[str, Any], data: dict[str, Any], tmp_path: str | Path, *,
                  steps: int = 3, batch_size: int = 8, n_samples: int = 4) -> dict[str, Any]:
    """Train ``steps`` CPU steps, reload the checkpoint and sample (for "unpaired" data: translate
    a few images both ways with ``variant.translate(images, "AtoB"|"BtoA")``); assert the basics hold.

    Returns what it saw (run folder, logged losses, samples) for further checks.
    """
    import json

    import torch

    from .config import config_from_dict
    from .inference import load_run
    from .trainer import take, train

    cfg = config_from_dict(tiny_config(variant, data, Path(tmp_path) / "runs", steps=steps,
                                       batch_size=batch_size))
    result = train(cfg)
    assert result.status == "finished" and result.step == steps
    assert result.checkpoint is not None and result.checkpoint.is_file()
    records = [json.loads(line) for line in result.jsonl.read_text().splitlines()]
    losses = {k: v for r in records if r.get("kind") == "train" for k, v in r.items()
              if k.startswith(("loss", "reg/"))}
    assert losses, "train_step logged no 'loss*' values"
    for k, v in losses.items():
        assert isinstance(v, float) and torch.isfinite(torch.tensor(v)), f"{k} = {v}"

    trained = load_run(checkpoint=result.checkpoint)
    saved = torch.load(result.checkpoint, weights_only=True)["model"]
    for k, v in trained.variant.state_dict().items():
        assert torch.equal(v, saved[k]), f"checkpoint round trip changed {k}"
    info = trained.info
    if info.kind in ("paired", "multi_domain"):  # image-to-image: outputs for inputs, not samples
        return {"run_dir": result.run_dir, "losses": losses, "trained": trained,
                "samples": _check_predict(trained, n_samples)}
    if info.kind == "unpaired":  # translation models have no noise to sample from
        from .plugins import get_registry

        source = get_registry().get("datasets", trained.config.data.name)(trained.config.data)
        batch = take(source.dataset("train"), n_samples)
        out = {}
        for direction, key in (("AtoB", "a"), ("BtoA", "b")):
            images = batch[key]
            out[direction] = trained.variant.translate(images, direction)
            assert out[direction].shape == images.shape, \
                f"{direction}: {tuple(out[direction].shape)} != {tuple(images.shape)}"
            assert torch.isfinite(out[direction]).all()
            assert out[direction].min() >= -1 and out[direction].max() <= 1, "images must lie in [-1, 1]"
        return {"run_dir": result.run_dir, "losses": losses, "samples": out["AtoB"],
                "translations": out, "trained": trained}
    labels = None
    if trained.variant.conditional:
        labels = torch.arange(n_samples) % info.num_classes
    samples = trained.variant.sample(n_samples, generator=torch.Generator().manual_seed(0), labels=labels)
    expected = (n_samples, *info.shape)
    assert tuple(samples.shape) == expected, f"samples {tuple(samples.shape)} != {expected}"
    assert torch.isfinite(samples).all()
    if info.kind != "points":
        assert samples.min() >= -1 and samples.max() <= 1, "image samples must lie in [-1, 1]"
    return {"run_dir": result.run_dir, "losses": losses, "samples": samples, "trained": trained}


def _check_predict(trained: Any, n: int) -> Any:
    """``variant.predict`` on ``n`` training items ("paired": shaped like the targets;
    "multi_domain": each image sent to another domain), finite and in [-1, 1]."""
    import torch

    from .paired_eval import target_domains
    from .plugins import get_registry
    from .trainer import take

    source = get_registry().get("datasets", trained.config.data.name)(trained.config.data)
    batch = take(source.dataset("train"), n)
    if trained.info.kind == "multi_domain":
        batch["target_labels"] = target_domains(batch["labels"], int(trained.info.num_classes))
    out = trained.variant.predict(batch)
    want = batch["y"].shape if trained.info.kind == "paired" else batch["x"].shape
    assert out.shape == want, f"predict gave {tuple(out.shape)}, expected {tuple(want)}"
    assert torch.isfinite(out).all()
    assert out.min() >= -1 and out.max() <= 1, "outputs must lie in [-1, 1]"
    return out
