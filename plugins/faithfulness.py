"""Faithfulness panel: how far to trust the current map's neighbourhoods."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, html
from pydantic import Field

from dashboard.faithfulness import Faithfulness, measure
from dashboard.hookspecs import hookimpl
from dashboard.panel import PROJECTION_STORE, Panel, PanelOptions, alert

HINT = "The measures appear with the map."
EXPLAIN = {
    "trustworthiness": "Are the map's near neighbours near in the original space too? "
    "Low: the map shows false neighbours. 1 is perfect, about 0.5 is chance.",
    "continuity": "Are the original near neighbours still near on the map? "
    "Low: the map tears neighbourhoods apart. 1 is perfect, about 0.5 is chance.",
    "neighbour recall": "The average share of a point's k original-space neighbours that are "
    "among its k nearest on the map.",
}


class FaithfulnessOptions(PanelOptions):
    width: int = Field(3, ge=1, le=12, description="Bootstrap grid columns (1-12) to span.")
    k: int = Field(10, ge=2, le=100, description="Neighbours each measure looks at.")
    rows: int = Field(
        2000,
        ge=200,
        le=10_000,
        description="Rows measured: a seeded sample of the map's rows when it has more "
        "(the measures compare every pair, so time grows with the square).",
    )


class FaithfulnessPanel(Panel):
    """Trustworthiness, continuity and neighbour recall of the current projection."""

    name = "faithfulness"
    Options = FaithfulnessOptions
    options: FaithfulnessOptions

    def layout(self) -> Any:
        return dbc.Card(
            [
                dbc.CardHeader(self.options.title or "Faithfulness"),
                dbc.CardBody(html.Div(HINT, id=self.id("body"), className="small")),
            ],
            className="shadow-sm",
        )

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(Output(self.id("body"), "children"), Input(PROJECTION_STORE, "data"))
        def show(projection: dict[str, Any] | None) -> Any:
            return self.render(projection)

    def render(self, projection: dict[str, Any] | None) -> Any:
        """The panel's content for a projection summary."""
        if not projection or projection.get("table") not in self.context.datasets:
            return HINT
        coords = self.context.store.load(projection["key"])
        if coords is None:
            return alert("the projection is no longer in the cache\nchange a control")
        dataset = self.context.datasets[projection["table"]]
        try:
            result = measure(dataset.matrix(), coords, self.options.k, max_rows=self.options.rows)
        except ValueError as exc:
            return alert(f"{exc}\nproject more rows, or lower the panel's `k`")
        return summary(result)


def summary(result: Faithfulness) -> Any:
    """Three labelled numbers, each explained on hover, and what they were measured on."""
    values = {
        "trustworthiness": result.trustworthiness,
        "continuity": result.continuity,
        "neighbour recall": result.recall,
    }
    items = [
        html.Div(
            [html.Span(name, className="text-body-secondary"), html.Strong(f"{value:.3f}")],
            className="d-flex justify-content-between dashboard-faithfulness-measure",
            title=EXPLAIN[name],
            **{"data-measure": name},
        )
        for name, value in values.items()
    ]
    sampled = (
        f"{result.rows:,} of {result.of:,} rows"
        if result.rows < result.of
        else (f"{result.rows:,} rows")
    )
    items.append(html.Div(f"k = {result.k} · {sampled}", className="text-body-secondary mt-1"))
    return items


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [FaithfulnessPanel]
