"""The files ``ganzoo new-plugin`` writes, one set per ``--kind`` (str.format: braces doubled).

Every kind gets the same ``pyproject.toml``, package ``__init__`` and README frame; the plugin
module, its test and its run config differ. Each test passes unchanged once the package is
installed (``tests/test_new_plugin.py`` checks that for every kind).
"""

from __future__ import annotations

PYPROJECT = '''\
[build-system]
# setuptools >= 70.1 builds wheels itself: `pip install --no-build-isolation -e .` needs nothing else
requires = ["setuptools>=70.1"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "The '{name}' {kind} for ganzoo."
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["{ganzoo_req}"]

[project.optional-dependencies]
# ganzoo.testing (check_variant, the ganzoo_plugin fixture) needs pytest
test = ["pytest>=7.4"]

# ganzoo loads the module named here and calls the hooks it implements
[project.entry-points.ganzoo]
{name} = "{module}.plugin"

# only the package: configs/ and tests/ beside it are not packages to install
[tool.setuptools.packages.find]
include = ["{module}*"]

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

INIT = '''\
"""The '{name}' ganzoo plugin; see {module}.plugin."""

__version__ = "0.1.0"
'''

README = '''\
# {dist}

The `{name}` {kind} as a ganzoo plugin.

```bash
pip install -e ".[test]"                 # or: pip install --no-deps --no-build-isolation -e .
ganzoo plugins                           # {name}  [loaded]  {dist} 0.1.0
{run_line}python -m pytest                         # the plugin's own tests (ganzoo.testing needs pytest)
```

{usage}

Layout: `{module}/plugin.py` (the {kind} and its `{hook}` hook), `pyproject.toml` (the `ganzoo`
entry point `{name} = "{module}.plugin"`), `configs/` (run configs), `tests/`.
`GANZOO_API = "{api}"` in the plugin module says which ganzoo plugin-API versions it was written
for.
'''

TEST_HEADER = '''\
"""The '{name}' plugin is found through its entry point and works in ganzoo."""

from __future__ import annotations

import pytest
import torch

from ganzoo import get_registry
from ganzoo.testing import check_variant
from {module}.plugin import {cls}

TINY = {{"name": "vanilla", "z_dim": 4, "g_hidden": [16], "d_hidden": [16]}}
RING = {{"name": "ring", "size": 256}}


def test_registered_through_the_entry_point():
    registry = get_registry()
    info = registry.plugins["{name}"]
    assert (info.status, info.distribution) == ("loaded", "{dist}"), info.error
    assert registry.get("{registry_kind}", "{name}") is {cls}
'''

CONFIG_HEAD = '''\
# {summary}; about a minute on a CPU.
#   ganzoo run configs/{config}        then look at runs/{name}/samples/final.png
run:
  name: {name}
  out_dir: runs
seed: 0
device: auto
'''

CONFIG_TAIL = '''\
train:
  steps: 2000
  batch_size: 256
log:
  every: 100
  image_every: 1000
  num_images: 512
checkpoint:
  every: 1000
  keep: 2
'''

VANILLA_BLOCK = '''\
variant:
  name: vanilla
  z_dim: 16
  g_hidden: [128, 128]
  d_hidden: [128, 128]
  lr_g: 1.0e-3
  lr_d: 1.0e-3
'''

# -- variant ------------------------------------------------------------------------------------
VARIANT = '''\
"""The '{name}' variant: a small MLP GAN to turn into your own.

Start here: change the networks in ``build_networks``, add options to ``{options}`` (they are
validated from the ``variant:`` block of a run config), add a constraint in ``after_d_step``, or
override ``train_step`` entirely. Extra loss terms are regularizers (``variant.regularizers``),
not code here. The ``ganzoo`` entry point in pyproject.toml names this module; see ganzoo's
docs/plugins.md.
"""

from __future__ import annotations

from pydantic import Field

from ganzoo import adversarial, hookimpl
from ganzoo.nets import mlp

#: ganzoo plugin-API versions this plugin is written for; ganzoo skips it (with a message) otherwise
GANZOO_API = "{api}"


class {options}(adversarial.AdversarialOptions):
    z_dim: int = Field(16, gt=0, description="latent size")
    hidden: list[int] = Field([128, 128], min_length=1, description="hidden layer widths of G and D")
    lr_g: float = Field(1e-3, gt=0)
    lr_d: float = Field(1e-3, gt=0)


class {cls}(adversarial.AdversarialVariant):
    """MLP generator and discriminator with a pluggable loss (the '{name}' plugin)."""

    Options = {options}
    supports = ("points", "images")   # DataInfo.kind values this variant trains on

    def build_networks(self):
        o, info = self.options, self.data_info
        output = "linear" if info.kind == "points" else "tanh"   # images live in [-1, 1]
        G = mlp.MLPGenerator(o.z_dim, info.shape, o.hidden, act="relu", batchnorm=False, output=output)
        D = mlp.MLPDiscriminator(info.shape, list(reversed(o.hidden)), act="leaky_relu")
        return G, D


@hookimpl
def register_variants(register):
    register("{name}", {cls})
'''

VARIANT_TEST = '''

@pytest.mark.parametrize("data", [RING, {{"name": "shapes", "image_size": 16, "size": 32}}])
def test_check_variant(data, tmp_path):
    out = check_variant({{"name": "{name}", "z_dim": 4, "hidden": [16, 16]}}, data, tmp_path, steps=3)
    assert set(out["losses"]) >= {{"loss_d", "loss_g"}}
    assert torch.isfinite(out["samples"]).all()
'''

VARIANT_CONFIG = '''\
variant:
  name: {name}
  z_dim: 16
  hidden: [128, 128]
  loss: bce
  lr_g: 1.0e-3
  lr_d: 1.0e-3
data:
  name: ring
'''

# -- loss ---------------------------------------------------------------------------------------
LOSS = '''\
"""The '{name}' loss: the non-saturating GAN loss written with softplus; edit the two methods.

Losses map raw discriminator scores (never a sigmoid; patch maps are reduced with a mean) to
scalar losses. ``d_loss`` is minimised by the discriminator, ``g_loss`` by the generator. Select
it in a run config with ``variant: {{loss: {name}}}``; see ganzoo's docs/plugins.md.
"""

from __future__ import annotations

import torch.nn.functional as F

from ganzoo import Loss, hookimpl

#: ganzoo plugin-API versions this plugin is written for; ganzoo skips it (with a message) otherwise
GANZOO_API = "{api}"


class {cls}(Loss):
    """Non-saturating loss: softplus(-D(real)) + softplus(D(fake)) for D, softplus(-D(fake)) for G."""

    name = "{name}"

    def d_loss(self, real_scores, fake_scores):
        return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()

    def g_loss(self, fake_scores, real_scores=None):
        return F.softplus(-fake_scores).mean()


@hookimpl
def register_losses(register):
    register({cls}.name, {cls})
'''

LOSS_TEST = '''

def test_prefers_the_right_scores():
    loss = {cls}()
    good = loss.d_loss(torch.full((8,), 10.0), torch.full((8,), -10.0))
    bad = loss.d_loss(torch.full((8,), -10.0), torch.full((8,), 10.0))
    assert good < 0.01 < 10.0 < bad
    assert loss.g_loss(torch.full((8,), 10.0)) < loss.g_loss(torch.full((8,), -10.0))


def test_trains_a_gan(tmp_path):
    out = check_variant({{**TINY, "loss": "{name}"}}, RING, tmp_path, steps=3)
    assert set(out["losses"]) >= {{"loss_d", "loss_g"}}
'''

LOSS_CONFIG = VANILLA_BLOCK + '''\
  loss: {name}
data:
  name: ring
'''

# -- dataset ------------------------------------------------------------------------------------
DATASET = '''\
"""The '{name}' data set: points on a noisy circle, drawn from a seed; replace with your data.

``info()`` describes the data cheaply (kind "points", "images" or "unpaired", shape, classes) and
variants build their networks from it; ``dataset(split)`` returns items ``{{"x": tensor}}`` (plus
``"y"`` for labels). Images are float32 (C, H, W) in [-1, 1]. Select it with
``data: {{name: {name}}}``; see ganzoo's docs/plugins.md.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field

from ganzoo import DataInfo, DataOptions, DataSource, hookimpl

#: ganzoo plugin-API versions this plugin is written for; ganzoo skips it (with a message) otherwise
GANZOO_API = "{api}"


class {options}(DataOptions):
    size: int = Field(2000, ge=1, le=10_000_000, description="points per split")
    radius: float = Field(1.0, gt=0)
    noise: float = Field(0.05, ge=0, description="std of the radial noise")
    seed: int = Field(0, ge=0, lt=2**32)


class Points(torch.utils.data.Dataset):
    def __init__(self, points: torch.Tensor) -> None:
        self.points = points

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {{"x": self.points[i]}}


class {cls}(DataSource):
    """Points on a noisy circle (the '{name}' plugin)."""

    Options = {options}

    def info(self) -> DataInfo:
        return DataInfo(name=self.options.name, kind="points", shape=(2,))

    def dataset(self, split: str = "train") -> Points:
        o = self.options
        g = torch.Generator().manual_seed(o.seed * 2 + (split != "train"))
        angle = 2 * math.pi * torch.rand(o.size, generator=g)
        r = o.radius + o.noise * torch.randn(o.size, generator=g)
        return Points(torch.stack([r * angle.cos(), r * angle.sin()], dim=1))


@hookimpl
def register_datasets(register):
    register("{name}", {cls})
'''

DATASET_TEST = '''

def test_items_and_splits():
    source = {cls}({cls}.Options(name="{name}", size=64))
    train, test = source.dataset("train"), source.dataset("test")
    assert len(train) == 64 and train[0]["x"].shape == source.info().shape
    assert not torch.equal(train.points, test.points)


def test_a_gan_trains_on_it(tmp_path):
    out = check_variant(TINY, {{"name": "{name}", "size": 256}}, tmp_path, steps=3)
    assert out["samples"].shape == (4, 2)
'''

DATASET_CONFIG = VANILLA_BLOCK + '''\
data:
  name: {name}
'''

# -- metric -------------------------------------------------------------------------------------
METRIC = '''\
"""The '{name}' metric: mean distance from each generated sample to its nearest real one.

A metric declares what it ``needs`` (features, stats, logits, samples, labels, classifier: each
computed once per evaluation and shared), which data ``kinds`` it applies to, and returns
``{{key: float}}``; ``primary`` names the reported key. Use it with
``ganzoo eval RUN_DIR --metrics {name}`` or an ``eval:`` block; see ganzoo's docs/plugins.md.
"""

from __future__ import annotations

import torch

from ganzoo import hookimpl
from ganzoo.metrics.base import Metric, MetricInputs

#: ganzoo plugin-API versions this plugin is written for; ganzoo skips it (with a message) otherwise
GANZOO_API = "{api}"


class {cls}(Metric):
    """Mean distance from each generated sample to the nearest real sample (lower is better)."""

    name = "{name}"
    higher_is_better = False
    needs = frozenset({{"samples"}})
    primary = "{name}"
    kinds = ("points", "images")

    def compute(self, inputs: MetricInputs) -> dict[str, float]:
        fake = inputs.fake_samples.float().flatten(1)
        real = inputs.real_samples.float().flatten(1).to(fake.device)
        return {{"{name}": float(torch.cdist(fake, real).min(dim=1).values.mean())}}


@hookimpl
def register_metrics(register):
    register({cls}.name, {cls})
'''

METRIC_TEST = '''
from ganzoo import get_dataset
from ganzoo.metrics import evaluate


def test_scores_close_samples_better():
    source = get_dataset("ring")(get_dataset("ring").Options(name="ring", size=256))
    real = torch.stack([item["x"] for item in source.dataset("train")])
    good = evaluate(real + 0.01, real, source.info(), ["{name}"])[0]
    bad = evaluate(real * 3.0, real, source.info(), ["{name}"])[0]
    assert good["metric"] == "{name}" and good["value"] < bad["value"]


def test_runs_during_training(tmp_path):
    out = check_variant(TINY, RING, tmp_path, steps=3)
    assert out["samples"].shape == (4, 2)
'''

METRIC_CONFIG = VANILLA_BLOCK + '''\
data:
  name: ring
eval:
  every: 1000
  metrics: [{name}]
  n: 1000
'''

# -- regularizer --------------------------------------------------------------------------------
REGULARIZER = '''\
"""The '{name}' regularizer: ProGAN's drift term, a small penalty on D's squared real scores.

A regularizer adds a term to the discriminator's (``target = "D"``) or the generator's (``"G"``)
loss of every adversarial variant; runs list it in ``variant.regularizers`` (with ``every: N``
it is applied lazily, on every N-th update only, scaled by N). ``penalty`` gets the update's
inputs (``ganzoo.regularizers.DiscriminatorTerms``); see ganzoo's docs/plugins.md.
"""

from __future__ import annotations

import torch
from pydantic import Field

from ganzoo import hookimpl
from ganzoo.regularizers import DiscriminatorTerms, Regularizer, RegularizerOptions

#: ganzoo plugin-API versions this plugin is written for; ganzoo skips it (with a message) otherwise
GANZOO_API = "{api}"


class {options}(RegularizerOptions):
    weight: float = Field(0.001, ge=0, description="epsilon: weight of E[D(real)^2]")


class {cls}(Regularizer):
    """Drift penalty ``weight * E[D(real)^2]``: keeps D's scores from drifting far from zero."""

    name = "{name}"
    Options = {options}
    target = "D"

    def penalty(self, terms: DiscriminatorTerms) -> torch.Tensor:
        return self.options.weight * terms.real_scores.float().pow(2).mean()


@hookimpl
def register_regularizers(register):
    register({cls}.name, {cls})
'''

REGULARIZER_TEST = '''
from ganzoo.regularizers import DiscriminatorTerms


def test_penalty_grows_with_the_scores():
    reg = {cls}({cls}.Options(name="{name}", weight=1.0))

    def terms(score: float) -> DiscriminatorTerms:
        scores = torch.full((4,), score)
        return DiscriminatorTerms(D=None, real=None, fake=None, labels=None, real_scores=scores,
                                  fake_scores=scores)

    assert float(reg.penalty(terms(0.0))) == 0.0 < float(reg.penalty(terms(1.0))) < float(reg.penalty(terms(3.0)))


def test_applies_in_training(tmp_path):
    import json

    variant = {{**TINY, "regularizers": [{{"name": "{name}", "weight": 0.1}}]}}
    out = check_variant(variant, RING, tmp_path, steps=3)
    log = [json.loads(line) for line in (out["run_dir"] / "log.jsonl").read_text().splitlines()]
    assert any("reg/{name}" in record for record in log)
'''

REGULARIZER_CONFIG = VANILLA_BLOCK + '''\
  regularizers: [{{name: {name}, weight: 0.001}}]
data:
  name: ring
'''

#: kind -> what differs: class-name suffix, registry kind, hook, module/test/config templates,
#: config file name, the one-line summary and how a run config uses it.
KINDS: dict[str, dict[str, str]] = {
    "variant": {"suffix": "GAN", "registry_kind": "variants", "hook": "register_variants",
                "plugin": VARIANT, "test": VARIANT_TEST, "config_body": VARIANT_CONFIG,
                "config": "{name}_ring.yaml", "summary": "The '{name}' variant on ganzoo's ring of 8 Gaussians",
                "usage": "Use it from any run config with `variant: {{name: {name}, ...}}`; its options are "
                         "the fields of `{options}` in `{module}/plugin.py` (plus ganzoo's adversarial "
                         "options: `loss`, `lr_g`, `lr_d`, `betas`, `d_steps`, `regularizers`)."},
    "loss": {"suffix": "Loss", "registry_kind": "losses", "hook": "register_losses",
             "plugin": LOSS, "test": LOSS_TEST, "config_body": LOSS_CONFIG,
             "config": "{name}_ring.yaml", "summary": "ganzoo's vanilla GAN trained with the '{name}' loss",
             "usage": "Use it in any adversarial variant with `variant: {{loss: {name}, ...}}`."},
    "dataset": {"suffix": "Data", "registry_kind": "datasets", "hook": "register_datasets",
                "plugin": DATASET, "test": DATASET_TEST, "config_body": DATASET_CONFIG,
                "config": "{name}_vanilla.yaml", "summary": "ganzoo's vanilla GAN on the '{name}' data set",
                "usage": "Use it from any run config with `data: {{name: {name}, ...}}`; its options are "
                         "the fields of `{options}` in `{module}/plugin.py`."},
    "metric": {"suffix": "Metric", "registry_kind": "metrics", "hook": "register_metrics",
               "plugin": METRIC, "test": METRIC_TEST, "config_body": METRIC_CONFIG,
               "config": "{name}_ring.yaml", "summary": "ganzoo's vanilla GAN scored with the '{name}' metric",
               "usage": "Score a run with `ganzoo eval RUN_DIR --metrics {name}`, or during training "
                        "with `eval: {{metrics: [{name}]}}` in its config."},
    "regularizer": {"suffix": "Regularizer", "registry_kind": "regularizers", "hook": "register_regularizers",
                    "plugin": REGULARIZER, "test": REGULARIZER_TEST, "config_body": REGULARIZER_CONFIG,
                    "config": "{name}_ring.yaml", "summary": "ganzoo's vanilla GAN with the '{name}' regularizer",
                    "usage": "Add it to any adversarial variant with "
                             "`variant: {{regularizers: [{{name: {name}, every: 1}}]}}`."},
}
