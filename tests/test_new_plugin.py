"""``ganzoo new-plugin``: the scaffolded package installs, is listed by ``ganzoo plugins`` and passes
its own tests unchanged; bad names and existing folders are one-line errors."""

from __future__ import annotations

import importlib.util
import os
import site
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from ganzoo.cli import main
from ganzoo.plugins import api_compatible
from ganzoo.testing import check_variant


def _can_build_offline() -> bool:
    """setuptools >= 70.1 builds wheels on its own; older ones need the wheel package."""
    try:
        version = tuple(int(p) for p in metadata.version("setuptools").split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return False
    if version >= (70, 1):
        return True
    return importlib.util.find_spec("wheel") is not None


def throwaway_venv(path: Path) -> Path:
    """A venv that sees this environment's packages (torch, ganzoo, pytest, setuptools, pip) through
    a .pth file; its own site-packages gets only what is installed into it. (``--system-site-packages``
    would expose the base interpreter's packages instead, when this environment is itself a venv.)"""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    own = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    lines = [f"import site; site.addsitedir({p!r})" for p in site.getsitepackages()]
    (Path(own) / "_ganzoo_parent_env.pth").write_text("\n".join(lines) + "\n")
    return python


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GANZOO_", "PYTHONPATH"))}
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.mark.skipif(not _can_build_offline(),
                    reason="needs setuptools>=70.1 (or setuptools and wheel) to build without network")
def test_scaffold_installs_lists_and_passes_its_own_tests(tmp_path, capsys):
    assert main(["new-plugin", "scaffoldcheck", "--dir", str(tmp_path)]) == 0
    pkg = tmp_path / "ganzoo-scaffoldcheck"
    assert f"created {pkg}/" in capsys.readouterr().out

    python = throwaway_venv(tmp_path / "venv")
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
          "-e", str(pkg)])
    tests = _run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=pkg)
    assert "3 passed" in tests.stdout, tests.stdout
    listed = _run([str(python), "-m", "ganzoo", "plugins"], cwd=tmp_path)
    assert "scaffoldcheck  [loaded]  ganzoo-scaffoldcheck 0.1.0  module ganzoo_scaffoldcheck.plugin" \
        in listed.stdout
    assert "variants: scaffoldcheck" in listed.stdout
    # the throwaway venv kept it to itself
    assert "scaffoldcheck" not in _run([sys.executable, "-m", "ganzoo", "list", "variants"]).stdout


def test_scaffolded_module_registers_and_trains_in_process(tmp_path, ganzoo_plugin, monkeypatch):
    """Without installing: the generated plugin module, config and metadata are consistent."""
    from ganzoo import API_VERSION, load_config

    assert main(["new-plugin", "two_words", "--dir", str(tmp_path)]) == 0
    pkg = tmp_path / "ganzoo-two-words"
    assert sorted(str(p.relative_to(pkg)) for p in pkg.rglob("*") if p.is_file()) == [
        "README.md", "configs/two_words_ring.yaml", "ganzoo_two_words/__init__.py",
        "ganzoo_two_words/plugin.py", "pyproject.toml", "tests/test_two_words.py"]
    pyproject = (pkg / "pyproject.toml").read_text()
    assert '[project.entry-points.ganzoo]\ntwo_words = "ganzoo_two_words.plugin"' in pyproject
    assert 'name = "ganzoo-two-words"' in pyproject

    monkeypatch.syspath_prepend(str(pkg))
    try:
        import ganzoo_two_words.plugin as plugin

        assert api_compatible(plugin.GANZOO_API, API_VERSION)
        info = ganzoo_plugin(plugin)
        assert info.registered == {"variants": ["two_words"]}
        assert plugin.TwoWordsGAN.Options.__name__ == "TwoWordsOptions"
        cfg = load_config(pkg / "configs" / "two_words_ring.yaml")
        assert cfg.variant.name == "two_words" and cfg.data.name == "ring"
        out = check_variant({"name": "two_words", "z_dim": 4, "hidden": [16]},
                            {"name": "ring", "size": 256}, tmp_path / "check")
        assert out["samples"].shape == (4, 2)
    finally:
        for name in [m for m in sys.modules if m.startswith("ganzoo_two_words")]:
            del sys.modules[name]


def _expose_as_installed(pkg: Path, site_dir: Path) -> None:
    """What ``pip install -e pkg`` exposes to importlib.metadata: a dist-info with the package's
    entry points (read from its pyproject.toml) in a folder on the path."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the copy pip vendors
        from pip._vendor import tomli as tomllib

    project = tomllib.loads((pkg / "pyproject.toml").read_text())["project"]
    info = site_dir / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\n"
                                   f"Version: {project['version']}\n")
    eps = project["entry-points"]["ganzoo"]
    (info / "entry_points.txt").write_text("[ganzoo]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()))


KINDS = ["variant", "loss", "dataset", "metric", "regularizer"]


def test_every_kind_scaffolds_a_package_that_passes_its_own_tests(tmp_path, capsys):
    """One pytest run over the five scaffolds (each a kind), exposed as installed."""
    site_dir = tmp_path / "site"
    packages = []
    for kind in KINDS:
        name = f"demo_{kind}"
        assert main(["new-plugin", name, "--kind", kind, "--dir", str(tmp_path)]) == 0
        assert f"{kind} '{name}'" in capsys.readouterr().out
        pkg = tmp_path / f"ganzoo-demo-{kind}"
        pyproject = (pkg / "pyproject.toml").read_text()
        assert f'include = ["ganzoo_demo_{kind}*"]' in pyproject and 'test = ["pytest' in pyproject
        _expose_as_installed(pkg, site_dir)
        packages.append(pkg)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GANZOO_", "PYTHONPATH"))}
    env["PYTHONPATH"] = os.pathsep.join([str(site_dir), *map(str, packages)])
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          *[str(p / "tests") for p in packages]], capture_output=True, text=True,
                         env=env, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "15 passed" in out.stdout, out.stdout[-2000:]
    configs = [str(next((pkg / "configs").glob("*.yaml"))) for pkg in packages]
    code = "import sys\nfrom ganzoo import load_config\nfor c in sys.argv[1:]:\n    load_config(c)\n"
    check = subprocess.run([sys.executable, "-c", code, *configs], capture_output=True, text=True,
                           env=env, timeout=300)  # each config uses what its plugin adds
    assert check.returncode == 0, check.stderr[-3000:]


def test_kind_name_taken_in_its_own_registry(tmp_path, capsys):
    assert main(["new-plugin", "hinge", "--kind", "loss", "--dir", str(tmp_path)]) == 2
    assert "loss 'hinge' is already registered by plugin 'losses'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("bad", ["My_gan", "1gan", "my-gan", "my__gan", "gan_", "_gan", "a" * 41, ""])
def test_bad_name_is_a_one_line_error(bad, tmp_path, capsys):
    assert main(["new-plugin", bad, "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"plugin name '{bad}' is not valid" in err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("taken,why", [("dcgan", "already an entry point"),
                                       ("losses", "already an entry point"),
                                       ("wgan_gp", "variant 'wgan_gp' is already registered by plugin 'wgan'")])
def test_taken_name_is_a_one_line_error(taken, why, tmp_path, capsys):
    assert main(["new-plugin", taken, "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and why in err
    assert not any(tmp_path.iterdir())


def test_existing_folder_is_a_one_line_error_and_is_left_alone(tmp_path, capsys):
    target = tmp_path / "ganzoo-mine"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    assert main(["new-plugin", "mine", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{target} already exists" in err
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
