"""``ganzoo new-plugin NAME [--dir DIR]``: scaffold a plugin package that installs, trains and
passes its own test unchanged.

The package (``ganzoo-NAME/``) has a ``pyproject.toml`` with the ``ganzoo`` entry point, a
``ganzoo_NAME/plugin.py`` with a small MLP GAN (points or images) to edit, a run config on the
built-in ``ring`` data, a README and a test built on :func:`ganzoo.testing.check_variant`.
Only stdlib imports at module level: ``ganzoo --help`` imports this file.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from .. import API_VERSION, __version__

#: lowercase words joined by single underscores: a Python identifier and a readable variant name
NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
MAX_NAME = 40


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new-plugin", help="scaffold a plugin package (variant, config, README, test)",
                       description="Create ganzoo-NAME/ (underscores in NAME become hyphens): an "
                                   "installable plugin package whose variant NAME trains as is; edit "
                                   "ganzoo_NAME/plugin.py from there.")
    p.add_argument("name", metavar="NAME",
                   help="variant and entry-point name: lowercase letters, digits and single '_'")
    p.add_argument("--dir", default=".", help="folder to create ganzoo-NAME/ in (default: current)")
    p.set_defaults(func=run)


def names(name: str) -> dict[str, str]:
    """Every spelling the templates need, from the validated NAME."""
    words = name.split("_")
    major = int(API_VERSION.split(".")[0])
    return {
        "name": name,
        "dist": "ganzoo-" + "-".join(words),
        "module": f"ganzoo_{name}",
        "cls": "".join(w.capitalize() for w in words) + "GAN",
        "options": "".join(w.capitalize() for w in words) + "Options",
        "api": f">={API_VERSION},<{major + 1}",
        "ganzoo_req": f"ganzoo>={__version__},<{major + 1}",
    }


def validate_name(name: str, *, check_registry: bool = True) -> None:
    """Raise a one-line :class:`GanzooError` for a NAME that is malformed or already taken."""
    from ..errors import GanzooError

    if len(name) > MAX_NAME or not NAME_RE.fullmatch(name):
        raise GanzooError(f"plugin name '{name}' is not valid: use lowercase letters, digits and single "
                          f"underscores, starting with a letter (at most {MAX_NAME} characters), "
                          f"e.g. 'my_gan'")
    if not check_registry:
        return
    from importlib import metadata

    from ..plugins import ENTRY_POINT_GROUP, get_registry

    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            raise GanzooError(f"plugin name '{name}' is already an entry point of an installed plugin "
                              f"({ep.value}); choose another NAME")
    registry = get_registry()
    if name in registry.names("variants"):
        owner = registry.entry("variants", name).plugin
        raise GanzooError(f"variant '{name}' is already registered by plugin '{owner}'; choose another NAME")


def scaffold(name: str, parent: str | Path = ".", *, check_registry: bool = True) -> Path:
    """Write the package for ``name`` under ``parent``; returns its folder."""
    from ..errors import GanzooError

    validate_name(name, check_registry=False)
    n = names(name)
    root = Path(parent) / n["dist"]
    if root.exists():
        raise GanzooError(f"{root} already exists; remove it or pass --dir to scaffold elsewhere")
    if check_registry:
        validate_name(name)
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"{n['module']}/__init__.py": INIT,
        f"{n['module']}/plugin.py": PLUGIN,
        f"configs/{name}_ring.yaml": CONFIG,
        f"tests/test_{name}.py": TEST,
    }
    try:
        for rel, template in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(template.format(**n), encoding="utf-8")
    except OSError as exc:
        raise GanzooError(f"cannot write the plugin package under {Path(parent)}: {exc.strerror}; "
                          f"check --dir") from None
    return root


def run(args: argparse.Namespace) -> int:
    root = scaffold(args.name, args.dir)
    n = names(args.name)
    print(f"created {root}/ (distribution {n['dist']}, module {n['module']}, variant '{args.name}')")
    steps = ((f"pip install -e {root}", "registers the entry point"),
             ("ganzoo plugins", f"lists {args.name} with {n['dist']} 0.1.0"),
             (f"python -m pytest {root}/tests", "check_variant on points and images"),
             (f"ganzoo run {root}/configs/{args.name}_ring.yaml", "about a minute on a CPU"))
    width = max(len(c) for c, _ in steps)
    print("next:")
    for command, why in steps:
        print(f"  {command:<{width}}  # {why}")
    return 0


# -- templates (str.format: literal braces are doubled) ------------------------------------------

PYPROJECT = '''\
[build-system]
# setuptools >= 70.1 builds wheels itself: `pip install --no-build-isolation -e .` needs nothing else
requires = ["setuptools>=70.1"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "The '{name}' GAN variant for ganzoo."
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["{ganzoo_req}"]

[project.optional-dependencies]
test = ["pytest>=7.4"]

# ganzoo loads the module named here and calls the hooks it implements
[project.entry-points.ganzoo]
{name} = "{module}.plugin"

[tool.setuptools.packages.find]
include = ["{module}*"]

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

INIT = '''\
"""The '{name}' ganzoo plugin; see {module}.plugin."""

__version__ = "0.1.0"
'''

PLUGIN = '''\
"""The '{name}' variant: a small MLP GAN to turn into your own.

Start here: change the networks in ``build_networks``, add options to ``{options}`` (they are
validated from the ``variant:`` block of a run config), add a discriminator regulariser in
``d_penalty`` or a constraint in ``after_d_step``, or override ``train_step`` entirely. The
``ganzoo`` entry point in pyproject.toml names this module; see ganzoo's docs/plugins.md.
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
    betas: tuple[float, float] = Field((0.5, 0.999), description="Adam betas")


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

    def d_penalty(self, real, fake, labels):
        """Extra terms added to D's loss, by name (each is logged); none in this skeleton."""
        return {{}}


@hookimpl
def register_variants(register):
    register("{name}", {cls})
'''

CONFIG = '''\
# The '{name}' variant on ganzoo's built-in ring of 8 Gaussians (2-D points); about a minute on a CPU.
#   ganzoo run configs/{name}_ring.yaml        then look at runs/{name}-ring/samples/final.png
run:
  name: {name}-ring
  out_dir: runs
seed: 0
device: auto
variant:
  name: {name}
  z_dim: 16
  hidden: [128, 128]
  loss: bce
  lr_g: 1.0e-3
  lr_d: 1.0e-3
data:
  name: ring
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

README = '''\
# {dist}

The `{name}` GAN variant as a ganzoo plugin.

```bash
pip install -e .                         # or: pip install --no-deps --no-build-isolation -e .
ganzoo plugins                           # {name}  [loaded]  {dist} 0.1.0
ganzoo run configs/{name}_ring.yaml      # 2-D ring of Gaussians, about a minute on a CPU
python -m pytest                         # ganzoo.testing.check_variant on points and images
```

Use it from any run config with `variant: {{name: {name}, ...}}`; its options are the fields of
`{options}` in `{module}/plugin.py` (plus ganzoo's adversarial options: `loss`, `lr_g`, `lr_d`,
`betas`, `d_steps`).

Layout: `{module}/plugin.py` (the variant and the `register_variants` hook), `pyproject.toml` (the
`ganzoo` entry point `{name} = "{module}.plugin"`), `configs/` (run configs), `tests/` (the smoke
test every variant should pass). `GANZOO_API = "{api}"` in the plugin module says which ganzoo
plugin-API versions it was written for.
'''

TEST = '''\
"""The '{name}' plugin is found through its entry point and passes ganzoo's smoke test."""

from __future__ import annotations

import pytest

from ganzoo import get_registry
from ganzoo.testing import check_variant
from {module}.plugin import {cls}

TINY = {{"name": "{name}", "z_dim": 4, "hidden": [16, 16]}}


def test_registered_through_the_entry_point():
    registry = get_registry()
    info = registry.plugins["{name}"]
    assert (info.status, info.distribution) == ("loaded", "{dist}"), info.error
    assert registry.get("variants", "{name}") is {cls}


@pytest.mark.parametrize("data", [{{"name": "ring", "size": 512}},
                                  {{"name": "shapes", "image_size": 16, "size": 32}}])
def test_check_variant(data, tmp_path):
    out = check_variant(TINY, data, tmp_path, steps=3)
    assert set(out["losses"]) == {{"loss_d", "loss_g"}}
'''
