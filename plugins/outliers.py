"""Outliers panel: the current map's most isolated rows in the original space."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
from dash import Dash, Input, Output, State, dcc, html, no_update
from pydantic import Field

from dashboard.plugin import (
    HIGHLIGHT_STORE,
    PROJECTION_STORE,
    DashboardError,
    Highlight,
    Panel,
    PanelOptions,
    Projection,
    action,
    checked,
    focus_attributes,
    hookimpl,
)
from dashboard.plugin.analysis import MAP_MEASURES, OUTLIER
from dashboard.plugin.components import alert

HINT = "The most isolated rows appear with the map."
RING_LABEL = "top outliers"


class OutliersOptions(PanelOptions):
    top: int = Field(10, ge=1, le=200, description="How many of the highest scores to list.")


class OutliersPanel(Panel):
    """The rows farthest from their nearest neighbours in the original embedding space."""

    name = "outliers"
    Options = OutliersOptions
    options: OutliersOptions
    default_width = 4

    def layout(self) -> Any:
        ring = dbc.Button("Ring on map", id=self.id("ring"), size="sm", color="link")
        return self.card(
            "Top outliers",
            [
                html.Div(HINT, id=self.id("list"), className="small text-body-secondary"),
                dcc.Store(id=self.action_id()),
            ],
            controls=ring,
            body_style={"maxHeight": "32rem", "overflowY": "auto"},
        )

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(Output(self.id("list"), "children"), Input(PROJECTION_STORE, "data"))
        def show(projection: dict[str, Any] | None) -> Any:
            return self.render(Projection.from_store(projection))

        @app.callback(
            Output(self.action_id(), "data"),
            Input(self.id("ring"), "n_clicks"),
            State(PROJECTION_STORE, "data"),
            State(HIGHLIGHT_STORE, "data"),
            prevent_initial_call=True,
        )
        @checked
        def ring(n_clicks: Any, store_value: Any, highlight: Highlight | None) -> Any:
            if isinstance(highlight, dict) and highlight.get("label") == RING_LABEL:
                return action("clear_highlight")  # the second click takes the rings off
            projection = Projection.from_store(store_value)
            try:
                found = self.top_rows(projection)
            except DashboardError:
                return no_update
            if projection is None or found is None:
                return no_update
            rows = found[0].tolist()
            return action("highlight", table=projection.table, rows=rows, label=RING_LABEL)

    def top_rows(self, projection: Projection | None) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, scores) of the highest outlier scores of the projection's map, or None
        without a map.

        Raises
        ------
        DashboardError
            When the map is gone from the cache.
        """
        if projection is None or self.context.dataset(projection.table) is None:
            return None
        scores = self.context.computed(projection, OUTLIER).to_numpy()
        measured = np.flatnonzero(np.isfinite(scores))
        order = measured[np.argsort(-scores[measured], kind="stable")][: self.options.top]
        return order, scores[order]

    def render(self, projection: Projection | None) -> Any:
        """The list for a projection: rank, image, caption and score."""
        try:
            found = self.top_rows(projection)
        except DashboardError as exc:
            return alert(str(exc))
        if projection is None or found is None:
            return HINT
        dataset = self.context.datasets[projection.table]
        rows, scores = found
        lines = []
        for rank, (row, score) in enumerate(zip(rows.tolist(), scores.tolist(), strict=True), 1):
            cells = [
                rank,
                self.context.thumbnail(dataset, row),
                dataset.caption(row),
                f"{score:.3g}",
            ]
            lines.append(
                html.Tr(
                    [html.Td(c) for c in cells],
                    className="dashboard-outlier",
                    title="Click to find it on the map",
                    **focus_attributes(dataset.name, row),
                )
            )
        name = MAP_MEASURES[OUTLIER].name
        head = html.Thead(html.Tr([html.Th("#"), html.Th(""), html.Th("row"), html.Th("score")]))
        return [
            html.Div(
                f"{name}: mean distance to the nearest rows in the original space",
                className="small text-body-secondary mb-1",
            ),
            dbc.Table([head, html.Tbody(lines)], size="sm", hover=True, className="mb-0"),
        ]


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [OutliersPanel]
