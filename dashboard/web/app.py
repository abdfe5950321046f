"""Build the Dash app from a config: plugins, tables, panels, and the projection callback."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import diskcache
import flask
import pluggy
from dash import Dash, Input, Output, State, no_update, set_props
from dash.exceptions import PreventUpdate

from dashboard.config import DashboardConfig
from dashboard.errors import DashboardError, JobCancelledError
from dashboard.plugin.components import alert
from dashboard.plugin.context import PanelContext
from dashboard.plugin.panel import PROJECTION_STORE, REQUEST_STORE
from dashboard.web import state
from dashboard.web.assemble import prepare
from dashboard.web.isolation import (
    build_panel_layout,
    callback_error_handler,
    register_panel_callbacks,
)
from dashboard.web.jobs import ThreadJobManager
from dashboard.web.locked_dash import LockedSetupDash
from dashboard.web.page import (
    PROGRESS,
    PROGRESS_TEXT,
    PROGRESS_WRAP,
    PROJECTION_ANSWER,
    STATUS,
    THEME,
    page_layout,
)
from dashboard.web.routes import (
    BOOTSTRAP_CSS,
    STATIC_ROUTE,
    add_image_route,
    add_row_route,
    add_static_route,
)

#: The page's own script and styles (served by Dash from this folder).
ASSETS = Path(__file__).parent / "assets"

logger = logging.getLogger(__name__)


def create_app(
    config: DashboardConfig | Mapping[str, Any] | str | os.PathLike[str],
    *,
    server: flask.Flask | bool = True,
    url_base_pathname: str = "/",
    plugin_manager: pluggy.PluginManager | None = None,
    compress: bool = True,
    isolate_panels: bool = True,
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
    isolate_panels
        Contain a panel whose layout or callback raises (the error shows in its place). The
        conformance checks turn it off, so a broken panel fails them.

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
    if not url_base_pathname.endswith("/"):
        url_base_pathname += "/"
    dashboard = prepare(config, plugin_manager=plugin_manager, url_base=url_base_pathname)
    context, panels = dashboard.context, dashboard.panels
    # Dash keys background results by callback code and arguments, which two dashboards
    # in one process share: each mount point gets its own result store.
    mount = url_base_pathname.strip("/").replace("/", "_") or "root"
    manager: Any
    if context.config.celery is not None:
        from dash import CeleryManager

        from dashboard.serve.worker import make_celery

        manager = CeleryManager(make_celery(context.config.celery))
    else:
        manager = ThreadJobManager(diskcache.Cache(dashboard.cache_dir / "callbacks" / mount))
    app = LockedSetupDash(
        "dashboard",
        server=server,
        url_base_pathname=url_base_pathname,
        title=context.config.title,
        external_stylesheets=[url_base_pathname + STATIC_ROUTE + BOOTSTRAP_CSS],
        background_callback_manager=manager,
        assets_folder=str(ASSETS),
        update_title=None,
        # gzip: coordinates are base64 float32, which gzip brings back to about 4 bytes.
        compress=compress,
        on_error=callback_error_handler(panels) if isolate_panels else None,
    )
    add_static_route(app)
    add_image_route(app, context.datasets)
    add_row_route(app, context)
    built = {panel.index: build_panel_layout(panel, isolate=isolate_panels) for panel in panels}
    app.layout = page_layout(context.config, panels, built)
    app.layout.children.extend(state.register(app, context, panels))
    app.clientside_callback(
        "function(id) { return window.dashboardClient.start(); }",
        Output(THEME, "data"),
        Input(THEME, "id"),
    )
    _register_projection_callback(app, context, manager)
    for panel in panels:
        if built[panel.index][1]:  # a panel without its layout gets no callbacks
            register_panel_callbacks(app, panel, isolate=isolate_panels)
    return app


def _register_projection_callback(app: Dash, context: PanelContext, manager: Any) -> None:
    """Compute the requested projection in a background job, reporting progress.

    The result reaches the page by ``set_props``, not as the callback's output: Dash holds
    back every callback downstream of a running callback's outputs, and the old map must
    stay live (recolour, select, filter) while the new one computes.
    """

    @app.callback(
        Output(STATUS, "children"),
        Input(REQUEST_STORE, "data"),
        background=True,
        interval=context.poll_ms,
        progress=[Output(PROGRESS, "value"), Output(PROGRESS_TEXT, "children")],
        progress_default=[0, ""],
        running=[(Output(PROGRESS_WRAP, "style"), {"display": "flex"}, {"display": "none"})],
    )
    def project(set_progress: Any, request: dict[str, Any] | None) -> Any:
        def progress(fraction: float, message: str) -> None:
            if isinstance(manager, ThreadJobManager):  # Celery stops its own tasks
                manager.raise_if_cancelled()  # a newer request replaced this one
            set_progress((round(100 * fraction), message))

        try:
            stored, status = compute_projection(request, context, progress)
        except JobCancelledError:
            raise PreventUpdate from None
        if stored is not no_update:
            set_props(PROJECTION_ANSWER, {"data": stored})
        return status

    # A job whose request was replaced may still finish after the newer one (a cached 2D map
    # is quicker than a 3D fit): its map is not the one asked for, and is not shown.
    app.clientside_callback(
        "function(answer, request) {"
        " return window.dashboardClient.acceptProjection(answer, request); }",
        Output(PROJECTION_STORE, "data"),
        Input(PROJECTION_ANSWER, "data"),
        State(REQUEST_STORE, "data"),
        prevent_initial_call=True,
    )


def compute_projection(
    request: Mapping[str, Any] | None, context: PanelContext, progress: Any = None
) -> tuple[Any, Any]:
    """The projection callback's body: (projection store value, status line or error)."""
    if not request:
        return no_update, no_update
    try:
        projection = context.project(request, progress)
    except DashboardError as exc:
        logger.warning("projection failed: %s", exc)
        return no_update, alert(str(exc), color="danger", id="dashboard-error")
    return projection.to_store(), context.describe(projection)
