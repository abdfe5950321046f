"""Build the Dash app from a config: plugins, tables, panels, and the projection callback."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dash_bootstrap_components as dbc
import diskcache
import flask
import pluggy
from dash import Dash, Input, Output, dcc, html, no_update
from dash.exceptions import PreventUpdate
from pydantic import ValidationError

from dashboard import url_state
from dashboard.config import DashboardConfig, format_validation_error, load_config, parse_config
from dashboard.data import Dataset, open_datasets
from dashboard.errors import ConfigError, DashboardError, quote_list
from dashboard.isolation import (
    build_panel_layout,
    callback_error_handler,
    register_panel_callbacks,
)
from dashboard.jobs import POLL_MS, JobCancelledError, ThreadJobManager
from dashboard.locked_dash import LockedSetupDash
from dashboard.panel import (
    FILTER_STORE,
    HIGHLIGHT_STORE,
    PROJECTION_STORE,
    REQUEST_STORE,
    SELECTION_STORE,
    Panel,
    PanelContext,
    alert,
    resolve_table,
)
from dashboard.plugin_manager import Registry, build_registry, get_plugin_manager
from dashboard.projection import ProjectionRequest, ProjectionStore, run_projection
from dashboard.routes import BOOTSTRAP_CSS, STATIC_ROUTE, add_image_route, add_static_route

logger = logging.getLogger(__name__)


def create_app(
    config: DashboardConfig | Mapping[str, Any] | str | os.PathLike[str],
    *,
    server: flask.Flask | bool = True,
    url_base_pathname: str = "/",
    plugin_manager: pluggy.PluginManager | None = None,
    compress: bool = True,
) -> Dash:
    """Build the dashboard described by ``config``.

    Parameters
    ----------
    config
        A :class:`DashboardConfig`, a mapping as parsed from YAML, or a path to a YAML file.
    server
        A Flask app to mount the dashboard in, or True for a new one (``app.server``).
    url_base_pathname
        Where the dashboard lives on ``server``, e.g. ``"/projector/"``.
    plugin_manager
        A prepared plugin manager (tests); default: built from the config.
    compress
        gzip responses (Flask-Compress). It applies to the whole ``server``: pass False
        when the host app compresses already.

    Raises
    ------
    DashboardError
        When the config, its tables or its plugins are invalid; the message names the file,
        the key and the allowed values.

    Examples
    --------
    >>> flask_app = flask.Flask(__name__)
    >>> create_app("configs/demo.yaml", server=flask_app, url_base_pathname="/projector/")
    ... # doctest: +SKIP
    """
    dashboard = prepare(config, plugin_manager=plugin_manager)
    context, panels = dashboard.context, dashboard.panels
    cache_dir = dashboard.cache_dir
    if not url_base_pathname.endswith("/"):
        url_base_pathname += "/"
    # Dash keys background results by callback code and arguments, which two dashboards
    # in one process share: each mount point gets its own result store.
    mount = url_base_pathname.strip("/").replace("/", "_") or "root"
    manager: Any
    if context.config.celery is not None:
        from dash import CeleryManager

        from dashboard.worker import make_celery

        manager = CeleryManager(make_celery(context.config.celery))
    else:
        manager = ThreadJobManager(diskcache.Cache(cache_dir / "callbacks" / mount))
    app = LockedSetupDash(
        "dashboard",
        server=server,
        url_base_pathname=url_base_pathname,
        title=context.config.title,
        external_stylesheets=[url_base_pathname + STATIC_ROUTE + BOOTSTRAP_CSS],
        background_callback_manager=manager,
        update_title=None,
        # gzip: coordinates are base64 float32, which gzip brings back to about 4 bytes.
        compress=compress,
        on_error=callback_error_handler(panels),
    )
    add_static_route(app)
    add_image_route(app, context.datasets)
    built = {panel.index: build_panel_layout(panel) for panel in panels}
    app.layout = _layout(context.config, panels, context.initial_request, built)
    _register_projection_callback(app, context, manager)
    for panel in panels:
        if built[panel.index][1]:  # a panel without its layout gets no callbacks
            register_panel_callbacks(app, panel)
    app.layout.children.extend(url_state.register(app, panels))
    return app


@dataclass
class Dashboard:
    """Everything a config resolves to before any Dash object exists (testable on its own)."""

    context: PanelContext
    panels: list[Panel]
    plugin_manager: pluggy.PluginManager
    cache_dir: Path


def prepare(
    config: DashboardConfig | Mapping[str, Any] | str | os.PathLike[str],
    *,
    plugin_manager: pluggy.PluginManager | None = None,
) -> Dashboard:
    """Validate ``config`` against plugins and data; build the panels.

    Raises
    ------
    DashboardError
        As :func:`create_app`.
    """
    if isinstance(config, (str, os.PathLike)):
        config = load_config(config)
    elif not isinstance(config, DashboardConfig):
        config = parse_config(config)
    cache_dir = config.resolved_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    # numba reads this at import (inside reducers): JIT-compiled code is reused across runs.
    os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir / "numba"))

    if plugin_manager is None:
        try:
            plugin_manager = get_plugin_manager(config.disable_plugins)
        except ConfigError as exc:
            raise ConfigError(f"{config.source}: {exc}") from None
    registry = build_registry(plugin_manager)
    datasets = _open_datasets(config, plugin_manager, cache_dir)
    _check_stratify(config, datasets)
    initial = _initial_request(config, datasets, registry)
    context = PanelContext(config, datasets, registry, ProjectionStore(cache_dir), initial)
    panels = _build_panels(config, registry, context)
    return Dashboard(context, panels, plugin_manager, cache_dir)


def _open_datasets(
    config: DashboardConfig, pm: pluggy.PluginManager, cache_dir: Path
) -> dict[str, Dataset]:
    datasets = {}
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
    return datasets


def _check_stratify(config: DashboardConfig, datasets: dict[str, Dataset]) -> None:
    column = config.projection.sample.stratify
    if column and not any(column in d.metadata_columns for d in datasets.values()):
        columns = sorted({c for d in datasets.values() for c in d.metadata_columns})
        raise config.error(
            "projection.sample.stratify",
            f"no table has a column {column!r}",
            f"allowed values: {quote_list(columns)}",
        )


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
    table = resolved
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
    return ProjectionRequest(table, proj.reducer, proj.dims, params.model_dump(mode="json"))


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


def _layout(
    config: DashboardConfig,
    panels: list[Panel],
    initial: ProjectionRequest,
    built: dict[int, tuple[Any, bool]],
) -> Any:
    header = html.Header(
        dbc.Container(
            [
                html.H1(config.title, className="h5 mb-0 fw-semibold"),
                html.Div(
                    [
                        html.Div(
                            [
                                html.Small(id="dashboard-progress-text", className="me-2"),
                                dbc.Progress(
                                    id="dashboard-progress",
                                    value=0,
                                    striped=True,
                                    animated=True,
                                    style={"width": "10rem", "height": "0.9rem"},
                                ),
                            ],
                            id="dashboard-progress-wrap",
                            className="align-items-center",
                            style={"display": "none"},
                        ),
                        html.Div(id="dashboard-status", className="small text-body-secondary"),
                    ],
                    className="d-flex align-items-center gap-3",
                ),
            ],
            fluid=True,
            className="d-flex justify-content-between align-items-center py-2",
        ),
        className="mb-3 border-bottom bg-body-tertiary",
    )
    columns = [
        dbc.Col(
            html.Section(
                built[panel.index][0], id=f"panel-{panel.index}", **{"data-panel": panel.name}
            ),
            md=panel.options.width,
            className="mb-3",
        )
        for panel in panels
    ]
    return html.Div(
        [
            header,
            dbc.Container(dbc.Row(columns), fluid=True),
            dcc.Store(id=REQUEST_STORE, data=initial.to_dict()),
            dcc.Store(id=PROJECTION_STORE),
            dcc.Store(id=SELECTION_STORE, data={"table": None, "rows": []}),
            dcc.Store(id=HIGHLIGHT_STORE, data={"table": None, "rows": []}),
            dcc.Store(id=FILTER_STORE, data={"table": None, "filters": {}}),
        ]
    )


def _register_projection_callback(app: Dash, context: PanelContext, manager: Any) -> None:
    """Compute the requested projection in a background process, reporting progress."""

    @app.callback(
        Output(PROJECTION_STORE, "data"),
        Output("dashboard-status", "children"),
        Input(REQUEST_STORE, "data"),
        background=True,
        interval=POLL_MS,
        progress=[
            Output("dashboard-progress", "value"),
            Output("dashboard-progress-text", "children"),
        ],
        progress_default=[0, ""],
        running=[
            (Output("dashboard-progress-wrap", "style"), {"display": "flex"}, {"display": "none"})
        ],
    )
    def project(set_progress: Any, request: dict[str, Any] | None) -> tuple[Any, Any]:
        def progress(fraction: float, message: str) -> None:
            if isinstance(manager, ThreadJobManager):  # Celery stops its own tasks
                manager.raise_if_cancelled()  # a newer request replaced this one
            set_progress((round(100 * fraction), message))

        try:
            return compute_projection(request, context, progress)
        except JobCancelledError:
            raise PreventUpdate from None


def compute_projection(
    request: Mapping[str, Any] | None, context: PanelContext, progress: Any = None
) -> tuple[Any, Any]:
    """The projection callback's body: (summary for the store, status line or error alert)."""
    if not request:
        return no_update, no_update
    try:
        result = run_projection(
            ProjectionRequest.from_dict(request),
            context.datasets,
            context.registry,
            context.store,
            progress,
            pca_dims=context.config.projection.pca_dims,
            sample=context.config.projection.sample,
            time_limit=context.config.projection.time_limit,
        )
    except DashboardError as exc:
        logger.warning("projection failed: %s", exc)
        return no_update, alert(str(exc), color="danger", id="dashboard-error")
    return result, status_text(result, context)


def status_text(result: Mapping[str, Any], context: PanelContext) -> str:
    """One line saying what the map shows, e.g. ``UMAP 2D · digits · 1,797 points x 64 dims``."""
    reducer = context.registry.reducers.get(result["reducer"])
    title = getattr(reducer, "title", "") or result["reducer"]
    dims = context.datasets[result["table"]].n_dims
    when = "from cache" if result["cached"] else f"{result['seconds']:.1f} s"
    points = f"{result['n']:,} points"
    if result.get("isolated") is not None:
        points = f"{result['isolated']:,} of {points} (isolated)"
    size = points + (f" x {dims:,} dims" if dims else "")
    via = f" · PCA {result['pca_dims']} first" if result.get("pca_dims") else ""
    sample = result.get("sample")
    if sample:
        via += f" · fitted on a sample of {sample['fitted']:,}"
    return f"{title} {result['dims']}D · {result['table']} · {size}{via} · {when}"


def sample_notice(result: Mapping[str, Any]) -> str | None:
    """What a map fitted on a sample says about it, e.g. ``showing 200,000 of 1,000,000
    rows, sampled by label (t-SNE cannot place the rest)``; None for a map of every row."""
    sample = result.get("sample")
    if not sample:
        return None
    by = f"sampled by `{sample['by']}`" if sample["by"] else "sampled at random"
    if sample["placed"]:
        return (
            f"fitted on {sample['fitted']:,} of {sample['of']:,} rows, {by}; "
            f"the other {sample['placed']:,} placed on the map with `transform`"
        )
    return f"showing {sample['fitted']:,} of {sample['of']:,} rows, {by}"
