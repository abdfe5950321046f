"""Label counts panel: the selected rows per label value, against the whole table."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import polars as pl
from dash import Dash, Input, Output, html
from pydantic import Field

from dashboard.plugin import REQUEST_STORE, SELECTION_STORE, Panel, PanelOptions, hookimpl


class LabelCountsOptions(PanelOptions):
    top: int = Field(10, ge=1, le=100, description="How many label values to list.")


class LabelCountsPanel(Panel):
    """How many rows of each label value the selection holds (all rows when none is)."""

    name = "label-counts"
    Options = LabelCountsOptions
    options: LabelCountsOptions
    default_width = 3

    def layout(self) -> Any:
        return self.card("Label counts", html.Div(id=self.id("counts"), className="small"))

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(
            Output(self.id("counts"), "children"),
            Input(SELECTION_STORE, "data"),
            Input(REQUEST_STORE, "data"),
        )
        def show(selection: Any, request: Any) -> Any:
            return self.render(selection, request)

    def render(self, selection: Any, request: Any) -> Any:
        """A row per label value: its count in the selection (or table) and share."""
        table = (selection or {}).get("table") or (request or {}).get("table")
        dataset = self.context.dataset(table)
        if dataset is None or not dataset.config.label:
            return html.Span("The table has no label column.", className="text-body-secondary")
        labels = dataset.metadata().get_column(dataset.config.label)
        rows = (selection or {}).get("rows")
        picked = labels.gather(rows) if rows else labels
        counts = picked.cast(pl.String).value_counts(sort=True).head(self.options.top)
        what = f"{len(picked):,} selected rows" if rows else f"all {len(picked):,} rows"
        items = [
            html.Tr([html.Td(value), html.Td(f"{count:,}"), html.Td(f"{count / len(picked):.0%}")])
            for value, count in counts.iter_rows()
        ]
        return [
            html.Div(what, className="text-body-secondary mb-1 label-counts-what"),
            dbc.Table(html.Tbody(items), size="sm", className="mb-0 label-counts-table"),
        ]


@hookimpl
def dashboard_panels():
    return [LabelCountsPanel]
