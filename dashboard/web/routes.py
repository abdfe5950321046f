"""Flask routes the dashboard adds: Bootstrap's CSS (served locally) and row images."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import flask
from dash import Dash

from dashboard.data.dataset import Dataset
from dashboard.errors import DashboardError
from dashboard.plugin.context import IMAGE_ROUTE

logger = logging.getLogger(__name__)

STATIC_ROUTE = "_dashboard/static/"
BOOTSTRAP_CSS = "css/bootstrap.min.css"


def _endpoint(app: Dash, name: str) -> str:
    # Unique per mount point: two dashboards may share one Flask app.
    prefix = app.config.routes_pathname_prefix.strip("/").replace("/", "_")
    return f"dashboard_{name}_{prefix or 'root'}"


def add_static_route(app: Dash) -> None:
    """Serve Bootstrap's CSS from the xstatic package: the dbc theme URLs need a CDN."""
    import xstatic.pkg.bootstrap as xs_bootstrap

    root = Path(xs_bootstrap.BASE_DIR)
    prefix = app.config.routes_pathname_prefix

    def static(filename: str) -> flask.Response:
        if not filename.endswith((".css", ".css.map")):
            flask.abort(404)
        response = flask.send_from_directory(root, filename, max_age=86400)
        return response

    app.server.add_url_rule(
        f"{prefix}{STATIC_ROUTE}<path:filename>",
        endpoint=_endpoint(app, "static"),
        view_func=static,
    )


def add_image_route(app: Dash, datasets: Mapping[str, Dataset]) -> None:
    """Serve one row's image: PNG bytes, a file inside the table's folder, or a redirect."""
    prefix = app.config.routes_pathname_prefix

    def image(row: int) -> flask.Response:
        dataset = datasets.get(flask.request.args.get("table", ""))
        if dataset is None:
            flask.abort(404)
        try:
            found = dataset.image(row)
        except DashboardError:
            logger.warning("cannot read images of table %r", dataset.name, exc_info=True)
            flask.abort(404)
        if found is None:
            flask.abort(404)
        if isinstance(found, str):
            return flask.redirect(found)
        if isinstance(found, Path):
            response = flask.send_file(found, max_age=86400)
        else:
            response = flask.Response(found, mimetype=_image_type(found))
            response.headers["Cache-Control"] = "public, max-age=86400"
        # Cell bytes are the data's, not ours: never let a browser sniff them into HTML.
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    app.server.add_url_rule(
        f"{prefix}{IMAGE_ROUTE}<int:row>",
        endpoint=_endpoint(app, "image"),
        view_func=image,
    )


def _image_type(data: bytes) -> str:
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "image/png"
