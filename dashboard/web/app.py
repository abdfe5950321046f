"""Build the Dash app from a config: plugins, tables, panels, and the projection callback."""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import diskcache
import flask
import pluggy
from dash import Dash, Input, Output

from dashboard.config import DashboardConfig
from dashboard.projection.lifecycle import InProcessExecutor, ProjectionJobs
from dashboard.projection.process import ReducerProcess, worker_spec
from dashboard.serve.worker import (
    celery_projection_sender,
    in_worker,
    register_celery_projection,
)
from dashboard.web import state
from dashboard.web.assemble import prepare
from dashboard.web.isolation import (
    build_panel_layout,
    callback_error_handler,
    register_panel_callbacks,
)
from dashboard.web.jobs import ThreadJobManager
from dashboard.web.locked_dash import LockedSetupDash
from dashboard.web.page import THEME, page_layout
from dashboard.web.projecting import register_projection
from dashboard.web.routes import (
    BOOTSTRAP_CSS,
    STATIC_ROUTE,
    add_atlas_route,
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
        context.raise_if_cancelled = manager.raise_if_cancelled
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
    # plotly.js (3.5 MB) as a page script: dcc.Graph would fetch it only once the layout
    # has rendered, and parse it after the map's data had arrived (about 2 s of a 100k-point
    # page open here). dcc.Graph uses `window.Plotly` when it is there.
    app.config.external_scripts.append(
        f"{app.config.requests_pathname_prefix}_dash-component-suites/plotly/package_data/"
        "plotly.min.js"
    )
    add_static_route(app)
    add_image_route(app, context.datasets)
    add_atlas_route(app, context)
    add_row_route(app, context)
    built = {panel.index: build_panel_layout(panel, isolate=isolate_panels) for panel in panels}
    app.layout = page_layout(context.config, panels, built)
    app.layout.children.extend(state.register(app, context, panels, dashboard.pages))
    app.clientside_callback(
        "function(id) { return window.dashboardClient.start(); }",
        Output(THEME, "data"),
        Input(THEME, "id"),
    )
    celery_app = manager.handle if context.config.celery is not None else None
    context.jobs = _projection_jobs(dashboard, mount, celery_app)
    register_projection(app, context, context.jobs)
    # For the code that embeds the app (and tests): its context, panels and plugins.
    app.dashboard = dashboard
    for panel in panels:
        if built[panel.index][1]:  # a panel without its layout gets no callbacks
            register_panel_callbacks(app, panel, isolate=isolate_panels)
    return app


def _projection_jobs(dashboard: Any, mount: str, celery_app: Any) -> ProjectionJobs:
    """The dashboard's projection jobs: run in worker processes (``projection.workers``),
    in this process's threads when a plugin registered in code cannot be carried to one, or
    on Celery workers when the config names a broker."""
    context = dashboard.context
    settings = context.config.projection
    executors: list[Any] = []
    spec = worker_spec(context.config, dashboard.plugin_manager) if settings.workers else None
    # A stability check's runs (a minute or more) get a worker of their own, started when
    # the first check runs: maps asked for meanwhile do not queue behind them.
    if spec is not None:
        executors = [ReducerProcess(spec) for _ in range(settings.workers)]
        background = [ReducerProcess(spec)]
    else:
        executors = [InProcessExecutor(context.project_here)]
        background = [InProcessExecutor(context.project_here)]
    jobs = ProjectionJobs(
        diskcache.Cache(dashboard.cache_dir / "jobs" / mount),
        context.cached_projection,
        executors,
        send=None if celery_app is None or in_worker() else celery_projection_sender(celery_app),
        background=background,
    )
    if celery_app is not None:
        register_celery_projection(celery_app, jobs)
    atexit.register(jobs.stop)
    return jobs
