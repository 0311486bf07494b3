"""Plugin loading and the registry of everything plugins register.

Plugins are found through the ``ganzoo`` entry-point group, ganzoo's own built-ins included, so a
third-party package is loaded exactly like a built-in one. Loading is lazy: nothing is imported
until a command needs a registered name (``ganzoo --help`` imports no plugin).

Failure policy (as in pytest and llm): a plugin that raises on import, implements a misspelled
hook or raises inside a hook is skipped, named in a warning and listed as failed by
``ganzoo plugins``; ``GANZOO_STRICT_PLUGINS=1`` makes that an error. ``GANZOO_DISABLE_PLUGINS=a,b``
skips plugins by entry-point or distribution name. Two plugins registering the same name is always
an error that names both.
"""

from __future__ import annotations

import difflib
import importlib
import os
import threading
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .errors import GanzooError, PluginError

ENTRY_POINT_GROUP = "ganzoo"


class PluginWarning(UserWarning):
    """A plugin failed to load; ganzoo goes on without it."""


@dataclass
class PluginInfo:
    """What ``ganzoo plugins`` shows about one plugin."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)
    status: str = "loaded"  # loaded | failed | disabled
    error: str | None = None


@dataclass(frozen=True)
class Entry:
    """One registered thing: its name, the object, and the plugin that registered it."""

    kind: str
    name: str
    obj: Any
    plugin: str


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.strip().split("."))


def api_compatible(requirement: str, provided: str) -> bool:
    """Whether ``provided`` (e.g. "1.0") satisfies ``requirement`` (e.g. ">=1.0,<2")."""
    have = _version_tuple(provided)
    ops = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b,
           "!=": lambda a, b: a != b, ">": lambda a, b: a > b, "<": lambda a, b: a < b}
    for clause in requirement.split(","):
        clause = clause.strip()
        op = next((o for o in (">=", "<=", "==", "!=", ">", "<") if clause.startswith(o)), "==")
        want = _version_tuple(clause[len(op):] if clause.startswith(op) else clause)
        width = max(len(want), len(have))
        if not ops[op](have + (0,) * (width - len(have)), want + (0,) * (width - len(want))):
            return False
    return True


def suggest(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """A ``" (did you mean 'x'?)"`` suffix, or an empty string when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def singular(kind: str) -> str:
    """"losses" -> "loss", "variants" -> "variant" (for messages)."""
    return kind[:-2] if kind.endswith("sses") else kind[:-1]


def _env_list(var: str) -> set[str]:
    return {p.strip() for p in os.environ.get(var, "").split(",") if p.strip()}


def _strict() -> bool:
    return os.environ.get("GANZOO_STRICT_PLUGINS", "").strip().lower() in {"1", "true", "yes", "on"}


class Registry:
    """Loads the plugins once and answers ``list``/``get`` by kind and name."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self._entries: dict[str, dict[str, Entry]] = {k: {} for k in hookspecs.HOOK_KINDS.values()}
        self._loaded = False
        self._lock = threading.Lock()

    # -- loading ---------------------------------------------------------------------------
    def load(self) -> "Registry":
        with self._lock:
            if not self._loaded:
                self._loaded = True
                self._load_entry_points()
                self._collect()
        return self

    def _fail(self, info: PluginInfo, message: str) -> None:
        info.status, info.error = "failed", message
        text = f"ganzoo plugin '{info.name}' ({info.module}) failed to load and was skipped: {message}"
        if _strict():
            raise PluginError(text + " (GANZOO_STRICT_PLUGINS is set)")
        warnings.warn(text, PluginWarning, stacklevel=4)

    def _load_entry_points(self) -> None:
        disabled = _env_list("GANZOO_DISABLE_PLUGINS")
        seen: set[str] = set()
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if ep.name in seen:  # the same distribution seen twice on sys.path
                continue
            seen.add(ep.name)
            dist = getattr(ep, "dist", None)
            info = PluginInfo(name=ep.name, module=ep.value,
                              distribution=dist.metadata["Name"] if dist else None,
                              version=dist.version if dist else None)
            self.plugins[ep.name] = info
            if ep.name in disabled or (info.distribution and info.distribution in disabled):
                info.status = "disabled"
                continue
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must not break ganzoo
                self._fail(info, f"{type(exc).__name__}: {exc}")
                continue
            self.register_module(module, info)

    def register_module(self, module: Any, info: PluginInfo) -> bool:
        """Register an imported plugin module (used by the loader and by ``ganzoo.testing``).

        A module may declare ``GANZOO_API = ">=1.0,<2"``: the range of ganzoo plugin-API
        versions it was written for; an incompatible plugin is skipped with a message.
        """
        from . import API_VERSION

        self.plugins[info.name] = info
        wanted = getattr(module, "GANZOO_API", None)
        if wanted is not None:
            try:
                ok = api_compatible(str(wanted), API_VERSION)
            except ValueError:
                ok, wanted = False, f"{wanted!r} (not a version range like '>=1.0,<2')"
            if not ok:
                info.status = "incompatible"
                info.error = (f"needs ganzoo plugin API {wanted}, this ganzoo ({__import__('ganzoo').__version__}) "
                              f"provides API {API_VERSION}; install a version of the plugin made for it")
                text = f"ganzoo plugin '{info.name}' was skipped: it {info.error}"
                if _strict():
                    raise PluginError(text)
                warnings.warn(text, PluginWarning, stacklevel=4)
                return False
        try:
            self.pm.register(module, name=info.name)
        except ValueError as exc:  # already registered
            self._fail(info, str(exc))
            return False
        except pluggy.PluginValidationError as exc:
            self._fail(info, str(exc))
            return False
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            self.pm.unregister(name=info.name)
            hook = str(exc).split("'")[1] if "'" in str(exc) else ""
            self._fail(info, f"unknown hook '{hook}'{suggest(hook, list(hookspecs.HOOK_KINDS))}")
            return False
        info.hooks = sorted(impl.name for impl in self._impls(info.name))
        return True

    def _impls(self, plugin_name: str):
        plugin = self.pm.get_plugin(plugin_name)
        out = []
        for caller in self.pm.get_hookcallers(plugin) or []:
            out.append(caller)
        return out

    def _collect(self, only: str | None = None) -> None:
        for hook_name, kind in hookspecs.HOOK_KINDS.items():
            caller = getattr(self.pm.hook, hook_name)
            for impl in caller.get_hookimpls():  # registration order
                if only is not None and impl.plugin_name != only:
                    continue
                info = self.plugins.get(impl.plugin_name)
                if info is None or info.status != "loaded":
                    continue
                try:
                    impl.function(register=self._registrar(kind, impl.plugin_name))
                except PluginError:
                    raise
                except Exception as exc:
                    self._unregister_plugin(impl.plugin_name)
                    self._fail(info, f"{hook_name} raised {type(exc).__name__}: {exc}")

    def _registrar(self, kind: str, plugin: str):
        def register(name: str, obj: Any) -> None:
            if not isinstance(name, str) or not name:
                raise PluginError(f"plugin '{plugin}' registered a {singular(kind)} with an invalid name {name!r}")
            table = self._entries[kind]
            if name in table and table[name].plugin != plugin:
                first = table[name].plugin
                # suggest disabling the third-party one, not one of ganzoo's own
                third_party = [p for p in (plugin, first) if p in self.plugins
                               and self.plugins[p].distribution != "ganzoo"]
                raise PluginError(
                    f"{singular(kind)} '{name}' is registered twice: by plugin '{first}' "
                    f"and by plugin '{plugin}'; uninstall or disable one "
                    f"(GANZOO_DISABLE_PLUGINS={(third_party or [plugin])[0]})")
            table[name] = Entry(kind, name, obj, plugin)
            self.plugins[plugin].registered.setdefault(kind, []).append(name)
        return register

    def _unregister_plugin(self, plugin: str) -> None:
        for table in self._entries.values():
            for name in [n for n, e in table.items() if e.plugin == plugin]:
                del table[name]
        if plugin in self.plugins:
            self.plugins[plugin].registered = {}
        if self.pm.get_plugin(plugin) is not None:
            self.pm.unregister(name=plugin)

    def add_plugin(self, module: Any, name: str | None = None) -> PluginInfo:
        """Register a plugin module at run time (tests, notebooks); returns its info."""
        self.load()
        name = name or getattr(module, "__name__", repr(module))
        info = PluginInfo(name=name, module=getattr(module, "__name__", repr(module)))
        if self.register_module(module, info):
            self._collect(only=name)
        return info

    def remove_plugin(self, name: str) -> None:
        self._unregister_plugin(name)
        self.plugins.pop(name, None)

    # -- lookup ----------------------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        self.load()
        return sorted(self._entries[kind])

    def entry(self, kind: str, name: str) -> Entry:
        self.load()
        table = self._entries[kind]
        if name not in table:
            known = ", ".join(sorted(table)) or "none"
            raise GanzooError(f"unknown {singular(kind)} '{name}'{suggest(name, list(table))}; "
                              f"known {kind}: {known} (see 'ganzoo list {kind}')")
        return table[name]

    def get(self, kind: str, name: str) -> Any:
        return self.entry(kind, name).obj


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, loading plugins on first use."""
    global _registry
    if _registry is None:
        _registry = Registry()
    return _registry.load()


def loaded_registry() -> Registry | None:
    """The registry once its plugins have finished loading, else None: for checks (such as
    option validators) that must neither start loading nor wait on it, which could deadlock when
    a plugin builds options while it is being imported."""
    reg = _registry
    return reg if reg is not None and reg._loaded and not reg._lock.locked() else None


def reset_registry() -> None:
    """Forget loaded plugins so the next lookup scans entry points again (for tests)."""
    global _registry
    _registry = None
    importlib.invalidate_caches()


def list_variants() -> list[str]:
    return get_registry().names("variants")


def list_losses() -> list[str]:
    return get_registry().names("losses")


def list_datasets() -> list[str]:
    return get_registry().names("datasets")


def list_metrics() -> list[str]:
    return get_registry().names("metrics")


def get_variant(name: str) -> Any:
    return get_registry().get("variants", name)


def get_loss(name: str) -> Any:
    return get_registry().get("losses", name)


def get_dataset(name: str) -> Any:
    return get_registry().get("datasets", name)


def get_metric(name: str) -> Any:
    return get_registry().get("metrics", name)


def create_loss(name: str) -> Any:
    """An instance of the loss registered as ``name``."""
    return get_loss(name)()
