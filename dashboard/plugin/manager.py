"""Build one plugin manager per app, and the registry of reducers and panels it provides."""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pluggy

from dashboard.errors import ConfigError, PluginError, quote_list
from dashboard.plugin import hookspecs

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "embedding_dashboard"

#: Built-in plugins, registered through the same hooks as third-party ones: (name, module).
DEFAULT_PLUGINS: tuple[tuple[str, str], ...] = (
    ("pca", "reducers.pca"),
    ("umap", "reducers.umap"),
    ("tsne", "reducers.tsne"),
    ("as_logged", "reducers.as_logged"),
    ("controls", "plugins.controls"),
    ("scatter", "plugins.scatter"),
    ("gallery", "plugins.gallery"),
    ("neighbors", "plugins.neighbors"),
    ("search", "plugins.search"),
    ("table", "plugins.selection_table"),
    ("filter", "plugins.filter"),
    ("faithfulness", "plugins.faithfulness"),
    ("stability", "plugins.stability"),
    ("contrast", "plugins.contrast"),
    ("outliers", "plugins.outliers"),
    ("compare", "plugins.compare"),
    ("timeline", "plugins.timeline"),
    ("sklearn-datasets", "dashboard.data.sklearn_source"),
)


def get_plugin_manager(
    disable: Iterable[str] = (), *, load_entry_points: bool = True
) -> pluggy.PluginManager:
    """Return a fresh plugin manager with the built-ins and installed plugins registered.

    Parameters
    ----------
    disable
        Plugin names to block (built-in names as in :data:`DEFAULT_PLUGINS`, or
        entry-point names of installed plugins).
    load_entry_points
        Load third-party plugins from the ``embedding_dashboard`` entry-point group.
        A plugin that fails to import is warned about and skipped.

    Raises
    ------
    ConfigError
        If ``disable`` names a plugin that does not exist.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    disabled = set(disable)
    eps = list(entry_points(group=ENTRY_POINT_GROUP)) if load_entry_points else []
    known = {name for name, _ in DEFAULT_PLUGINS} | {ep.name for ep in eps}
    unknown = disabled - known
    if unknown:
        raise ConfigError(
            f"`disable_plugins`: unknown plugin {quote_list(unknown)}\n"
            f"allowed values: {quote_list(known)}"
        )
    for name in disabled:
        pm.set_blocked(name)
    for name, module in DEFAULT_PLUGINS:
        if not pm.is_blocked(name):
            pm.register(importlib.import_module(module), name=name)
    for ep in eps:
        if pm.is_blocked(ep.name) or pm.has_plugin(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken third-party plugin must not take the app down
            warnings.warn(
                f"skipping plugin {ep.name!r} ({ep.value}): import failed: {exc!r}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        pm.register(plugin, name=ep.name)
    pm.check_pending()
    return pm


@dataclass
class Registry:
    """Reducer and panel classes by name, with the plugin that provided each."""

    reducers: dict[str, Any] = field(default_factory=dict)
    panels: dict[str, Any] = field(default_factory=dict)
    providers: dict[tuple[str, str], str] = field(default_factory=dict)
    #: The ``dashboard_cluster_labels`` hook (plugins' names for a map's clusters), or None.
    cluster_labels: Any = None

    def reducer(self, name: str, *, key: str = "projection.reducer") -> Any:
        """Return the reducer class called ``name``; the error lists the allowed names."""
        try:
            return self.reducers[name]
        except KeyError:
            raise PluginError(
                f"`{key}`: unknown reducer {name!r}\nallowed values: {quote_list(self.reducers)}"
            ) from None

    def panel(self, name: str, *, key: str = "panels[].type") -> Any:
        """Return the panel class called ``name``; the error lists the allowed names."""
        try:
            return self.panels[name]
        except KeyError:
            raise PluginError(
                f"`{key}`: unknown panel type {name!r}\nallowed values: {quote_list(self.panels)}"
            ) from None


def build_registry(pm: pluggy.PluginManager) -> Registry:
    """Collect reducers and panels from every plugin; duplicate names fail naming both providers.

    The hooks are called through ``pm.hook``, so a plugin's hook wrapper can add, drop or
    reorder what the others return, as pluggy documents.

    Raises
    ------
    PluginError
        If two plugins provide the same name, or a hook returns something that is not a
        class with a ``name``.
    """
    registry = Registry(cluster_labels=pm.hook.dashboard_cluster_labels)
    kinds = (
        ("reducer", pm.hook.dashboard_reducers, registry.reducers),
        ("panel", pm.hook.dashboard_panels, registry.panels),
    )
    for kind, hook, target in kinds:
        results, providers = _call_attributed(hook)
        # pluggy returns the last registered plugin's result first: reversed, a built-in is
        # named first in a clash.
        for group in reversed(results):
            for cls in group or ():
                name = getattr(cls, "name", None)
                provider = providers.get(id(cls), "a hook wrapper")
                if not isinstance(cls, type) or not isinstance(name, str) or not name:
                    raise PluginError(
                        f"plugin {provider!r} returned {cls!r} from `{hook.name}`, which is "
                        f"not a {kind} class with a `name`\n"
                        f"return classes that subclass `dashboard.plugin.{kind.capitalize()}`"
                    )
                if name in target:
                    if target[name] is cls:
                        continue  # one class offered twice (e.g. by a wrapper): the same
                    other = registry.providers[(kind, name)]
                    raise PluginError(
                        f"{kind} name {name!r} is provided by both {other!r} and {provider!r}\n"
                        "uninstall or disable one of them with `disable_plugins:`"
                    )
                target[name] = cls
                registry.providers[(kind, name)] = provider
    return registry


def _call_attributed(hook: Any) -> tuple[list[Any], dict[int, str]]:
    """Call ``hook`` through pluggy (wrappers apply) and record which plugin returned each
    class: (results, ``id(cls)`` -> plugin name).

    Each implementation is called once, through a recording stand-in for its function for
    the length of this call (pluggy calls ``HookImpl.function``)."""
    providers: dict[int, str] = {}
    impls = [i for i in hook.get_hookimpls() if not (i.hookwrapper or i.wrapper)]
    originals = [(impl, impl.function) for impl in impls]

    def recording(name: str, function: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            returned = function(*args, **kwargs)
            if isinstance(returned, Iterable):
                returned = list(returned)  # a generator would be spent by the recording
                for cls in returned:
                    providers.setdefault(id(cls), name)
            return returned

        return call

    try:
        for impl, function in originals:
            impl.function = recording(impl.plugin_name, function)
        results = hook()
    finally:
        for impl, function in originals:
            impl.function = function
    return results, providers


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin: where it comes from and what it provides."""

    name: str
    source: str  # "built-in", or "<distribution> <version>" for an installed package
    reducers: tuple[str, ...]
    panels: tuple[str, ...]
    scans_tables: bool


def describe_plugins(pm: pluggy.PluginManager, registry: Registry) -> list[PluginInfo]:
    """The plugins ``pm`` holds, built-ins first, each with what it provides."""
    builtin = {name for name, _ in DEFAULT_PLUGINS}
    dists = {
        ep.name: f"{ep.dist.name} {ep.dist.version}" if ep.dist else ep.value
        for ep in entry_points(group=ENTRY_POINT_GROUP)
    }
    infos = []
    for name, plugin in pm.list_name_plugin():  # scans_tables needs the plugin object
        provided = {kind: [] for kind in ("reducer", "panel")}
        for (kind, item), provider in registry.providers.items():
            if provider == name:
                provided[kind].append(item)
        infos.append(
            PluginInfo(
                name=name,
                source="built-in" if name in builtin else dists.get(name, "registered in code"),
                reducers=tuple(sorted(provided["reducer"])),
                panels=tuple(sorted(provided["panel"])),
                scans_tables=hasattr(plugin, "dashboard_scan_table"),
            )
        )
    return sorted(infos, key=lambda i: (i.source != "built-in", i.name))


def plugins_text(infos: list[PluginInfo]) -> str:
    """``python -m dashboard plugins``'s output: one line a plugin, aligned."""
    rows = []
    for info in infos:
        provides = [f"reducer {r}" for r in info.reducers] + [f"panel {p}" for p in info.panels]
        if info.scans_tables:
            provides.append("table sources")
        rows.append((info.name, info.source, ", ".join(provides) or "-"))
    widths = [max(len(r[i]) for r in [("plugin", "from", ""), *rows]) for i in range(2)]
    lines = [f"{'plugin':<{widths[0]}}  {'from':<{widths[1]}}  provides"]
    lines += [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}" for a, b, c in rows]
    return "\n".join(lines)
