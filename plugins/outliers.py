"""Outliers panel: the current map's most isolated rows in the original space."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
from dash import Dash, Input, Output, State, html, no_update
from pydantic import Field

from dashboard.computed import COMPUTED, computed_column
from dashboard.hookspecs import hookimpl
from dashboard.panel import (
    HIGHLIGHT_STORE,
    PROJECTION_STORE,
    Panel,
    PanelOptions,
    alert,
    card_header,
)
from dashboard.routes import thumbnail

OUTLIER = "__outlier__"
HINT = "The most isolated rows appear with the map."


class OutliersOptions(PanelOptions):
    width: int = Field(4, ge=1, le=12, description="Bootstrap grid columns (1-12) to span.")
    top: int = Field(10, ge=1, le=200, description="How many of the highest scores to list.")


class OutliersPanel(Panel):
    """The rows farthest from their nearest neighbours in the original embedding space."""

    name = "outliers"
    Options = OutliersOptions
    options: OutliersOptions

    def layout(self) -> Any:
        ring = dbc.Button("Ring on map", id=self.id("ring"), size="sm", color="link")
        return dbc.Card(
            [
                card_header(self.options.title or "Top outliers", ring),
                dbc.CardBody(
                    html.Div(HINT, id=self.id("list"), className="small text-body-secondary"),
                    style={"maxHeight": "32rem", "overflowY": "auto"},
                ),
            ],
            className="shadow-sm",
        )

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(Output(self.id("list"), "children"), Input(PROJECTION_STORE, "data"))
        def show(projection: dict[str, Any] | None) -> Any:
            return self.render(app, projection)

        @app.callback(
            Output(HIGHLIGHT_STORE, "data", allow_duplicate=True),
            Input(self.id("ring"), "n_clicks"),
            State(PROJECTION_STORE, "data"),
            prevent_initial_call=True,
        )
        def ring(n_clicks: Any, projection: dict[str, Any] | None) -> Any:
            found = self.top_rows(projection)
            if found is None:
                return no_update
            return {
                "table": projection["table"],
                "rows": found[0].tolist(),
                "label": "top outliers",
            }

    def top_rows(self, projection: dict[str, Any] | None) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, scores) of the highest outlier scores of the projection's map, or None."""
        if not projection or projection.get("table") not in self.context.datasets:
            return None
        coords = self.context.store.load(projection["key"])
        if coords is None:
            return None
        dataset = self.context.datasets[projection["table"]]
        store = self.context.store
        scores = computed_column(OUTLIER, store, projection["key"], dataset, coords).to_numpy()
        measured = np.flatnonzero(np.isfinite(scores))
        order = measured[np.argsort(-scores[measured], kind="stable")][: self.options.top]
        return order, scores[order]

    def render(self, app: Dash, projection: dict[str, Any] | None) -> Any:
        """The list for a projection summary: rank, image, caption and score."""
        if not projection:
            return HINT
        found = self.top_rows(projection)
        if found is None:
            return alert("the projection is no longer in the cache\nchange a control")
        dataset = self.context.datasets[projection["table"]]
        rows, scores = found
        lines = []
        for rank, (row, score) in enumerate(zip(rows.tolist(), scores.tolist(), strict=True), 1):
            cells = [rank, thumbnail(app, dataset, row), dataset.caption(row), f"{score:.3g}"]
            lines.append(html.Tr([html.Td(c) for c in cells], className="dashboard-outlier"))
        name = COMPUTED[OUTLIER].name
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
