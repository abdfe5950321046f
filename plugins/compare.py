"""Compare panel: two embeddings of the same items (model A against B), in their own spaces."""

from __future__ import annotations

import threading
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
from dash import Dash, Input, Output, State, dcc, html, no_update
from pydantic import Field

from dashboard.plugin import (
    HIGHLIGHT_STORE,
    REQUEST_STORE,
    DashboardError,
    DerivedColumn,
    Highlight,
    Panel,
    PanelOptions,
    RequestValue,
    action,
    checked,
    focus_attributes,
    hookimpl,
)
from dashboard.plugin.analysis import Comparison, compare
from dashboard.plugin.components import alert

RING_LABEL = "least overlap"


class CompareOptions(PanelOptions):
    tables: list[str] = Field(
        min_length=2,
        max_length=2,
        description="The two tables to compare; both need an `id` column to match rows.",
    )
    k: int = Field(10, ge=2, le=100, description="Neighbours each item's overlap looks at.")
    lowest: int = Field(
        10, ge=1, le=200, description="How many items with the least overlap to list."
    )


class ComparePanel(Panel):
    """Per-item k-NN overlap and linear CKA of two tables matched by id."""

    name = "compare"
    Options = CompareOptions
    options: CompareOptions

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._result: Comparison | str | None = None
        self._lock = threading.Lock()

    def validate(self) -> None:
        resolved = []
        for table in self.options.tables:
            name = self.check_table(table)
            if not self.context.datasets[name].config.id:
                raise self.error(
                    "tables", f"table {name!r} has no `id` column", "set `id:` on both tables"
                )
            resolved.append(name)
        self.tables = resolved

    def derived_columns(self) -> list[DerivedColumn]:
        """Each table's k-NN overlap with the other, as a colour of its maps."""
        a, b = self.tables
        return [
            DerivedColumn(
                table,
                f"__overlap{self.index}{side}__",
                f"{self.options.k}-NN overlap with {other}",
                lambda side=side: self.overlap_column(side),
            )
            for side, (table, other) in enumerate(((a, b), (b, a)))
        ]

    def overlap_column(self, side: int) -> np.ndarray:
        """Each row's k-NN overlap, for a table's colour: ``side`` 0 is the first table, 1 the
        second; NaN for rows whose id the other table lacks (or outside the sample).

        Raises
        ------
        DashboardError
            When the tables cannot be compared.
        """
        result = self.comparison()
        if isinstance(result, str):
            raise DashboardError(result)
        table = self.context.datasets[self.tables[side]]
        values = np.full(table.n_rows, np.nan, dtype=np.float32)
        values[result.rows_a if side == 0 else result.rows_b] = result.overlap
        return values

    def layout(self) -> Any:
        a, b = self.tables
        ring = dbc.Button("Ring on map", id=self.id("ring"), size="sm", color="link")
        return self.card(
            f"{a} against {b}",
            [
                html.Div("Comparing…", id=self.id("body"), className="small"),
                dcc.Store(id=self.action_id()),
            ],
            controls=ring,
            body_style={"maxHeight": "32rem", "overflowY": "auto"},
        )

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(Output(self.id("body"), "children"), Input(REQUEST_STORE, "data"))
        @checked
        def show(request: RequestValue | None) -> Any:
            return self.render()

        @app.callback(
            Output(self.action_id(), "data"),
            Input(self.id("ring"), "n_clicks"),
            State(REQUEST_STORE, "data"),
            State(HIGHLIGHT_STORE, "data"),
            prevent_initial_call=True,
        )
        @checked
        def ring(n_clicks: Any, request: RequestValue | None, highlight: Highlight | None) -> Any:
            if isinstance(highlight, dict) and highlight.get("label") == RING_LABEL:
                return action("clear_highlight")  # the second click takes the rings off
            rings = self.ring(request)
            return action("highlight", **rings) if rings else no_update

    def comparison(self) -> Comparison | str:
        """The comparison, computed once (the tables do not change), or why it failed.

        Locked: the panel and a map coloured by overlap ask for it together on page load.
        """
        with self._lock:
            if self._result is None:
                a, b = (self.context.datasets[t] for t in self.tables)
                try:
                    self._result = compare(
                        a.matrix(),
                        a.metadata().get_column(a.config.id),
                        b.matrix(),
                        b.metadata().get_column(b.config.id),
                        self.options.k,
                    )
                except ValueError as exc:
                    self._result = f"{exc}\ncheck that both tables' `id` columns hold the same ids"
            return self._result

    def lowest(self, result: Comparison) -> np.ndarray:
        """Positions (in the comparison) of the items with the least overlap, lowest first."""
        measured = np.flatnonzero(np.isfinite(result.overlap))
        order = np.argsort(result.overlap[measured], kind="stable")
        return measured[order][: self.options.lowest]

    def render(self) -> Any:
        """CKA, mean overlap, and the items whose neighbourhoods differ most."""
        result = self.comparison()
        if isinstance(result, str):
            return alert(result)
        a = self.context.datasets[self.tables[0]]
        mean = float(np.nanmean(result.overlap))
        summary = html.Div(
            [
                html.Div(
                    [html.Span("linear CKA"), html.Strong(f"{result.cka:.3f}")],
                    className="d-flex justify-content-between dashboard-cka",
                    title="Similarity of the two representations, up to rotation and scale: "
                    "1 is the same geometry.",
                ),
                html.Div(
                    [html.Span(f"mean {result.k}-NN overlap"), html.Strong(f"{mean:.3f}")],
                    className="d-flex justify-content-between dashboard-overlap",
                    title="The average share of an item's nearest items under one model that "
                    "are also its nearest under the other.",
                ),
                html.Div(f"{len(result.rows_a):,} shared ids", className="text-body-secondary"),
            ],
            className="mb-2",
        )
        rows = [
            html.Tr(
                [html.Td(a.caption(int(result.rows_a[i]))), html.Td(f"{result.overlap[i]:.2f}")],
                className="dashboard-compare-item",
                title="Click to find it on the map",
                **focus_attributes(a.name, int(result.rows_a[i])),
            )
            for i in self.lowest(result)
        ]
        head = html.Thead(html.Tr([html.Th("least overlap"), html.Th("overlap")]))
        return [summary, dbc.Table([head, html.Tbody(rows)], size="sm", className="mb-0")]

    def ring(self, request: Any) -> dict[str, Any] | None:
        """Highlight the least-overlap items on the map of whichever table it shows."""
        result = self.comparison()
        table = (request or {}).get("table")
        if isinstance(result, str) or table not in self.tables:
            return None
        picked = self.lowest(result)
        rows = result.rows_a if table == self.tables[0] else result.rows_b
        return {"table": table, "rows": rows[picked].tolist(), "label": RING_LABEL}


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [ComparePanel]
