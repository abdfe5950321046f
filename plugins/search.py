"""Search panel: substring or regular-expression search over label and text columns."""

from __future__ import annotations

import re
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
import polars as pl
from dash import Dash, Input, Output, State, html, no_update
from pydantic import Field

from dashboard.plugin import (
    HIGHLIGHT_STORE,
    PROJECTION_STORE,
    DataError,
    Panel,
    PanelOptions,
    Projection,
    hookimpl,
)
from dashboard.plugin.components import alert


class SearchOptions(PanelOptions):
    columns: list[str] | None = Field(
        None, description="Columns to search; default: the table's `label` and `text`."
    )


def search_rows(meta: pl.DataFrame, columns: list[str], query: str, *, regex: bool) -> np.ndarray:
    """Rows where any of ``columns`` contains ``query`` (case-insensitive substring, or a
    regular expression in Rust's syntax).

    Raises
    ------
    DataError
        For an invalid regular expression, with the parser's reason.
    """
    if not columns:
        return np.empty(0, np.int64)
    pattern = query if regex else "(?i)" + re.escape(query)
    try:
        hits = meta.select(
            pl.any_horizontal(
                pl.col(c).cast(pl.String).str.contains(pattern).fill_null(False) for c in columns
            )
        ).to_series()
    except pl.exceptions.ComputeError as exc:
        reason = str(exc).strip().splitlines()
        raise DataError(
            f"invalid regular expression {query!r}: {reason[-1] if reason else exc}\n"
            "fix the pattern, or turn off `regex` to search for the text as typed"
        ) from None
    return np.flatnonzero(hits.to_numpy())


class SearchPanel(Panel):
    """Finds rows by label/text; the matches are ringed on the map and counted here."""

    name = "search"
    Options = SearchOptions
    options: SearchOptions
    default_width = 6

    def columns(self, table: str) -> list[str]:
        """Columns searched in ``table``: the option's, else the label and text columns."""
        dataset = self.context.datasets[table]
        if self.options.columns is not None:
            return [c for c in self.options.columns if c in dataset.metadata_columns]
        return [c for c in (dataset.config.label, dataset.config.text) if c]

    def validate(self) -> None:
        self.check_columns("columns", self.options.columns or [], self.check_table(None))

    def layout(self) -> Any:
        row = dbc.InputGroup(
            [
                dbc.Input(
                    id=self.id("query"),
                    type="search",
                    placeholder="Search labels and texts",
                    debounce=True,
                ),
                dbc.InputGroupText(dbc.Switch(id=self.id("regex"), label="regex", value=False)),
            ],
            size="sm",
        )
        return self.card("Search", [row, html.Div(id=self.id("count"), className="small mt-2")])

    def url_state(self) -> dict[str, tuple[Any, str]]:
        return {"query": (self.id("query"), "value"), "regex": (self.id("regex"), "value")}

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(
            Output(self.id("count"), "children"),
            Output(HIGHLIGHT_STORE, "data", allow_duplicate=True),
            Input(self.id("query"), "value"),
            Input(self.id("regex"), "value"),
            State(PROJECTION_STORE, "data"),
            prevent_initial_call=True,
        )
        def search(query: Any, regex: Any, projection: Any) -> tuple[Any, Any]:
            return self.render(query, bool(regex), Projection.from_store(projection))

    def render(
        self, query: str | None, regex: bool, projection: Projection | None
    ) -> tuple[Any, Any]:
        """(count line, highlight store value) for a query on the projected table."""
        table = projection.table if projection else self.context.initial_request.table
        if table not in self.context.datasets:
            return no_update, no_update
        if not query:
            return None, {"table": table, "rows": []}
        dataset = self.context.datasets[table]
        columns = self.columns(table)
        try:
            rows = search_rows(dataset.metadata(), columns, query, regex=regex)
        except DataError as exc:
            return alert(str(exc)), no_update
        where = " and ".join(f"`{c}`" for c in columns) or "no text column"
        count = f"{rows.size:,} of {dataset.metadata().height:,} rows match in {where}"
        label = f"matches for {query!r}"
        return (
            html.Span(count, className="dashboard-search-count"),
            {"table": table, "rows": rows.tolist(), "label": label},
        )


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [SearchPanel]
