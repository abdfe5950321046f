"""Flask routes the dashboard adds: Bootstrap's CSS (served locally) and row images."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import flask
from dash import Dash

from dashboard.data.atlas import MAX_ATLAS_ROWS, AtlasLayout, atlas_png
from dashboard.data.dataset import Dataset
from dashboard.errors import DashboardError
from dashboard.plugin.context import ATLAS_ROUTE, IMAGE_ROUTE, PanelContext
from dashboard.projection.request import Projection

logger = logging.getLogger(__name__)

STATIC_ROUTE = "_dashboard/static/"
BOOTSTRAP_CSS = "css/bootstrap.min.css"
#: Files shipped with the package: Bootstrap's CSS (see its README for where it comes from).
VENDOR = Path(__file__).with_name("vendor")


def _endpoint(app: Dash, name: str) -> str:
    # Unique per mount point: two dashboards may share one Flask app.
    prefix = app.config.routes_pathname_prefix.strip("/").replace("/", "_")
    return f"dashboard_{name}_{prefix or 'root'}"


def add_static_route(app: Dash) -> None:
    """Serve Bootstrap's CSS, shipped in the package (`vendor/`): the dbc theme URLs need a
    CDN."""
    prefix = app.config.routes_pathname_prefix

    def static(filename: str) -> flask.Response:
        if not filename.endswith(".css"):
            flask.abort(404)
        return flask.send_from_directory(VENDOR / "bootstrap", filename, max_age=86400)

    app.server.add_url_rule(
        f"{prefix}{STATIC_ROUTE}<path:filename>",
        endpoint=_endpoint(app, "static"),
        view_func=static,
    )


def add_image_route(app: Dash, datasets: Mapping[str, Dataset]) -> None:
    """Serve one row's image: PNG bytes, a file inside the table's folder, or a redirect."""
    prefix = app.config.routes_pathname_prefix

    def image(row: str) -> flask.Response:
        number = _row_number(row)
        dataset = datasets.get(flask.request.args.get("table", ""))
        if dataset is None or number is None:
            flask.abort(404)
        try:
            found = dataset.image(number)
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
        f"{prefix}{IMAGE_ROUTE}<path:row>",
        endpoint=_endpoint(app, "image"),
        view_func=image,
    )


ROW_ROUTE = "_dashboard/row/"
#: Characters of a row's text the tooltip shows.
TOOLTIP_TEXT = 240


def add_row_route(app: Dash, context: PanelContext) -> None:
    """Serve what the hover tooltip shows of one row, as JSON: its caption, its colour
    value (a column, or one computed from the map), its text and its image's URL.

    ``?table=`` names the table, ``key=`` the map (for a computed colour), ``colour=`` the
    colour; anything else is a 404."""
    prefix = app.config.routes_pathname_prefix

    def row_info(row: str) -> flask.Response:
        args = flask.request.args
        number = _row_number(row)
        dataset = context.dataset(args.get("table", ""))
        if dataset is None or number is None or number >= dataset.n_rows:
            flask.abort(404)
        colour = args.get("colour") or None
        lines = []
        meta = dataset.metadata()
        config = dataset.config
        if colour in meta.columns and colour not in (config.label, config.text):
            value = meta.get_column(colour)[number]
            # A float32 column read back as float64 showed 0.40551358461380005.
            shown = f"{value:.4g}" if isinstance(value, float) and value == value else value
            lines.append(f"{colour}: {shown}")
        elif context.is_computed_colour(dataset.name, colour):
            key = args.get("key", "")
            if key.isalnum():  # the map's cache key: what the computed colour is stored under
                projection = Projection(key, dataset.name, "", 2, {}, dataset.n_rows)
                try:
                    series = context.computed(projection, colour)  # type: ignore[arg-type]
                except DashboardError:
                    series = None
                if series is not None:
                    value = series[number]
                    if isinstance(value, float):
                        value = "not measured" if value != value else f"{value:.3g}"
                    lines.append(f"{series.name}: {value}")
        text = None
        if config.text and meta.get_column(config.text)[number] is not None:
            text = str(meta.get_column(config.text)[number])
            if len(text) > TOOLTIP_TEXT:
                text = text[: TOOLTIP_TEXT - 1] + "…"
        info = {
            "caption": dataset.caption(number),
            "lines": lines,
            "text": text,
            "image": context.image_url(dataset, number) if config.image else None,
        }
        response = flask.jsonify(info)
        response.headers["Cache-Control"] = "private, max-age=300"
        return response

    app.server.add_url_rule(
        f"{prefix}{ROW_ROUTE}<path:row>", endpoint=_endpoint(app, "row"), view_func=row_info
    )


def _row_number(text: str) -> int | None:
    """A row number from a URL, or None (``-1``, ``1.5``, ``abc``, a huge number): the routes
    take any text after their prefix, so that what is not a row is a 404, not the page."""
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    return int(text)


def _image_type(data: bytes) -> str:
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "image/png"


def add_atlas_route(app: Dash, context: PanelContext) -> None:
    """Serve a table's image atlas (:mod:`dashboard.data.atlas`) for drawing points as
    images; ``?table=`` names the table, ``v=`` its version (so the browser may keep it),
    or ``rows=`` the token of a set of its rows (:meth:`PanelContext.rows_atlas`)."""
    prefix = app.config.routes_pathname_prefix

    def atlas() -> flask.Response:
        dataset = context.dataset(flask.request.args.get("table", ""))
        if dataset is None or not dataset.config.image:
            flask.abort(404)
        token = flask.request.args.get("rows")
        try:
            if token is not None:  # the rows a zoomed density map shows
                data = context.rows_atlas_png(dataset.name, token)
                if data is None:
                    flask.abort(404)
            else:
                rows = dataset.n_rows
                if rows > MAX_ATLAS_ROWS:
                    flask.abort(404)
                data = atlas_png(dataset, AtlasLayout.for_rows(rows), context.store.root)
        except DashboardError:
            logger.warning("cannot read images of table %r", dataset.name, exc_info=True)
            flask.abort(404)
        response = flask.Response(data, mimetype="image/png")
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    app.server.add_url_rule(
        f"{prefix}{ATLAS_ROUTE}", endpoint=_endpoint(app, "atlas"), view_func=atlas
    )
