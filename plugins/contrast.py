"""Contrast panel: what makes the selected rows different from the rest."""

from __future__ import annotations

import logging
import threading
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
from dash import Dash, Input, Output, dcc, html, no_update
from pydantic import Field

from dashboard.plugin import (
    PROJECTION_STORE,
    SELECTION_STORE,
    DashboardError,
    Memo,
    Panel,
    PanelOptions,
    Projection,
    Rows,
    checked,
    hookimpl,
)
from dashboard.plugin.analysis import Contrasts, Difference

logger = logging.getLogger(__name__)

HINT = "Select points on the map to see which columns set them apart."
#: Fewest rows on each side a comparison needs (the tests need a few of each).
MIN_ROWS = 5


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

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Each table's selection-free work (category codes, ranks), done once.
        self._contrasts: Memo[str, Contrasts] = Memo(4)

    def validate(self) -> None:
        # Checked against the table the page opens on; other tables use what they have.
        if self.options.columns:
            self.check_columns("columns", self.options.columns, self.context.initial_request.table)

    def layout(self) -> Any:
        return self.card(
            "What sets the selection apart",
            [
                html.Div(HINT, id=self.id("body"), className="small text-body-secondary"),
                dcc.Store(id=self.id("prepared")),
            ],
        )

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(Output(self.id("body"), "children"), Input(SELECTION_STORE, "data"))
        @checked
        def show(selection: Rows | None) -> Any:
            return self.render(selection)

        @app.callback(Output(self.id("prepared"), "data"), Input(PROJECTION_STORE, "data"))
        def prepare(projection: Any) -> Any:
            self.prepare_in_background(Projection.from_store(projection))
            return no_update

    def prepare_in_background(self, projection: Projection | None) -> threading.Thread | None:
        """Start the selection-free work for ``projection``'s table (ranks, category codes:
        173 ms of a 100k-row table's first selection) while the person looks at the map."""
        dataset = self.context.dataset(projection.table) if projection is not None else None
        if dataset is None:
            return None

        def work() -> None:
            try:
                self.contrasts(dataset.name).prepare()
            except DashboardError as exc:  # the selection's own request will say so
                logger.warning("contrast: could not prepare table %r: %s", dataset.name, exc)

        thread = threading.Thread(target=work, name="dashboard-contrast-prepare", daemon=True)
        thread.start()
        return thread

    def contrasts(self, table: str) -> Contrasts:
        """``table``'s comparisons (their selection-free work kept)."""
        dataset = self.context.datasets[table]
        columns = self.columns(table)
        return self._contrasts.get(table, lambda: Contrasts(dataset.metadata(), columns))

    def columns(self, table: str) -> list[str]:
        """The columns compared for ``table``."""
        dataset = self.context.datasets[table]
        if self.options.columns:
            return [c for c in self.options.columns if c in dataset.metadata_columns]
        skip = {dataset.config.id, dataset.config.text}
        return [c for c in dataset.metadata_columns if c not in skip]

    def render(self, selection: dict[str, Any] | None) -> Any:
        """The panel's content for a selection store value."""
        selection = selection if isinstance(selection, dict) else {}
        dataset = self.context.dataset(selection.get("table"))
        picked = [r for r in selection.get("rows") or [] if isinstance(r, int)]
        if dataset is None or not picked:
            return HINT
        rows = np.unique(np.asarray(picked, dtype=np.int64))
        rows = rows[(rows >= 0) & (rows < dataset.n_rows)]
        if len(rows) < MIN_ROWS or dataset.n_rows - len(rows) < MIN_ROWS:
            return html.Div(
                f"Select at least {MIN_ROWS} points (and leave {MIN_ROWS} out) to compare "
                f"them with the rest; {len(rows):,} selected.",
                className="text-body-secondary",
            )
        found = self.contrasts(dataset.name).compare(rows)
        rest = dataset.n_rows - len(rows)
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


def p_text(p: float) -> str:
    """A p-value as a person reads it: ``p = 0.03``, ``p < 1e-300`` (never ``p = 0``)."""
    if not p > 0:  # below the smallest float: the test can only say it is tiny
        return "p < 1e-300"
    return f"p = {p:.2g}"


def difference_row(difference: Difference) -> Any:
    """One column's row: its name, effect size, what differs, and the test's p-value."""
    return html.Tr(
        [
            html.Td(difference.column, className="fw-semibold"),
            html.Td(f"{difference.effect_name} {difference.effect:+.2f}"),
            html.Td(difference.summary),
            html.Td(f"{difference.test} {p_text(difference.p_value)}", className="text-nowrap"),
        ],
        className="dashboard-contrast-row",
    )


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [ContrastPanel]
