"""Search panel: substring or regular-expression search over label and text columns."""

from __future__ import annotations

import re
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
import polars as pl
from dash import Dash, Input, Output, dcc, html
from pydantic import Field

from dashboard.plugin import SEARCH_STORE, DataError, Panel, PanelOptions, hookimpl
from dashboard.plugin.components import alert, rich_text

#: Milliseconds of quiet typing before the search runs.
DEBOUNCE_MS = 300
#: Colour of the rings round search matches.
RING_COLOUR = "#6f42c1"


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
    if regex:
        check_pattern(query)
    pattern = query if regex else "(?i)" + re.escape(query)
    try:
        hits = meta.select(
            pl.any_horizontal(
                pl.col(c).cast(pl.String).str.contains(pattern).fill_null(False) for c in columns
            )
        ).to_series()
    except pl.exceptions.PolarsError:
        # Valid for Python, not for the Rust engine: look-arounds and back-references.
        raise DataError(
            f"the pattern {query!r} uses look-around or back-references, which the search "
            "does not support\nrewrite it without them, or turn off regex"
        ) from None
    return np.flatnonzero(hits.to_numpy())


def check_pattern(query: str) -> None:
    """Explain what is wrong with a regular expression, in words a person can act on.

    Raises
    ------
    DataError
        Naming the problem and where it is (Python's parser, which agrees with the search's
        on everything but look-arounds and back-references).
    """
    try:
        re.compile(query)
    except re.error as exc:
        where = f" at character {exc.pos + 1}" if exc.pos is not None else ""
        raise DataError(
            f"invalid regular expression {query!r}: {exc.msg}{where}\n"
            "fix the pattern, or turn off regex to search for the text as typed"
        ) from None


class SearchPanel(Panel):
    """Finds rows by label/text; the matches are ringed on the map and counted here."""

    name = "search"
    Options = SearchOptions
    options: SearchOptions
    default_width = 6
    region = "sidebar"

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
                    id=self.view_id("search", "query"),
                    type="search",
                    placeholder="label or text",
                    debounce=DEBOUNCE_MS,
                ),
                dbc.InputGroupText(
                    dbc.Switch(id=self.view_id("search", "regex"), label="regex", value=False)
                ),
            ],
            size="sm",
        )
        return self.card(
            "Search",
            [
                row,
                html.Div(id=self.id("count"), className="small mt-2"),
                dcc.Store(id=self.rings_id()),
            ],
        )

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(
            Output(self.id("count"), "children"),
            Output(self.rings_id(), "data"),
            Input(SEARCH_STORE, "data"),
        )
        def search(search: Any) -> tuple[Any, Any]:
            search = search if isinstance(search, dict) else {}
            return self.render(search.get("query"), bool(search.get("regex")), search.get("table"))

    def render(self, query: Any, regex: bool, table: Any) -> tuple[Any, Any]:
        """(count line, rings) for a query on ``table``: the matches are ringed on its maps;
        a bad pattern is explained and rings nothing."""
        none = {"table": None, "rows": []}
        dataset = self.context.dataset(table)
        if dataset is None or not isinstance(query, str) or not query:
            return None, none
        columns = self.columns(dataset.name)
        try:
            rows = search_rows(dataset.metadata(), columns, query, regex=regex)
        except DataError as exc:
            return alert(str(exc)), none
        where = " and ".join(f"`{c}`" for c in columns) or "no text column"
        count = f"{rows.size:,} of {dataset.n_rows:,} rows match in {where}"
        rings = {
            "table": dataset.name,
            "rows": rows.tolist(),
            "label": f"matches for {query!r}",
            "colour": RING_COLOUR,
        }
        return html.Span(rich_text(count), className="dashboard-search-count"), rings


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [SearchPanel]
