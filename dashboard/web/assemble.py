"""From a config to panels: validate it against the plugins and the data, open the tables,
build the shared :class:`~dashboard.plugin.PanelContext` and the panels. No Dash object exists
yet, so this is testable alone and serves the precompute command too."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy
from pydantic import ValidationError

from dashboard.config import DashboardConfig, format_validation_error, load_config, parse_config
from dashboard.data.dataset import Dataset
from dashboard.data.sources import Datasets, open_datasets, resolve_table
from dashboard.errors import ConfigError, DashboardError, quote_list
from dashboard.plugin.context import PanelContext
from dashboard.plugin.manager import Registry, build_registry, get_plugin_manager
from dashboard.plugin.panel import DerivedColumn, Panel
from dashboard.projection.request import ProjectionRequest
from dashboard.projection.store import ProjectionStore
from dashboard.web.pages import PageViews


@dataclass
class Dashboard:
    """Everything a config resolves to before any Dash object exists."""

    context: PanelContext
    panels: list[Panel]
    plugin_manager: pluggy.PluginManager
    cache_dir: Path
    #: The latest view of each open page, as the view callback made it (a notebook reads
    #: its page's selection here).
    pages: PageViews = field(default_factory=PageViews)


def prepare(
    config: DashboardConfig | Mapping[str, Any] | str | os.PathLike[str],
    *,
    plugin_manager: pluggy.PluginManager | None = None,
    url_base: str = "/",
) -> Dashboard:
    """Validate ``config`` against plugins and data; build the context and the panels.

    Raises
    ------
    DashboardError
        When the config, its tables or its plugins are invalid; the message names the file,
        the key and the allowed values.
    """
    if isinstance(config, (str, os.PathLike)):
        config = load_config(config)
    elif not isinstance(config, DashboardConfig):
        config = parse_config(config)
    cache_dir = config.writable_cache_dir()
    if plugin_manager is None:
        try:
            plugin_manager = get_plugin_manager(config.disable_plugins)
        except ConfigError as exc:
            raise ConfigError(f"{config.source}: {exc}") from None
    registry = build_registry(plugin_manager)
    datasets = _open_datasets(config, plugin_manager, cache_dir)
    _check_stratify(config, datasets)
    initial = _initial_request(config, datasets, registry)
    store = ProjectionStore(cache_dir)
    budget = config.resolved_memory_budget()
    for dataset in datasets.values():
        dataset.keep_matrix_in(
            store,
            memory_budget=budget,
            approximate_above=config.approximate_neighbors_above,
        )
    context = PanelContext(
        config,
        datasets,
        registry,
        store,
        initial,
        reducer_cache=config.resolved_numba_cache_dir(),
    )
    if context.engine is not None:
        for dataset in datasets.values():
            dataset.use_engine(context.engine)
    panels = _build_panels(config, registry, context)
    derived: list[DerivedColumn] = [c for panel in panels for c in panel.derived_columns()]
    context._attach(url_base=url_base, derived=derived)
    return Dashboard(context, panels, plugin_manager, cache_dir)


def _open_datasets(config: DashboardConfig, pm: pluggy.PluginManager, cache_dir: Path) -> Datasets:
    datasets: dict[str, Dataset] = {}
    for name, table in config.tables.items():
        try:
            datasets.update(
                open_datasets(
                    name,
                    table,
                    scan_hook=pm.hook.dashboard_scan_table,
                    cache_dir=cache_dir,
                    where=config.source,
                )
            )
        except DashboardError as exc:
            if str(exc).startswith(config.source):
                raise
            raise type(exc)(f"{config.source}: `tables.{name}.path`: {exc}") from None
    return Datasets(datasets)


def _check_stratify(config: DashboardConfig, datasets: dict[str, Dataset]) -> None:
    column = config.projection.sample.stratify
    if column and not any(column in d.metadata_columns for d in datasets.values()):
        columns = sorted({c for d in datasets.values() for c in d.metadata_columns})
        raise config.error(
            "projection.sample.stratify",
            f"no table has a column {column!r}",
            f"allowed values: {quote_list(columns)}",
        )


#: The reducer that draws a table of 2 or 3 dimensions as it is (``reducers.as_logged``).
AS_LOGGED = "as_logged"


def _initial_request(
    config: DashboardConfig, datasets: dict[str, Dataset], registry: Registry
) -> ProjectionRequest:
    proj = config.projection
    table = proj.table or next(
        (p.options().get("table") for p in config.panels if p.options().get("table")),
        next(iter(config.tables)),
    )
    resolved = resolve_table(datasets, table)
    if resolved is None:
        key = "projection.table" if proj.table else "panels[].table"
        raise config.error(
            key, f"unknown table {table!r}", f"allowed values: {quote_list(datasets)}"
        )
    try:
        reducer = registry.reducer(proj.reducer)
    except DashboardError as exc:
        raise ConfigError(f"{config.source}: {exc}") from None
    try:
        params = reducer.Params.model_validate(proj.params)
    except ValidationError as exc:
        raise ConfigError(
            format_validation_error(exc, reducer.Params, config.source, prefix="projection.params")
        ) from None
    request = ProjectionRequest(resolved, proj.reducer, proj.dims, params.model_dump(mode="json"))
    return _as_logged_if_drawn(request, datasets[resolved], registry)


def _as_logged_if_drawn(
    request: ProjectionRequest, dataset: Dataset, registry: Registry
) -> ProjectionRequest:
    """A table of 2 or 3 dimensions opens drawn as it is (as a switch to it does:
    :func:`dashboard.web.state.fit_reducer`)."""
    dims = as_logged_dims(dataset, registry)
    if dims is None or request.reducer == AS_LOGGED:
        return request
    return ProjectionRequest(dataset.name, AS_LOGGED, dims, {})


def as_logged_dims(dataset: Dataset | None, registry: Registry) -> int | None:
    """The dims (2 or 3) ``dataset`` is drawn in as logged: its embedding is coordinates
    already (the W&B blog's PCA and t-SNE tables, `Object3D` point clouds); None for a
    wider or unreadable one, or when the "as logged" reducer is not installed."""
    if dataset is None or AS_LOGGED not in registry.reducers:
        return None
    dims = dataset.readable_dims
    return dims if dims in (2, 3) else None


def _build_panels(
    config: DashboardConfig, registry: Registry, context: PanelContext
) -> list[Panel]:
    panels = []
    for i, entry in enumerate(config.panels):
        try:
            cls = registry.panel(entry.type, key=f"panels[{i}].type")
        except DashboardError as exc:
            raise ConfigError(f"{config.source}: {exc}") from None
        try:
            options = cls.Options.model_validate(entry.options())
        except ValidationError as exc:
            raise ConfigError(
                format_validation_error(exc, cls.Options, config.source, prefix=f"panels[{i}]")
            ) from None
        panel = cls(options, context, i)
        panel.validate()
        panels.append(panel)
    return panels
