"""Filter panel: keep rows by category (multi-select), numeric range (from/to boxes, applied
on Enter) and by the map's HDBSCAN clusters. Every control is bound to the view's filters."""

from __future__ import annotations

import math
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
import polars as pl
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from pydantic import Field

from dashboard.plugin import (
    FILTER_STORE,
    MEASURES_STORE,
    PROJECTION_STORE,
    REQUEST_STORE,
    DashboardError,
    Dataset,
    Panel,
    PanelOptions,
    Projection,
    action,
    hookimpl,
)
from dashboard.plugin.analysis import CLUSTER, MAP_MEASURES, MISSING, cluster_names
from dashboard.plugin.figures import is_categorical, shorten

#: Clusters a map may have at most: HDBSCAN's smallest cluster is 1 % of the rows it
#: clusters, so it finds fewer than 100.
MAX_CLUSTERS = 100


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


#: Every name a cluster filter may hold (the options of the hidden list before the map's
#: clusters are known).
UNKNOWN_CLUSTERS = [
    {"label": name, "value": name}
    for name in cluster_names(np.arange(-2, MAX_CLUSTERS, dtype=np.int32))
]


def by_cluster_name(by_code: dict[int, str]) -> dict[str, str]:
    """``by_code``'s values keyed by their clusters' names (``cluster 03``) instead."""
    codes = sorted(by_code)
    names = cluster_names(np.array(codes, dtype=np.int32))
    return {name: by_code[code] for name, code in zip(names, codes, strict=True)}


def current(filters: Any, table: str) -> dict[str, Any]:
    """The filter store's specs when they are about ``table``, else none."""
    filters = filters if isinstance(filters, dict) else {}
    if filters.get("table") != table or not isinstance(filters.get("filters"), dict):
        return {}
    return filters["filters"]


class FilterPanel(Panel):
    """One control per column; the map shows only the rows that pass them all."""

    name = "filter"
    Options = FilterOptions
    options: FilterOptions
    default_width = 3
    region = "sidebar"

    def validate(self) -> None:
        self.check_columns("columns", self.options.columns or [], self.check_table(None))

    def controls(self, dataset: Dataset, filters: Any = None) -> list[Any]:
        """The filter widgets for ``dataset``'s columns, showing ``filters`` (the filter
        store's value; widgets of columns it does not name keep every row)."""
        meta = dataset.metadata()
        specs = current(filters, dataset.name)
        skip = {dataset.config.id, dataset.config.text}
        names = self.options.columns or [c for c in dataset.metadata_columns if c not in skip]
        widgets = []
        for column in names:
            if column not in meta.columns:
                continue
            series = meta.get_column(column)
            label = dbc.Label(column, className="mb-0 small fw-semibold")
            spec = specs.get(column) or {}
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
                    id=self.view_id("filters", column, "in"),
                    options=options,
                    value=list(spec.get("in") or []),
                    multi=True,
                    placeholder="all",
                )
            else:
                low, high = series.min(), series.max()
                if low is None or high is None or not math.isfinite(float(high - low)):
                    continue
                bounds = spec.get("range") or [None, None]
                control = dbc.InputGroup(
                    [
                        dbc.Input(
                            id=self.view_id("filters", column, "min"),
                            type="number",
                            value=bounds[0],
                            placeholder=f"from {_number(low)}",
                            debounce=True,
                        ),
                        dbc.Input(
                            id=self.view_id("filters", column, "max"),
                            type="number",
                            value=bounds[1],
                            placeholder=f"to {_number(high)}",
                            debounce=True,
                        ),
                    ],
                    size="sm",
                )
            widgets.append(html.Div([label, control], className="mb-2"))
        return widgets or [html.Small("No column to filter by.", className="text-body-secondary")]

    def layout(self) -> Any:
        dataset = self.context.datasets[self.context.initial_request.table]
        body = [
            html.Div(self.controls(dataset), id=self.id("controls")),
            html.Div(
                self.cluster_control(None, None, compute=False),
                id=self.id("clusters"),
                style=None if self.options.clusters else {"display": "none"},
            ),
            # Which table the controls are for: a new reducer must not rebuild them.
            dcc.Store(id=self.id("built-for"), data=dataset.name),
            dcc.Store(id=self.action_id()),
        ]
        clear = dbc.Button("Clear", id=self.id("clear"), size="sm", color="link")
        return self.card("Filter", body, controls=clear)

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(
            Output(self.id("controls"), "children"),
            Output(self.id("built-for"), "data"),
            Input(REQUEST_STORE, "data"),
            State(self.id("built-for"), "data"),
            State(FILTER_STORE, "data"),
            prevent_initial_call=True,
        )
        def rebuild(request: Any, built_for: Any, filters: Any) -> tuple[Any, Any]:
            dataset = self.context.dataset((request or {}).get("table"))
            if dataset is None or dataset.name == built_for:
                return no_update, no_update
            return self.controls(dataset, filters), dataset.name

        @app.callback(
            Output(self.action_id(), "data"),
            Input(self.id("clear"), "n_clicks"),
            prevent_initial_call=True,
        )
        def clear(n_clicks: Any) -> Any:
            return action("clear_filters")

        if self.options.clusters:

            @app.callback(
                Output(self.id("clusters"), "children"),
                Input(PROJECTION_STORE, "data"),
                Input(self.id("find-clusters"), "n_clicks"),
                # A stability check scored the clusters.
                Input(MEASURES_STORE, "data"),
                State(FILTER_STORE, "data"),
            )
            def clusters(projection: Any, find: Any, measures: Any, filters: Any) -> Any:
                drawn = Projection.from_store(projection)
                if drawn is None:
                    # No map yet (a page opening): the layout's control stays. A new one
                    # would be an empty list, whose emptiness clears a cluster filter the
                    # page's link asks for.
                    return no_update
                asked = ctx.triggered_id == self.id("find-clusters")
                return self.cluster_control(drawn, filters, compute=asked)

    def cluster_control(self, projection: Projection | None, filters: Any, *, compute: bool) -> Any:
        """The cluster filter for ``projection``'s map: a "Find clusters" button until they
        are known (computed on a click, or already by a "cluster" colour), then a dropdown
        of the clusters with their sizes, and their stability across seeds once a
        stability check scored them."""
        on_map = projection is not None and self.context.dataset(projection.table) is not None
        options = []
        picked: list[str] = []
        # A cluster filter in the view (a link, a map asked for again) needs the map's
        # clusters: without them the list would be empty and its emptiness clear the filter.
        spec = (current(filters, projection.table).get(CLUSTER) or {}) if on_map else {}
        asked = bool(spec.get("in"))
        if on_map and (compute or asked or self.context.is_computed(projection, CLUSTER)):
            try:
                names = self.context.computed(projection, CLUSTER)
            except DashboardError:
                names = None
            if names is not None:
                scores = self.stability_scores(projection)
                named = self.label_texts(projection)
                options = [
                    {
                        "label": f"{name}{named.get(name, '')} ({count:,}){scores.get(name, '')}",
                        "value": name,
                    }
                    for name, count in sorted(names.value_counts().iter_rows())
                ]
                picked = list(spec.get("in") or [])
        # Both controls always exist (one hidden): the button is a callback's input.
        button = dbc.Button(
            "Find clusters",
            id=self.id("find-clusters"),
            size="sm",
            color="secondary",
            style={"display": "none"} if options or not on_map else None,
        )
        dropdown = dcc.Dropdown(
            id=self.view_id("filters", CLUSTER, "in"),
            # Until the map's clusters are known (the list hidden), any cluster's name is an
            # option: the dropdown drops a value it has no option for, and a page opening
            # a link with a cluster filter would lose it before the clusters arrive.
            options=options or UNKNOWN_CLUSTERS,
            value=picked,
            multi=True,
            placeholder="all",
            # Named and scored entries wrap onto two or three lines in the sidebar.
            maxHeight=360,
            style=None if options else {"display": "none"},
        )
        label = dbc.Label(MAP_MEASURES[CLUSTER].label, className="mb-0 small fw-semibold")
        # A filter kept across maps (2D to 3D, another reducer) picks each map's own cluster.
        hint = html.Small(
            "Clusters are found on each map: on another map, the same number is another "
            "group of points.",
            className="text-body-secondary",
            style=None if picked else {"display": "none"},
        )
        return html.Div([label, html.Div(button), dropdown, hint], className="mb-2")

    def label_texts(self, projection: Projection) -> dict[str, str]:
        """What each cluster's entry adds once the map's Labels named the clusters, by
        name: ``· engine · piston · gearbox``, so the list and the map's labels meet."""
        texts = self.context.known_cluster_labels(projection) or {}
        return by_cluster_name({code: f" · {text}" for code, text in texts.items()})

    def stability_scores(self, projection: Projection) -> dict[str, str]:
        """What each cluster's entry adds once a stability check scored it, by name:
        ``· stability 0.93`` (its Jaccard stability across seeds)."""
        known = self.context.known_stability(projection)
        scores = known.clusters if known is not None else {}
        return by_cluster_name(
            {code: f" · stability {score:.2f}" for code, score in scores.items()}
        )


def _number(value: Any) -> str:
    value = float(value)
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.4g}"


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [FilterPanel]
