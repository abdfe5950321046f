"""Scatter panel: the projected map, coloured by any column, with label and text on hover."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import dash_bootstrap_components as dbc
import numpy as np
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from pydantic import Field

from dashboard.plugin import (
    FILTER_STORE,
    HIGHLIGHT_STORE,
    PROJECTION_STORE,
    REQUEST_STORE,
    SELECTION_STORE,
    DashboardError,
    Dataset,
    Memo,
    Panel,
    PanelOptions,
    Projection,
    hookimpl,
)
from dashboard.plugin.analysis import filter_mask
from dashboard.plugin.components import alert
from dashboard.plugin.figures import legend_children
from plugins.scatter_figure import (
    POINTS,
    Ring,
    build_figure,
    message_figure,
    restyle,
)
from plugins.scatter_html import notice, tooltip

#: Colour of the rings that show a selection made on another (linked) map.
LINKED_COLOUR = "#d62728"
NO_COLOUR = "__none__"


class ScatterOptions(PanelOptions):
    table: str | None = Field(None, description="Table the panel opens on; default: the first.")
    color: str | None = Field(
        None, description="Column to colour by; default: the table's `label` column."
    )
    height: int = Field(640, ge=200, le=4000, description="Height of the map in pixels.")
    pinned: bool = Field(
        False,
        description="Always show `table`, projected with the current reducer, params and "
        "dims (for side-by-side maps); otherwise follow the controls' table.",
    )


class ScatterPanel(Panel):
    """The map itself: Scattergl in 2D, Scatter3d in 3D."""

    name = "scatter"
    Options = ScatterOptions
    options: ScatterOptions
    default_width = 9

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # What the map shows for a (projection, colour, filters): every hover and selection
        # checks its rows against it.
        self._views: Memo[str, View] = Memo(16)

    @property
    def projection_store(self) -> str:
        """The store this map draws: its own when pinned, else the app's projection."""
        return self.id("projection") if self.options.pinned else PROJECTION_STORE

    def validate(self) -> None:
        if self.options.pinned and not self.options.table:
            raise self.error("pinned", "a pinned map needs a table", "add `table:` to this panel")
        table = self.check_table(self.options.table)
        self.check_columns("color", [self.options.color] if self.options.color else [], table)

    def default_color(self, table: str) -> str | None:
        """The colour column for ``table``: the option if the table has it, else its label."""
        dataset = self.context.datasets[table]
        if self.options.color in dataset.metadata_columns:
            return self.options.color
        return dataset.config.label

    def colour_options(self, table: str) -> list[dict[str, str]]:
        """Dropdown entries: "none" and every metadata column of ``table``."""
        columns = self.context.datasets[table].metadata_columns
        return (
            [{"label": "(none)", "value": NO_COLOUR}]
            + [{"label": c, "value": c} for c in columns]
            + self.context.colour_choices(table)
        )

    def size_options(self, table: str) -> list[dict[str, str]]:
        """Size dropdown entries: "none" and the numeric metadata columns of ``table``."""
        dataset = self.context.datasets[table]
        numeric = [c for c in dataset.metadata_columns if dataset.schema[c].is_numeric()]
        return [{"label": "(none)", "value": NO_COLOUR}] + [
            {"label": c, "value": c} for c in numeric
        ]

    def layout(self) -> Any:
        table = self.check_table(self.options.table)
        colour = self.default_color(table)
        header = dbc.CardHeader(
            dbc.Row(
                [
                    dbc.Col(html.Span(self.options.title or "Map", className="fw-semibold")),
                    dbc.Col(
                        dbc.InputGroup(
                            [
                                dbc.InputGroupText("Colour by"),
                                dbc.Select(
                                    id=self.id("color"),
                                    options=self.colour_options(table),
                                    value=colour or NO_COLOUR,
                                    style={"minWidth": "8rem"},
                                ),
                                dbc.InputGroupText("Size by"),
                                dbc.Select(
                                    id=self.id("size"),
                                    options=self.size_options(table),
                                    value=NO_COLOUR,
                                    style={"minWidth": "7rem"},
                                ),
                                dbc.InputGroupText("Opacity"),
                                dbc.Input(
                                    id=self.id("opacity"),
                                    type="range",
                                    min=0.1,
                                    max=1,
                                    step=0.05,
                                    value=0.85,
                                    style={"width": "6rem"},
                                    className="form-range px-2 border",
                                ),
                            ],
                            size="sm",
                        ),
                        width="auto",
                    ),
                ],
                align="center",
                justify="between",
            )
        )
        graph = dcc.Loading(
            dcc.Graph(
                id=self.id("graph"),
                figure=message_figure("Computing the map…"),
                config={"displaylogo": False, "scrollZoom": True},
                style={"height": f"{self.options.height}px"},
            ),
            delay_show=300,
        )
        # Images show in a tooltip left of the point; plotly's own label shows the text.
        tooltip = dcc.Tooltip(id=self.id("tooltip"), direction="left", loading_text="")
        return dbc.Card(
            [
                header,
                dbc.CardBody(
                    [
                        html.Div(id=self.id("status"), className="small text-body-secondary px-2"),
                        html.Div(id=self.id("message")),
                        html.Div(
                            id=self.id("legend"),
                            className="d-flex flex-wrap gap-2 small px-2 dashboard-legend",
                        ),
                        graph,
                        tooltip,
                        dcc.Store(id=self.id("projection")),
                        # The projection key the browser's figure shows: restyles patch it.
                        dcc.Store(id=self.id("drawn")),
                    ],
                    className="p-1",
                ),
            ],
            className="shadow-sm",
        )

    def url_state(self) -> dict[str, tuple[Any, str]]:
        return {
            "color": (self.id("color"), "value"),
            "size": (self.id("size"), "value"),
            "opacity": (self.id("opacity"), "value"),
        }

    def register_callbacks(self, app: Dash) -> None:
        # Dash holds back a callback while one of its inputs is an output of a running (or
        # waiting) callback. So nothing that feeds the colour picker waits on the background
        # projection: its options follow the *requested* table, and the projection is a
        # mere State of the recolouring callback. Recolouring works while a projection runs.
        @app.callback(
            Output(self.id("color"), "options"),
            Output(self.id("color"), "value"),
            Output(self.id("size"), "options"),
            Output(self.id("size"), "value"),
            Input(REQUEST_STORE, "data"),
            State(self.id("color"), "value"),
            State(self.id("size"), "value"),
        )
        def on_table(request: Any, colour: Any, size: Any) -> tuple[Any, Any, Any, Any]:
            table = self.own_request(request).get("table")
            if self.context.dataset(table) is None:
                return no_update, no_update, no_update, no_update
            options, value = self.colour_choice(table, colour)
            sizes = self.size_options(table)
            size_value = size if size in {o["value"] for o in sizes} else NO_COLOUR
            # Re-sending an unchanged value would fire `on_view` for nothing.
            return (
                options,
                no_update if value == colour else value,
                sizes,
                no_update if size_value == size else size_value,
            )

        targets = [
            (self.id("graph"), "figure"),
            (self.id("legend"), "children"),
            (self.id("message"), "children"),
            (self.id("drawn"), "data"),
        ]

        @app.callback(
            *[Output(*target) for target in targets],
            Input(self.projection_store, "data"),
            State(self.id("color"), "value"),
            State(HIGHLIGHT_STORE, "data"),
            State(FILTER_STORE, "data"),
            State(self.id("size"), "value"),
            State(self.id("opacity"), "value"),
            State(SELECTION_STORE, "data"),
        )
        def on_projection(projection: Any, colour: Any, *view: Any) -> tuple:
            return self.render(Projection.from_store(projection), colour, *view)

        @app.callback(
            *[Output(*target, allow_duplicate=True) for target in targets],
            Input(self.id("color"), "value"),
            Input(HIGHLIGHT_STORE, "data"),
            Input(FILTER_STORE, "data"),
            Input(self.id("size"), "value"),
            Input(self.id("opacity"), "value"),
            Input(SELECTION_STORE, "data"),
            State(self.projection_store, "data"),
            State(self.id("drawn"), "data"),
            prevent_initial_call=True,
        )
        def on_view(colour: Any, *view_and_projection: Any) -> tuple:
            *view, selection, store_value, drawn = view_and_projection
            projection = Projection.from_store(store_value)
            if ctx.triggered_id == SELECTION_STORE and (
                projection is None or (selection or {}).get("table") == projection.table
            ):
                # A selection on this very map: plotly already shows it; redrawing would
                # only clear the box or lasso outline.
                return no_update, no_update, no_update, no_update
            # Patch the figure the browser has when it shows this very projection.
            patch = projection is not None and drawn == projection.key
            return self.render(projection, colour, *view, selection, patch=patch)

        self.register_hover_tooltip(app)
        if self.options.pinned:
            self.register_own_projection(app)

        @app.callback(
            Output(SELECTION_STORE, "data", allow_duplicate=True),
            Input(self.id("graph"), "selectedData"),
            Input(self.id("graph"), "clickData"),
            State(self.projection_store, "data"),
            State(self.id("color"), "value"),
            State(FILTER_STORE, "data"),
            prevent_initial_call=True,
        )
        def on_select(
            selected: Any, clicked: Any, projection: Any, colour: Any, filters: Any
        ) -> Any:
            # Box/lasso (2D) replaces the selection; a click (2D or 3D) selects one point.
            box_or_lasso = f"{self.id('graph')}.selectedData" in ctx.triggered_prop_ids
            source = selected if box_or_lasso else clicked
            if is_dropped_selection(source):
                # Plotly drops its selection whenever the figure is replaced (a new map, 2D
                # to 3D): the rows stay selected; the gallery's "Clear" button clears them.
                return no_update
            return self.selection(source, Projection.from_store(projection), colour, filters)

    def own_request(self, request: dict[str, Any] | None) -> dict[str, Any]:
        """The request this map projects: a pinned map swaps in its table (all rows)."""
        request = dict(request or {})
        if self.options.pinned and request:
            request.update(table=self.check_table(self.options.table), rows=None)
        return request

    def register_own_projection(self, app: Dash) -> None:
        """A pinned map computes its own projection in the background, as the app does."""

        @app.callback(
            Output(self.id("projection"), "data"),
            Output(self.id("status"), "children"),
            Input(REQUEST_STORE, "data"),
            # Dash keys background results by the function's code and arguments: this
            # panel's own id keeps two pinned maps from receiving each other's result.
            State(self.id("status"), "id"),
            background=True,
            interval=self.context.poll_ms,
            running=[(Output(self.id("status"), "children"), "computing…", "")],
        )
        def project(request: Any, panel_id: str) -> tuple[Any, Any]:
            if not request:
                return no_update, no_update
            try:
                projection = self.context.project(self.own_request(request))
            except DashboardError as exc:
                return no_update, alert(str(exc), color="danger")
            return projection.to_store(), self.context.describe(projection)

    def register_hover_tooltip(self, app: Dash) -> None:
        """Show the hovered row beside the point: label, colour value, text and image.

        2D points carry no hover text (it would triple the payload), so this tooltip is
        the 2D hover label. 3D hovers have no position for it: plotly shows their text.
        """

        @app.callback(
            Output(self.id("tooltip"), "show"),
            Output(self.id("tooltip"), "bbox"),
            Output(self.id("tooltip"), "children"),
            Input(self.id("graph"), "hoverData"),
            State(self.projection_store, "data"),
            State(self.id("color"), "value"),
            State(FILTER_STORE, "data"),
        )
        def on_hover(hover: Any, store_value: Any, colour: Any, filters: Any) -> tuple:
            projection = Projection.from_store(store_value)
            found = self.hovered_row(hover, projection, colour, filters)
            if found is None:
                return False, no_update, no_update
            dataset, row, bbox = found
            return True, bbox, self.tooltip(dataset, row, colour, projection)

    def tooltip(
        self,
        dataset: Dataset,
        row: int,
        colour: str | None,
        projection: Projection | None = None,
    ) -> Any:
        """The tooltip of ``row`` (see :func:`plugins.scatter_html.tooltip`)."""
        src = self.context.image_url(dataset, row) if dataset.config.image else None
        extra = None
        if projection is not None and self.context.is_computed_colour(dataset.name, colour):
            series = self.context.computed(projection, colour)  # type: ignore[arg-type]
            value = series[row]
            if isinstance(value, float):
                value = "not measured" if np.isnan(value) else f"{value:.3g}"
            extra = (series.name, str(value))
        return tooltip(dataset, row, colour, src, extra)

    def hovered_row(
        self,
        hover: dict[str, Any] | None,
        projection: Projection | None,
        colour: str | None,
        filters: dict[str, Any] | None = None,
    ) -> tuple[Dataset, int, dict[str, Any]] | None:
        """Map plotly's (trace, point) of a hover back to (dataset, table row, bbox)."""
        points = (hover or {}).get("points") or []
        if not points or "bbox" not in points[0]:
            return None
        found = self.rows_of(points[:1], projection, colour, filters)
        if found is None or not found[1]:
            return None
        return found[0], found[1][0], points[0]["bbox"]

    def view(
        self,
        projection: Projection,
        colour: str | None,
        filters: dict[str, Any] | None = None,
    ) -> View:
        """What the map shows for a projection, colour and filters, memoised: every hover
        and selection checks its rows against it.

        Raises
        ------
        DashboardError
            When the projection left the cache, or a filter is invalid.
        """
        table = projection.table
        dataset = self.context.datasets[table]
        _, colour = self.colour_choice(table, colour)
        if not filters or filters.get("table") != table:
            filters = {}
        key = json.dumps([projection.key, colour, filters.get("filters")], sort_keys=True)

        def compute() -> View:
            coords = self.context.coordinates(projection)
            # Rows without coordinates (outside an isolated subset) and filtered rows go.
            shown = np.isfinite(coords).all(axis=1)
            meta = dataset.metadata()
            for name in filters.get("filters") or {}:
                if self.context.is_computed_colour(table, name):  # e.g. the map's clusters
                    meta = meta.with_columns(self.context.computed(projection, name).alias(name))
            shown &= filter_mask(meta, filters.get("filters"))
            column = None if colour == NO_COLOUR else colour
            return View(dataset, coords, column, None if shown.all() else shown)

        return self._views.get(key, compute)

    def rows_of(
        self,
        points: list[dict[str, Any]],
        projection: Projection | None,
        colour: str | None,
        filters: dict[str, Any] | None = None,
    ) -> tuple[Dataset, list[int]] | None:
        """Map plotly's points back to table rows: a point number of the points trace is a
        row number. Points of other traces (the rings), hidden rows (filtered out, kept in
        the trace but transparent) and stale events are dropped."""
        if projection is None or self.context.dataset(projection.table) is None:
            return None
        try:
            view = self.view(projection, colour, filters)
        except DashboardError:
            return None
        n = len(view.coords)
        rows = []
        for point in points:
            row = point.get("pointNumber", -1)
            if point.get("curveNumber", 0) != POINTS or not 0 <= row < n:
                continue
            if view.shown is None or view.shown[row]:
                rows.append(int(row))
        return view.dataset, rows

    def selection(
        self,
        event: dict[str, Any] | None,
        projection: Projection | None,
        colour: str | None,
        filters: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The selection store's value for a plotly selection or click event."""
        found = self.rows_of((event or {}).get("points") or [], projection, colour, filters)
        if found is None:
            return {"table": None, "rows": []}
        dataset, rows = found
        return {"table": dataset.name, "rows": sorted(set(rows))}

    def rings(
        self, dataset: Dataset, highlight: dict[str, Any] | None, selection: dict[str, Any] | None
    ) -> tuple[Ring | None, Ring | None]:
        """Rings for ``dataset``'s map: the highlight store's rows (search, neighbours) when
        about this table, and a selection made on ANOTHER table, matched by the `id` column."""
        ringed = None
        if highlight and highlight.get("table") == dataset.name and highlight.get("rows"):
            ringed = Ring(highlight["rows"], str(highlight.get("label") or "highlighted"))
        linked = self.linked_rows(dataset, selection)
        if linked is not None:
            linked = Ring(linked, f"selected in {selection['table']}", LINKED_COLOUR)
        return ringed, linked

    @staticmethod
    def own_selection(dataset: Dataset, selection: dict[str, Any] | None) -> Any:
        """The selected rows when the selection is of ``dataset`` itself, else None."""
        selection = selection or {}
        if selection.get("table") != dataset.name or not selection.get("rows"):
            return None
        return np.asarray(selection["rows"], dtype=np.int64)

    def linked_rows(self, dataset: Dataset, selection: dict[str, Any] | None) -> Any:
        """Rows of ``dataset`` whose `id` matches the rows selected in another table."""
        selection = selection or {}
        source = self.context.dataset(selection.get("table"))
        rows = selection.get("rows") or []
        if source is None or source is dataset or not rows:
            return None
        if not source.config.id or not dataset.config.id:
            return None
        ids = source.metadata().get_column(source.config.id).gather(rows)
        mine = dataset.metadata().get_column(dataset.config.id)
        wanted = ids.cast(mine.dtype, strict=False).drop_nulls().to_list()
        return np.flatnonzero(mine.is_in(wanted).to_numpy())

    def colour_choice(self, table: str, colour: str | None) -> tuple[list[dict[str, str]], str]:
        """Colour options of ``table`` and the colour to use: ``colour`` if valid there."""
        options = self.colour_options(table)
        if colour not in {o["value"] for o in options}:
            colour = self.default_color(table) or NO_COLOUR
        return options, colour

    def render(
        self,
        projection: Projection | None,
        colour: str | None,
        highlight: dict[str, Any] | None = None,
        filters: dict[str, Any] | None = None,
        size: str | None = None,
        opacity: Any = 0.85,
        selection: dict[str, Any] | None = None,
        *,
        patch: bool = False,
    ) -> tuple[Any, Any, Any, Any]:
        """Return (figure, legend, message, drawn key) for a projection summary, coloured by
        ``colour``, with ``highlight`` rows ringed and ``filters`` applied when they are about
        its table, points sized by the numeric column ``size`` and drawn at ``opacity``, and
        the rows selected on another table's map ringed in red when the tables share ids.

        With ``patch`` (the browser shows this projection already), a 2D figure comes as a
        :class:`dash.Patch` that restyles the points without resending their coordinates.
        """
        if projection is None:
            return no_update, no_update, None, no_update
        try:
            view = self.view(projection, colour, filters)
            dataset = view.dataset
            style = dict(
                color=view.colour,
                keep=view.shown,
                size_by=size if size in dataset.metadata_columns else None,
                opacity=_opacity(opacity),
                rings=self.rings(dataset, highlight, selection),
                selected=self.own_selection(dataset, selection),
            )
            meta = dataset.metadata()
            if self.context.is_computed_colour(dataset.name, view.colour):
                # Computed from the map (recall, outliers, clusters) or by another panel
                # (compare's overlap): a column like the others.
                column = self.context.computed(projection, view.colour)  # type: ignore[arg-type]
                meta = meta.with_columns(column)
                style["color"] = column.name
            if patch and view.coords.shape[1] == 2:
                figure, legend = restyle(view.coords, meta, **style)
            else:
                figure, legend = build_figure(
                    view.coords,
                    meta,
                    label=dataset.config.label,
                    text=dataset.config.text,
                    uirevision=projection.key,
                    **style,
                )
        except (DashboardError, KeyError) as exc:
            message = str(exc) if isinstance(exc, DashboardError) else f"unknown table {exc}"
            figure = message_figure(message.splitlines()[0])
            return figure, None, alert(message, color="danger"), None
        computed = self.context.is_computed_colour(view.dataset.name, view.colour)
        title = (
            self.context.computed(projection, view.colour).name  # type: ignore[arg-type]
            if computed
            else view.colour
        )
        legend_items = legend_children(legend, title)
        return (
            figure,
            legend_items,
            notice(projection, view.shown, len(view.coords)),
            projection.key,
        )


def _opacity(value: Any) -> float:
    """A slider's value as an opacity in [0.1, 1]; anything unreadable means the default."""
    try:
        return min(1.0, max(0.1, float(value)))
    except (TypeError, ValueError):
        return 0.85


class View(NamedTuple):
    """What a scatter draws: coordinates, colour column, and the rows shown (None: all)."""

    dataset: Dataset
    coords: np.ndarray
    colour: str | None
    shown: np.ndarray | None


def is_dropped_selection(event: dict[str, Any] | None) -> bool:
    """True for what plotly sends when a figure replacement drops its selection: nothing, or
    no points and no box or lasso (an empty box the user drew has its `range`)."""
    if event is None:
        return True
    return not event.get("points") and not ({"range", "lassoPoints"} & set(event))


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [ScatterPanel]
