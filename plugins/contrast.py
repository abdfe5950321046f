"""Contrast panel: what makes the selected rows different from the rest."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
from dash import Dash, Input, Output, html
from pydantic import Field

from dashboard.plugin import SELECTION_STORE, Panel, PanelOptions, hookimpl
from dashboard.plugin.analysis import Difference, contrast

HINT = "Select points on the map to see which columns set them apart."


class ContrastOptions(PanelOptions):
    columns: list[str] | None = Field(
        None,
        description="Columns to compare; default: every metadata column but `id` and `text`.",
    )
    top: int = Field(8, ge=1, le=100, description="Most columns listed, strongest first.")


class ContrastPanel(Panel):
    """Metadata columns ranked by how much the selection differs from the other rows."""

    name = "contrast"
    Options = ContrastOptions
    options: ContrastOptions

    def validate(self) -> None:
        # Checked against the table the page opens on; other tables use what they have.
        if self.options.columns:
            self.check_columns("columns", self.options.columns, self.context.initial_request.table)

    def layout(self) -> Any:
        return self.card(
            "What sets the selection apart",
            html.Div(HINT, id=self.id("body"), className="small text-body-secondary"),
        )

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(Output(self.id("body"), "children"), Input(SELECTION_STORE, "data"))
        def show(selection: dict[str, Any] | None) -> Any:
            return self.render(selection)

    def columns(self, table: str) -> list[str]:
        """The columns compared for ``table``."""
        dataset = self.context.datasets[table]
        if self.options.columns:
            return [c for c in self.options.columns if c in dataset.metadata_columns]
        skip = {dataset.config.id, dataset.config.text}
        return [c for c in dataset.metadata_columns if c not in skip]

    def render(self, selection: dict[str, Any] | None) -> Any:
        """The panel's content for a selection store value."""
        selection = selection or {}
        dataset = self.context.dataset(selection.get("table"))
        rows = np.asarray(selection.get("rows") or [], dtype=np.int64)
        if dataset is None or not rows.size:
            return HINT
        found = contrast(dataset.metadata(), rows, self.columns(dataset.name))
        rest = dataset.n_rows - len(set(rows.tolist()))
        heading = html.Div(
            f"{len(rows):,} selected against the other {rest:,} rows of {dataset.name!r}",
            className="mb-1",
        )
        if not found:
            return [heading, html.Div("No column can be compared for this selection.")]
        body = [difference_row(d) for d in found[: self.options.top]]
        head = html.Thead(
            html.Tr([html.Th("column"), html.Th("effect"), html.Th(""), html.Th("test")])
        )
        return [heading, dbc.Table([head, html.Tbody(body)], size="sm", className="mb-0")]


def difference_row(difference: Difference) -> Any:
    """One column's row: its name, effect size, what differs, and the test's p-value."""
    return html.Tr(
        [
            html.Td(difference.column, className="fw-semibold"),
            html.Td(f"{difference.effect_name} {difference.effect:+.2f}"),
            html.Td(difference.summary),
            html.Td(f"{difference.test} p = {difference.p_value:.2g}", className="text-nowrap"),
        ],
        className="dashboard-contrast-row",
    )


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [ContrastPanel]
