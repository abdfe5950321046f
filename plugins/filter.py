"""Filter panel: keep rows by category (multi-select) or numeric range (slider)."""

from __future__ import annotations

import math
from typing import Any

import dash_bootstrap_components as dbc
import polars as pl
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from pydantic import Field

from dashboard.plugin import (
    FILTER_STORE,
    PROJECTION_STORE,
    REQUEST_STORE,
    DashboardError,
    Dataset,
    Panel,
    PanelOptions,
    Projection,
    hookimpl,
)
from dashboard.plugin.analysis import CLUSTER, MAP_MEASURES, MISSING
from dashboard.plugin.figures import is_categorical, shorten

IN_TYPE = "filter-in"
RANGE_TYPE = "filter-range"


class FilterOptions(PanelOptions):
    columns: list[str] | None = Field(
        None,
        description="Columns to filter by; default: every category column (at most "
        "`max_categories` values) and every numeric column, except `id` and `text`.",
    )
    max_categories: int = Field(
        100, ge=2, le=10_000, description="Category columns with more values are left out."
    )
    clusters: bool = Field(
        True,
        description="Offer the map's HDBSCAN clusters, with their sizes, as a filter "
        "(computed when asked, once per map).",
    )


class FilterPanel(Panel):
    """One control per column; the map shows only the rows that pass them all."""

    name = "filter"
    Options = FilterOptions
    options: FilterOptions
    default_width = 3

    def validate(self) -> None:
        self.check_columns("columns", self.options.columns or [], self.check_table(None))

    def controls(self, dataset: Dataset) -> list[Any]:
        """The filter widgets for ``dataset``'s columns (all set to keep every row)."""
        meta = dataset.metadata()
        skip = {dataset.config.id, dataset.config.text}
        names = self.options.columns or [c for c in dataset.metadata_columns if c not in skip]
        widgets = []
        for column in names:
            if column not in meta.columns:
                continue
            series = meta.get_column(column)
            label = dbc.Label(column, className="mb-0 small fw-semibold")
            if is_categorical(series) or not series.dtype.is_numeric():
                values = series.drop_nulls().unique()
                if values.len() > self.options.max_categories:
                    continue
                values = values.sort() if values.dtype.is_numeric() else values.cast(pl.String)
                options = [
                    {"label": shorten(str(v), 80), "value": str(v)} for v in values.sort().to_list()
                ]
                if series.null_count():
                    options.append({"label": MISSING, "value": MISSING})
                control = dcc.Dropdown(
                    id={"type": IN_TYPE, "panel": self.index, "column": column},
                    options=options,
                    value=[],
                    multi=True,
                    placeholder="all",
                )
            else:
                low, high = series.min(), series.max()
                if low is None or high is None or not math.isfinite(float(high - low)):
                    continue
                low, high = float(low), float(high)
                integer = series.dtype.is_integer()
                step = 1 if integer else (high - low) / 100 or 1
                control = dcc.RangeSlider(
                    id={"type": RANGE_TYPE, "panel": self.index, "column": column},
                    min=low,
                    max=high,
                    step=step,
                    value=[low, high],
                    marks=None,
                    tooltip={"placement": "bottom"},
                    allowCross=False,
                )
            widgets.append(html.Div([label, control], className="mb-2"))
        return widgets or [html.Small("No column to filter by.", className="text-body-secondary")]

    def layout(self) -> Any:
        dataset = self.context.datasets[self.context.initial_request.table]
        body = [
            html.Div(self.controls(dataset), id=self.id("controls")),
            html.Div(
                self.cluster_control(None, compute=False),
                id=self.id("clusters"),
                style=None if self.options.clusters else {"display": "none"},
            ),
            # Which table the controls are for: a new reducer must not reset them.
            dcc.Store(id=self.id("built-for"), data=dataset.name),
        ]
        clear = dbc.Button("Clear", id=self.id("clear"), size="sm", color="link")
        return self.card("Filter", body, controls=clear)

    def url_state(self) -> dict[str, tuple[Any, str]]:
        # Kept for the table the page opens on; another table rebuilds these controls.
        return {
            "in": ({"type": IN_TYPE, "panel": self.index, "column": ALL}, "value"),
            "range": ({"type": RANGE_TYPE, "panel": self.index, "column": ALL}, "value"),
        }

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(
            Output(self.id("controls"), "children"),
            Output(self.id("built-for"), "data"),
            Input(REQUEST_STORE, "data"),
            Input(self.id("clear"), "n_clicks"),
            State(self.id("built-for"), "data"),
            prevent_initial_call=True,
        )
        def rebuild(request: Any, clear: Any, built_for: Any) -> tuple[Any, Any]:
            dataset = self.context.dataset((request or {}).get("table"))
            cleared = ctx.triggered_id == self.id("clear")
            if dataset is None or (dataset.name == built_for and not cleared):
                return no_update, no_update
            return self.controls(dataset), dataset.name

        if self.options.clusters:

            @app.callback(
                Output(self.id("clusters"), "children"),
                Input(PROJECTION_STORE, "data"),
                Input(self.id("find-clusters"), "n_clicks"),
                Input(self.id("clear"), "n_clicks"),
            )
            def clusters(projection: Any, find: Any, clear: Any) -> Any:
                asked = ctx.triggered_id == self.id("find-clusters")
                return self.cluster_control(Projection.from_store(projection), compute=asked)

        @app.callback(
            Output(FILTER_STORE, "data"),
            Input({"type": IN_TYPE, "panel": self.index, "column": ALL}, "value"),
            Input({"type": RANGE_TYPE, "panel": self.index, "column": ALL}, "value"),
            State({"type": IN_TYPE, "panel": self.index, "column": ALL}, "id"),
            State({"type": RANGE_TYPE, "panel": self.index, "column": ALL}, "id"),
            State({"type": RANGE_TYPE, "panel": self.index, "column": ALL}, "min"),
            State({"type": RANGE_TYPE, "panel": self.index, "column": ALL}, "max"),
            State(REQUEST_STORE, "data"),
            Input(self.id("cluster-pick"), "value"),
            prevent_initial_call=True,
        )
        def store(*args: Any) -> Any:
            return self.filters(*args)

    def cluster_control(self, projection: Projection | None, *, compute: bool) -> Any:
        """The cluster filter for ``projection``'s map: a "Find clusters" button until they
        are known (computed on a click, or already by a "cluster" colour), then a dropdown
        of the clusters with their sizes."""
        on_map = projection is not None and self.context.dataset(projection.table) is not None
        options = []
        if on_map and (compute or self.context.is_computed(projection, CLUSTER)):
            try:
                names = self.context.computed(projection, CLUSTER)
            except DashboardError:
                names = None
            if names is not None:
                options = [
                    {"label": f"{name} ({count:,})", "value": name}
                    for name, count in sorted(names.value_counts().iter_rows())
                ]
        # Both controls always exist (one hidden): they are inputs of callbacks.
        button = dbc.Button(
            "Find clusters",
            id=self.id("find-clusters"),
            size="sm",
            color="secondary",
            style={"display": "none"} if options or not on_map else None,
        )
        dropdown = dcc.Dropdown(
            id=self.id("cluster-pick"),
            options=options,
            value=[],
            multi=True,
            placeholder="all",
            style=None if options else {"display": "none"},
        )
        label = dbc.Label(MAP_MEASURES[CLUSTER].label, className="mb-0 small fw-semibold")
        return html.Div([label, html.Div(button), dropdown], className="mb-2")

    def filters(
        self,
        picked: list[Any],
        ranges: list[Any],
        picked_ids: list[dict[str, Any]],
        range_ids: list[dict[str, Any]],
        lows: list[float],
        highs: list[float],
        request: dict[str, Any] | None,
        clusters: list[str] | None = None,
    ) -> dict[str, Any]:
        """The filter store's value: only the controls that leave something out."""
        filters: dict[str, Any] = {}
        if clusters:
            filters[CLUSTER] = {"in": list(clusters)}
        for wid, values in zip(picked_ids, picked, strict=True):
            if values:
                filters[wid["column"]] = {"in": list(values)}
        for wid, value, low, high in zip(range_ids, ranges, lows, highs, strict=True):
            if value and (value[0] > low or value[1] < high):
                filters[wid["column"]] = {"range": [value[0], value[1]]}
        return {"table": (request or {}).get("table"), "filters": filters}


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [FilterPanel]
