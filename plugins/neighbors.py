"""Neighbours panel: the clicked point's nearest rows in the ORIGINAL embedding space."""

from __future__ import annotations

from typing import Any, Literal

import dash_bootstrap_components as dbc
import numpy as np
from dash import Dash, Input, Output, State, dcc, html
from pydantic import Field

from dashboard.plugin import (
    FOCUS_STORE,
    PROJECTION_STORE,
    DashboardError,
    Focus,
    Panel,
    PanelOptions,
    Projection,
    checked,
    focus_attributes,
    hookimpl,
)
from dashboard.plugin.analysis import METRICS, map_neighbours
from dashboard.plugin.components import alert

KEPT = "Also among this row's nearest on the map."
TORN = "A neighbour in the original space that the map draws away from this row."
HINT = (
    "Click a point on the map (or a row in a list) to list its nearest neighbours in the "
    "original space."
)
#: Colour of the rings round a row's neighbours.
RING_COLOUR = "#198754"


class NeighborsOptions(PanelOptions):
    k: int = Field(10, ge=1, le=1000, description="How many neighbours to list (1-1000).")
    metric: Literal["cosine", "euclidean"] = Field(
        "cosine", description="Distance in the original embedding space."
    )


class NeighborsPanel(Panel):
    """Lists the k nearest rows with distances (and images), and rings them on the map."""

    name = "neighbors"
    Options = NeighborsOptions
    options: NeighborsOptions
    default_width = 6

    def layout(self) -> Any:
        controls = dbc.InputGroup(
            [
                dbc.InputGroupText("k"),
                dbc.Input(
                    id=self.own_view_id("k"),
                    type="number",
                    min=1,
                    max=1000,
                    step=1,
                    value=self.options.k,
                    debounce=True,
                    style={"maxWidth": "6rem", "minWidth": "4.5rem"},
                ),
                dbc.Select(
                    id=self.own_view_id("metric"),
                    options=[{"label": m, "value": m} for m in METRICS],
                    value=self.options.metric,
                    style={"maxWidth": "9rem"},
                ),
            ],
            size="sm",
            className="w-auto",
        )
        return self.card(
            "Nearest neighbours",
            [
                html.Div(HINT, id=self.id("list"), className="small text-body-secondary"),
                dcc.Store(id=self.rings_id()),
            ],
            controls=controls,
            body_style={"maxHeight": "32rem", "overflowY": "auto"},
        )

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(
            Output(self.id("list"), "children"),
            Output(self.rings_id(), "data"),
            Input(FOCUS_STORE, "data"),
            Input(self.own_view_id("k"), "value"),
            Input(self.own_view_id("metric"), "value"),
            State(PROJECTION_STORE, "data"),
        )
        @checked
        def show(focus: Focus | None, k: Any, metric: Any, projection: Any) -> tuple[Any, Any]:
            return self.render(focus, k, metric, Projection.from_store(projection))

    def render(
        self, focus: Any, k: Any, metric: Any, projection: Projection | None = None
    ) -> tuple[Any, Any]:
        """(list, rings) for the focused row; a hint (and no rings) without one.

        With the current map (``projection``, when of the same table), each neighbour says
        whether the map keeps it among the row's k nearest, and the map's own k nearest that
        are not neighbours in the original space are listed as false neighbours."""
        none = {"table": None, "rows": []}
        focus = focus if isinstance(focus, dict) else {}
        dataset = self.context.dataset(focus.get("table"))
        query = focus.get("row")
        if dataset is None or not isinstance(query, int) or not 0 <= query < dataset.n_rows:
            return HINT, none
        if not isinstance(k, int) or not 1 <= k <= 1000:
            return alert("`k`: enter a whole number from 1 to 1000"), none
        try:
            found, distances = dataset.neighbors().query(query, k, metric)
        except DashboardError as exc:
            return alert(str(exc)), none
        name = dataset.caption

        on_map = self.map_neighbours(dataset, projection, query, len(found))
        lines = [
            html.Tr(
                [
                    html.Td(rank),
                    html.Td(self.context.thumbnail(dataset, row)),
                    html.Td(f"{name(row)}"),
                    html.Td(f"{row:,}", className="text-body-secondary"),
                    html.Td(f"{d:.4f}"),
                    html.Td(kept_badge(on_map is None or row in on_map)),
                ],
                className="dashboard-neighbor",
                title="Click to find it on the map",
                **focus_attributes(dataset.name, row),
            )
            for rank, (row, d) in enumerate(zip(found.tolist(), distances.tolist(), strict=True), 1)
        ]
        dims = dataset.n_dims
        title = (
            f"{len(found)} nearest to {name(query)!r} (row {query:,}) by {metric} distance "
            f"in the original {dims}-dim space"
        )
        table = dbc.Table(
            [
                html.Thead(
                    html.Tr(
                        [
                            html.Th("#"),
                            html.Th(""),
                            html.Th("name"),
                            html.Th("row"),
                            html.Th(metric),
                            html.Th(""),
                        ]
                    )
                ),
                html.Tbody(lines),
            ],
            size="sm",
            hover=True,
            className="mb-0",
        )
        highlight = {
            "table": dataset.name,
            "rows": found.tolist(),
            "label": f"neighbours of {name(query)}",
            "colour": RING_COLOUR,
        }
        content = [html.Div(title, className="small mb-1 dashboard-neighbors-title")]
        describe = getattr(dataset.neighbors(), "describe", None)
        if describe is not None:  # a big table's approximate search says how good it is
            content.append(
                html.Div(
                    describe(metric),
                    className="small text-body-secondary mb-1 dashboard-neighbors-search",
                )
            )
        content.append(table)
        if on_map is not None:
            content.append(false_neighbours(on_map, set(found.tolist()), name))
        return content, highlight

    def map_neighbours(
        self, dataset: Any, projection: Projection | None, row: int, k: int
    ) -> set[int] | None:
        """The ``k`` rows nearest ``row`` on the current map of ``dataset``, or None when
        the map is of another table, not on the map, or gone from the cache."""
        if projection is None or projection.table != dataset.name:
            return None
        try:
            coords = self.context.coordinates(projection)
        except DashboardError:
            return None
        if row >= len(coords) or not np.isfinite(coords[row]).all():
            return None
        return set(map_neighbours(coords, row, k).tolist())


def kept_badge(kept: bool) -> Any:
    """Whether the map keeps an original-space neighbour among the row's k nearest."""
    if kept:
        return html.Span("on map", className="badge text-bg-light", title=KEPT)
    return html.Span("far on map", className="badge text-bg-warning dashboard-torn", title=TORN)


def false_neighbours(on_map: set[int], original: set[int], name: Any) -> Any:
    """The map's near neighbours of a row that are not near it in the original space."""
    false = sorted(on_map - original)
    if not false:
        return html.Div(
            "No false neighbours: the map's nearest are all neighbours in the original space.",
            className="small text-body-secondary mt-2 dashboard-false-neighbours",
        )
    names = ", ".join(repr(name(row)) for row in false[:10]) + ("…" if len(false) > 10 else "")
    return html.Div(
        f"False neighbours: {len(false)} of its {len(on_map)} nearest on the map are not "
        f"among its nearest in the original space: {names}",
        className="small mt-2 dashboard-false-neighbours",
        title="Points the map draws close that the embedding does not put close.",
    )


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [NeighborsPanel]
