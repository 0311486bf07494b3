"""Plugin loading through real entry points: a throwaway distribution is put on sys.path."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from ganzoo.errors import GanzooError, PluginError
from ganzoo.plugins import PluginWarning, get_registry, reset_registry

GOOD = """
from ganzoo import hookimpl
from ganzoo.variants.vanilla import VanillaGAN

class TinyGAN(VanillaGAN):
    '''A third-party variant used by the tests.'''

@hookimpl
def register_variants(register):
    register("tiny_gan", TinyGAN)
"""


def make_distribution(site: Path, dist: str, module: str, source: str, ep_name: str | None = None,
                      version: str = "0.3.1") -> None:
    """A real installed distribution: module + dist-info with METADATA and entry_points.txt."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[ganzoo]\n{ep_name or module} = {module}\n")
    (info / "RECORD").write_text("")


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A fresh sys.path entry and a registry that rescans entry points before and after."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    monkeypatch.delenv("GANZOO_STRICT_PLUGINS", raising=False)
    monkeypatch.delenv("GANZOO_DISABLE_PLUGINS", raising=False)
    reset_registry()
    yield path
    for name in list(sys.modules):
        if name.startswith("ganzoo_test_"):
            del sys.modules[name]
    reset_registry()


def test_builtins_come_from_the_ganzoo_distribution(site):
    reg = get_registry()
    assert {"vanilla", "dcgan"} <= set(reg.names("variants"))
    assert {"bce", "minimax", "lsgan", "hinge", "wasserstein"} <= set(reg.names("losses"))
    info = reg.plugins["dcgan"]
    assert info.distribution == "ganzoo" and info.status == "loaded"
    assert info.hooks == ["register_variants"] and info.registered == {"variants": ["dcgan"]}
    assert reg.entry("variants", "dcgan").plugin == "dcgan"


def test_third_party_distribution_is_registered(site):
    make_distribution(site, "ganzoo-tiny", "ganzoo_test_tiny", GOOD, ep_name="tiny")
    reg = get_registry()
    assert "tiny_gan" in reg.names("variants")
    info = reg.plugins["tiny"]
    assert (info.distribution, info.version, info.status) == ("ganzoo-tiny", "0.3.1", "loaded")
    assert info.registered == {"variants": ["tiny_gan"]}


def test_plugin_raising_on_import_is_named_and_skipped(site):
    make_distribution(site, "ganzoo-broken", "ganzoo_test_broken", "raise RuntimeError('boom at import')")
    with pytest.warns(PluginWarning, match=r"'ganzoo_test_broken'.*boom at import"):
        reg = get_registry()
    assert reg.plugins["ganzoo_test_broken"].status == "failed"
    assert "dcgan" in reg.names("variants")  # the rest of ganzoo still works


def test_strict_mode_turns_a_broken_plugin_into_an_error(site, monkeypatch):
    make_distribution(site, "ganzoo-broken", "ganzoo_test_broken2", "import not_a_module_xyz")
    monkeypatch.setenv("GANZOO_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="ganzoo_test_broken2.*not_a_module_xyz"):
        get_registry()


def test_misspelled_hook_fails_that_plugin_with_a_suggestion(site):
    source = GOOD.replace("def register_variants", "def register_variant")
    make_distribution(site, "ganzoo-typo", "ganzoo_test_typo", source)
    with pytest.warns(PluginWarning, match="register_variant'.*did you mean 'register_variants'"):
        reg = get_registry()
    assert reg.plugins["ganzoo_test_typo"].status == "failed"
    assert "tiny_gan" not in reg.names("variants")


def test_duplicate_name_fails_only_the_second_plugin_naming_both(site):
    """A third-party plugin that sorts before the built-in ('aaa') still comes second to it."""
    source = GOOD.replace('register("tiny_gan"', 'register("dcgan"')
    make_distribution(site, "ganzoo-dup", "ganzoo_test_dup", source, ep_name="aaa_dup")
    with pytest.warns(PluginWarning, match="'dcgan' is registered twice: by plugin 'dcgan' and by "
                                           "plugin 'aaa_dup'.*GANZOO_DISABLE_PLUGINS=aaa_dup"):
        reg = get_registry()
    assert reg.plugins["aaa_dup"].status == "failed" and reg.plugins["aaa_dup"].registered == {}
    assert reg.entry("variants", "dcgan").plugin == "dcgan"
    from ganzoo.variants.dcgan import DCGAN

    assert reg.get("variants", "dcgan") is DCGAN


def test_duplicate_still_lets_ganzoo_plugins_show_it(site):
    source = GOOD.replace('register("tiny_gan"', 'register("dcgan"')
    make_distribution(site, "ganzoo-dup", "ganzoo_test_dup2", source)
    out = _ganzoo("plugins", env_extra={"PYTHONPATH": str(site)})
    assert out.returncode == 0, out.stderr
    assert "ganzoo_test_dup2  [failed]" in out.stdout and "registered twice" in out.stdout
    strict = _ganzoo("plugins", env_extra={"PYTHONPATH": str(site), "GANZOO_STRICT_PLUGINS": "1"})
    assert strict.returncode == 2 and "ganzoo_test_dup2  [failed]" in strict.stdout
    assert strict.stderr.splitlines()[-1] == (
        "ganzoo: error: 1 plugin(s) did not load: ganzoo_test_dup2 (an error because "
        "GANZOO_STRICT_PLUGINS is set; the reasons are listed above)")


def test_plugin_calling_sys_exit_on_import_is_a_failed_plugin(site):
    make_distribution(site, "ganzoo-exit", "ganzoo_test_exit", "import sys\nsys.exit(3)\n")
    with pytest.warns(PluginWarning, match=r"'ganzoo_test_exit'.*called sys.exit\(3\) on import"):
        reg = get_registry()
    assert reg.plugins["ganzoo_test_exit"].status == "failed"
    out = _ganzoo("list", "variants", env_extra={"PYTHONPATH": str(site)})
    assert out.returncode == 0 and "dcgan" in out.stdout, out.stderr


@pytest.mark.parametrize("source,match", [
    ("""
from pydantic import BaseModel
from ganzoo import hookimpl
from ganzoo.variants.vanilla import VanillaGAN

class Plain(BaseModel):
    name: str = "x"

class BadGAN(VanillaGAN):
    Options = Plain

@hookimpl
def register_variants(register):
    register("bad_gan", BadGAN)
""", r"variant 'bad_gan': its Options .*Plain.* is not a subclass of ganzoo.interfaces.VariantOptions"),
    ("""
from ganzoo import hookimpl

class NotALoss:
    pass

@hookimpl
def register_losses(register):
    register("not_a_loss", NotALoss)
""", r"loss 'not_a_loss': .*NotALoss.* is not a subclass of ganzoo.interfaces.Loss"),
    ("""
from pydantic import Field
from ganzoo import hookimpl
from ganzoo.variants.vanilla import VanillaGAN, VanillaOptions

class Opts(VanillaOptions):
    width: int = Field("wide", gt=0)

class BadDefault(VanillaGAN):
    Options = Opts

@hookimpl
def register_variants(register):
    register("bad_default", BadDefault)
""", r"variant 'bad_default': the default of Options.width is invalid .*'wide'"),
])
def test_registration_of_the_wrong_type_fails_that_plugin(site, source, match):
    make_distribution(site, "ganzoo-wrong", "ganzoo_test_wrong", source)
    with pytest.warns(PluginWarning, match=r"'ganzoo_test_wrong'.*" + match):
        reg = get_registry()
    assert reg.plugins["ganzoo_test_wrong"].status == "failed"
    assert "dcgan" in reg.names("variants")


def test_module_without_hooks_warns_and_is_an_error_in_strict_mode(site, monkeypatch):
    source = GOOD.replace("@hookimpl\n", "")
    make_distribution(site, "ganzoo-nohooks", "ganzoo_test_nohooks", source)
    with pytest.warns(PluginWarning, match="implements no ganzoo hook.*decorate register_variants "
                                           "with @ganzoo.hookimpl"):
        reg = get_registry()
    assert reg.plugins["ganzoo_test_nohooks"].status == "failed"
    reset_registry()
    monkeypatch.setenv("GANZOO_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="implements no ganzoo hook") as raised:
        get_registry()
    assert "skipped" not in str(raised.value) and "GANZOO_STRICT_PLUGINS is set" in str(raised.value)


def test_api_ranges_are_pep440_specifiers():
    from ganzoo.plugins import api_compatible

    assert api_compatible(">=1.0,<2", "1.0") and api_compatible("1.0", "1.0")
    assert api_compatible("~=1.0", "1.3") and not api_compatible("~=1.0", "2.0")
    assert not api_compatible(">=1.0,<2", "2.0") and api_compatible(">=1.0, <3", "2.0")
    with pytest.raises(ValueError):
        api_compatible(">=one", "1.0")


def test_plugin_for_api_1_is_told_what_changed_in_api_2(site, monkeypatch):
    import ganzoo
    from ganzoo.plugins import API_2_CHANGES

    monkeypatch.setattr(ganzoo, "API_VERSION", "2.0")
    make_distribution(site, "ganzoo-old", "ganzoo_test_old", 'GANZOO_API = ">=1.0,<2"\n' + GOOD)
    with pytest.warns(PluginWarning) as caught:
        reg = get_registry()
    text = next(str(w.message) for w in caught if "ganzoo_test_old" in str(w.message))
    assert "\n" not in text and text.endswith("What changed in API 2: " + API_2_CHANGES)
    assert "needs ganzoo plugin API >=1.0,<2" in text and "provides API 2.0" in text
    assert reg.plugins["ganzoo_test_old"].status == "incompatible"


def test_disable_plugins_by_entry_point_or_distribution(site, monkeypatch):
    make_distribution(site, "ganzoo-tiny", "ganzoo_test_tiny3", GOOD)
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "ganzoo-tiny, vanilla")
    reg = get_registry()
    assert reg.plugins["ganzoo_test_tiny3"].status == "disabled"
    assert reg.plugins["vanilla"].status == "disabled"
    assert "tiny_gan" not in reg.names("variants") and "vanilla" not in reg.names("variants")
    assert "dcgan" in reg.names("variants")


def test_unknown_name_suggests_the_closest(site):
    with pytest.raises(GanzooError, match="unknown variant 'dcgna'.*did you mean 'dcgan'"):
        get_registry().get("variants", "dcgna")


def _ganzoo(*args: str, env_extra: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def test_cli_plugins_lists_distribution_and_failures(site):
    make_distribution(site, "ganzoo-tiny", "ganzoo_test_tiny4", GOOD, ep_name="tiny4")
    make_distribution(site, "ganzoo-broken", "ganzoo_test_broken4", "raise ImportError('nope')")
    out = _ganzoo("plugins", env_extra={"PYTHONPATH": str(site)})
    assert out.returncode == 0, out.stderr
    assert "tiny4  [loaded]  ganzoo-tiny 0.3.1" in out.stdout
    assert "variants: tiny_gan" in out.stdout
    assert "ganzoo_test_broken4  [failed]" in out.stdout and "nope" in out.stdout
    assert "dcgan  [loaded]  ganzoo 0.1.0" in out.stdout
    assert "warning: ganzoo plugin 'ganzoo_test_broken4'" in out.stderr
    listed = _ganzoo("list", "variants", env_extra={"PYTHONPATH": str(site)})
    assert "tiny_gan" in listed.stdout and "dcgan" in listed.stdout


def test_help_imports_no_torch_and_no_plugin():
    code = ("import sys\nfrom ganzoo.cli import build_parser\nbuild_parser().format_help()\n"
            "bad = [m for m in sys.modules if m == 'torch' or m.startswith('ganzoo.variants')]\n"
            "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_plugin_needing_another_api_version_is_skipped_with_the_version(site):
    from ganzoo import API_VERSION

    major = int(API_VERSION.split(".")[0])
    make_distribution(site, "ganzoo-future", "ganzoo_test_future", f'GANZOO_API = ">={major + 1}.0"\n' + GOOD)
    make_distribution(site, "ganzoo-current", "ganzoo_test_current", f'GANZOO_API = ">={API_VERSION},<{major + 1}"\n'
                      + GOOD.replace('"tiny_gan"', '"tiny_gan_current"'))
    with pytest.warns(PluginWarning, match=rf"'ganzoo_test_future' .*is incompatible and was skipped: needs "
                                           rf"ganzoo plugin API >={major + 1}.0.*provides API {API_VERSION}"):
        reg = get_registry()
    assert reg.plugins["ganzoo_test_future"].status == "incompatible"
    assert "tiny_gan" not in reg.names("variants")
    assert "tiny_gan_current" in reg.names("variants")
