"""Faithfulness panel: how far to trust the current map's neighbourhoods."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, html
from pydantic import Field

from dashboard.plugin import (
    PROJECTION_STORE,
    DashboardError,
    Panel,
    PanelOptions,
    Projection,
    hookimpl,
)
from dashboard.plugin.analysis import Faithfulness, measure
from dashboard.plugin.components import alert

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
    default_width = 3

    def layout(self) -> Any:
        return self.card("Faithfulness", html.Div(HINT, id=self.id("body"), className="small"))

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(Output(self.id("body"), "children"), Input(PROJECTION_STORE, "data"))
        def show(projection: dict[str, Any] | None) -> Any:
            return self.render(Projection.from_store(projection))

    def render(self, projection: Projection | None) -> Any:
        """The panel's content for a projection."""
        dataset = self.context.dataset(projection.table) if projection else None
        if projection is None or dataset is None:
            return HINT
        try:
            coords = self.context.coordinates(projection)
        except DashboardError as exc:
            return alert(str(exc))
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
