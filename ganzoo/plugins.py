"""Plugin loading and the registry of everything plugins register.

Plugins are found through the ``ganzoo`` entry-point group, ganzoo's own built-ins included, so a
third-party package is loaded exactly like a built-in one. Loading is lazy: nothing is imported
until a command needs a registered name (``ganzoo --help`` imports no plugin).

Failure policy (as in pytest and llm): a plugin that raises (or calls ``sys.exit``) on import,
implements a misspelled hook or no hook at all, raises inside a hook, registers something of the
wrong type (a variant that is no ``ganzoo.Variant``, an ``Options`` default its own schema
refuses) or a name another plugin already registered is skipped, named in a warning and listed as
failed by ``ganzoo plugins``; ``GANZOO_STRICT_PLUGINS=1`` makes that an error.
``GANZOO_DISABLE_PLUGINS=a,b`` skips plugins by entry-point or distribution name. Of two plugins
registering the same name, ganzoo's own built-ins come first, then the order of loading: the
second one fails, with both names in the message.
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
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from . import hookspecs
from .errors import GanzooError, PluginError

ENTRY_POINT_GROUP = "ganzoo"

#: What a plugin written for API 1.x must change for API 2 (shown when its GANZOO_API excludes 2).
API_2_CHANGES = ("Loss.g_loss now takes (fake_scores, real_scores); AdversarialVariant.d_penalty "
                 "became regularizers (variant.regularizers, hook register_regularizers); "
                 "capabilities are class attributes (conditional, translates, validates); see "
                 "docs/plugins.md, 'Migrating to plugin API 2'")


class _Rejected(Exception):
    """A registration that fails its plugin (wrong type, bad defaults, a name already taken)."""


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


def api_specifier(requirement: str) -> SpecifierSet:
    """``">=1.0,<2"`` as a :class:`SpecifierSet` (PEP 440); a bare version means ``==``.
    Raises ``ValueError`` for anything else."""
    clauses = [c.strip() for c in str(requirement).split(",")]
    if not all(clauses):
        raise ValueError(f"empty clause in {requirement!r}")
    try:
        return SpecifierSet(",".join(c if c[0] in "<>=!~" else f"=={c}" for c in clauses))
    except InvalidSpecifier as exc:
        raise ValueError(str(exc)) from None


def api_compatible(requirement: str, provided: str) -> bool:
    """Whether ``provided`` (e.g. "1.0") satisfies ``requirement`` (e.g. ">=1.0,<2")."""
    try:
        version = Version(provided)
    except InvalidVersion as exc:
        raise ValueError(str(exc)) from None
    return api_specifier(requirement).contains(version, prereleases=True)


def _written_for_api_1(requirement: str) -> bool:
    """Whether a range admits some 1.x release (so a plugin refused by API 2 needs migrating)."""
    spec = api_specifier(requirement)
    return any(spec.contains(Version(f"1.{minor}"), prereleases=True) for minor in range(100))


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
        self._loading: int | None = None  # the thread loading the plugins, while it does
        #: True: failures are warnings even under GANZOO_STRICT_PLUGINS (``ganzoo plugins``
        #: must be able to show what failed)
        self.lenient = False

    # -- loading ---------------------------------------------------------------------------
    def load(self) -> "Registry":
        if self._loading == threading.get_ident():  # waiting on our own lock would hang forever
            raise PluginError("a plugin asked for the registry while plugins are being registered "
                              "(from a register hook or an options validator); use "
                              "ganzoo.plugins.loaded_registry() there, which returns None meanwhile")
        with self._lock:
            if not self._loaded:
                self._loaded = True
                self._loading = threading.get_ident()
                try:
                    self._load_entry_points()
                    self._collect()
                finally:
                    self._loading = None
        return self

    def _strict(self) -> bool:
        return _strict() and not self.lenient

    def _fail(self, info: PluginInfo, message: str, status: str = "failed") -> None:
        info.status, info.error = status, message
        what = "failed to load" if status == "failed" else "is incompatible"
        if self._strict():
            raise PluginError(f"ganzoo plugin '{info.name}' ({info.module}) {what}: {message} "
                              f"(an error because GANZOO_STRICT_PLUGINS is set; unset it to skip "
                              f"the plugin with a warning)")
        warnings.warn(f"ganzoo plugin '{info.name}' ({info.module}) {what} and was skipped: {message}",
                      PluginWarning, stacklevel=4)

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
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # a broken plugin must not break ganzoo, nor exit it
                self._fail(info, _describe(exc, "on import"))
                continue
            self.register_module(module, info)

    def register_module(self, module: Any, info: PluginInfo) -> bool:
        """Register an imported plugin module (used by the loader and by ``ganzoo.testing``).

        A module may declare ``GANZOO_API = ">=1.0,<2"``: the range of ganzoo plugin-API
        versions it was written for; an incompatible plugin is skipped with a message.
        """
        from . import API_VERSION

        self.plugins[info.name] = info
        problem = _api_problem(getattr(module, "GANZOO_API", None), API_VERSION)
        if problem is not None:
            self._fail(info, problem, status="incompatible")
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
        if not info.hooks:
            self.pm.unregister(name=info.name)
            unmarked = [h for h in hookspecs.HOOK_KINDS if callable(getattr(module, h, None))]
            hint = (f"; decorate {unmarked[0]} with @ganzoo.hookimpl" if unmarked else
                    f"; implement one of {', '.join(hookspecs.HOOK_KINDS)} with @ganzoo.hookimpl")
            self._fail(info, f"implements no ganzoo hook, so it registers nothing{hint}")
            return False
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
            impls = caller.get_hookimpls()  # registration order; ganzoo's own built-ins first
            impls.sort(key=lambda impl: not self._builtin(impl.plugin_name))
            for impl in impls:
                if only is not None and impl.plugin_name != only:
                    continue
                info = self.plugins.get(impl.plugin_name)
                if info is None or info.status != "loaded":
                    continue
                try:
                    impl.function(register=self._registrar(kind, impl.plugin_name))
                except KeyboardInterrupt:
                    raise
                except _Rejected as exc:
                    self._unregister_plugin(impl.plugin_name)
                    self._fail(info, str(exc))
                except PluginError:
                    raise
                except BaseException as exc:
                    self._unregister_plugin(impl.plugin_name)
                    self._fail(info, _describe(exc, f"in {hook_name}"))

    def _builtin(self, plugin: str) -> bool:
        info = self.plugins.get(plugin)
        return info is not None and info.distribution == "ganzoo"

    def _registrar(self, kind: str, plugin: str):
        def register(name: str, obj: Any) -> None:
            if not isinstance(name, str) or not name:
                raise _Rejected(f"it registered a {singular(kind)} with an invalid name {name!r}")
            table = self._entries[kind]
            if name in table and table[name].plugin != plugin:
                first = table[name].plugin
                raise _Rejected(
                    f"{singular(kind)} '{name}' is registered twice: by plugin '{first}' "
                    f"and by plugin '{plugin}'; uninstall or disable one "
                    f"(GANZOO_DISABLE_PLUGINS={plugin})")
            problem = check_registration(kind, name, obj)
            if problem:
                raise _Rejected(f"{singular(kind)} '{name}': {problem}")
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


def _describe(exc: BaseException, where: str) -> str:
    """One line for an exception a plugin raised; ``sys.exit`` is named as such."""
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r}) {where}"
    return f"{type(exc).__name__} {where}: {exc}"


def _api_problem(wanted: Any, provided: str) -> str | None:
    """Why a plugin declaring ``GANZOO_API = wanted`` cannot load here (None if it can)."""
    if wanted is None:
        return None
    from . import __version__

    try:
        if api_compatible(str(wanted), provided):
            return None
    except ValueError:
        return (f"its GANZOO_API {wanted!r} is not a version range like '>=1.0,<2'; fix it to the "
                f"plugin-API versions the plugin supports")
    text = (f"needs ganzoo plugin API {wanted}, this ganzoo ({__version__}) provides API {provided}; "
            f"install a version of the plugin made for it")
    if Version(provided).major == 2 and _written_for_api_1(str(wanted)):
        text += f". What changed in API 2: {API_2_CHANGES}"
    return text


#: kind -> (base class, its Options base) as (module, name) pairs, imported when first checked.
_CONTRACTS: dict[str, tuple[tuple[str, str], tuple[str, str] | None]] = {
    "variants": (("ganzoo.interfaces", "Variant"), ("ganzoo.interfaces", "VariantOptions")),
    "losses": (("ganzoo.interfaces", "Loss"), None),
    "datasets": (("ganzoo.data.base", "DataSource"), ("ganzoo.data.base", "DataOptions")),
    "metrics": (("ganzoo.metrics.base", "Metric"), None),
    "regularizers": (("ganzoo.regularizers", "Regularizer"), ("ganzoo.regularizers", "RegularizerOptions")),
    "loggers": (("ganzoo.loggers.base", "Logger"), ("ganzoo.loggers.base", "LoggerOptions")),
}


def _import(where: tuple[str, str]) -> type:
    return getattr(importlib.import_module(where[0]), where[1])


def check_registration(kind: str, name: str, obj: Any) -> str | None:
    """What is wrong with registering ``obj`` as a ``kind`` (None if nothing): the base class
    and ``Options`` schema the hook's contract asks for, and ``Options`` defaults the schema
    itself accepts (a bad default would pass ``config check`` and fail in ``run``)."""
    if kind not in _CONTRACTS:
        return None if callable(obj) else f"{obj!r} is not callable"
    base_at, options_at = _CONTRACTS[kind]
    base = _import(base_at)
    if not (isinstance(obj, type) and issubclass(obj, base)):
        return f"{obj!r} is not a subclass of {base_at[0]}.{base_at[1]}"
    if options_at is None:
        return None
    options_base, options = _import(options_at), getattr(obj, "Options", None)
    if not (isinstance(options, type) and issubclass(options, options_base)):
        return f"its Options ({options!r}) is not a subclass of {options_at[0]}.{options_at[1]}"
    return check_option_defaults(options, name)


def check_option_defaults(options: type, name: str) -> str | None:
    """Validate every default of an Options model (pydantic does not by default)."""
    from pydantic import ConfigDict, ValidationError

    strict = type(f"_{options.__name__}Defaults", (options,),
                  {"model_config": ConfigDict(**{**options.model_config, "validate_default": True}),
                   "__module__": options.__module__})
    try:
        strict.model_validate({"name": name})
    except ValidationError as exc:
        errors = [e for e in exc.errors() if e["type"] != "missing"]
        if errors:
            e = errors[0]
            key = ".".join(str(p) for p in e["loc"])
            return (f"the default of Options.{key} is invalid ({e['msg']}, got {e.get('input')!r}); "
                    f"fix the default in {options.__module__}.{options.__qualname__}")
    return None


_registry: Registry | None = None


def get_registry(*, lenient: bool = False) -> Registry:
    """The process-wide registry, loading plugins on first use. ``lenient``: plugin failures
    stay warnings even under ``GANZOO_STRICT_PLUGINS`` (for ``ganzoo plugins``, which shows them)."""
    global _registry
    if _registry is None:
        _registry = Registry()
    if lenient and not _registry._loaded:
        _registry.lenient = True
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


def list_loggers() -> list[str]:
    return get_registry().names("loggers")


def get_logger(name: str) -> Any:
    """The logger class registered as ``name`` (see :mod:`ganzoo.loggers`)."""
    return get_registry().get("loggers", name)


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
