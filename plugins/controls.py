"""Controls panel: choose table, reducer, its parameters (generated from ``Params``) and dims."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from dashboard.plugin import (
    REQUEST_STORE,
    SELECTION_STORE,
    DashboardError,
    Panel,
    ProjectionRequest,
    hookimpl,
)
from dashboard.plugin.components import alert
from plugins.param_widgets import PARAM_TYPE, clean_value, field_specs, param_widget

GROUP_TYPE = "controls-params"
#: Fewest selected points "Isolate selection" re-projects.
MIN_ISOLATE = 5


class ControlsPanel(Panel):
    """Pick what to project; every change re-runs (or re-loads from cache) the projection."""

    name = "controls"
    default_width = 3

    def layout(self) -> Any:
        ctx = self.context
        initial = ctx.initial_request
        reducers = ctx.registry.reducers
        groups = []
        for name, cls in sorted(reducers.items()):
            values = initial.params if name == initial.reducer else {}
            widgets = [
                param_widget(name, spec, values.get(spec["name"], spec["default"]))
                for spec in field_specs(cls.Params)
            ]
            groups.append(
                html.Div(
                    widgets or [html.Small("No parameters.", className="text-body-secondary")],
                    id={"type": GROUP_TYPE, "reducer": name},
                    style=None if name == initial.reducer else {"display": "none"},
                )
            )
        body = [
            dbc.Label("Table", html_for=self.id("table"), className="mb-0 small fw-semibold"),
            dcc.Dropdown(
                id=self.id("table"),
                options=[{"label": t, "value": t} for t in ctx.datasets],
                value=initial.table,
                clearable=False,
                className="mb-2",
            ),
            dbc.Label("Reducer", html_for=self.id("reducer"), className="mb-0 small fw-semibold"),
            dcc.Dropdown(
                id=self.id("reducer"),
                options=[
                    {"label": cls.title or name, "value": name}
                    for name, cls in sorted(reducers.items())
                ],
                value=initial.reducer,
                clearable=False,
                className="mb-2",
            ),
            dbc.Label("Dimensions", className="mb-0 small fw-semibold d-block"),
            dbc.RadioItems(
                id=self.id("dims"),
                options=[{"label": "2D", "value": 2}, {"label": "3D", "value": 3}],
                value=initial.dims,
                inline=True,
                className="mb-2",
            ),
            dbc.Label(
                "Fit at most", html_for=self.id("sample"), className="mb-0 small fw-semibold"
            ),
            html.Div(
                dbc.InputGroup(
                    [
                        dbc.Input(
                            id=self.id("sample"),
                            type="number",
                            min=100,
                            step=1,
                            placeholder=self.sample_placeholder(),
                            debounce=True,
                        ),
                        dbc.InputGroupText("rows"),
                    ],
                    size="sm",
                ),
                className="mb-2",
                title="Bigger tables are fitted on a sample of this many rows, the rest placed "
                "with `transform` where the reducer can. Empty: the config's limit.",
            ),
            html.Div(
                [
                    dbc.Button(
                        "Isolate selection",
                        id=self.id("isolate"),
                        size="sm",
                        color="secondary",
                        outline=True,
                        title="Re-project only the selected points",
                    ),
                    dbc.Button(
                        "Show all", id=self.id("all"), size="sm", color="secondary", outline=True
                    ),
                ],
                className="d-flex gap-2 mb-2",
            ),
            html.Hr(className="my-2"),
            html.Div(groups, id=self.id("params")),
            html.Div(id=self.id("message"), role="status"),
        ]
        return self.card("Projection", body)

    def sample_placeholder(self) -> str:
        """What an empty "fit at most" means: the config's limit, or each reducer's own."""
        limit = self.context.config.projection.sample.max_rows
        if limit == "auto":
            return "auto (UMAP, t-SNE: 200,000)"
        return "all" if limit is None else f"{limit:,}"

    def url_state(self) -> dict[str, tuple[Any, str]]:
        return {
            "table": (self.id("table"), "value"),
            "reducer": (self.id("reducer"), "value"),
            "dims": (self.id("dims"), "value"),
            "sample": (self.id("sample"), "value"),
            "params": ({"type": PARAM_TYPE, "reducer": ALL, "param": ALL}, "value"),
        }

    def register_callbacks(self, app: Dash) -> None:
        registry = self.context.registry

        @app.callback(
            Output({"type": GROUP_TYPE, "reducer": ALL}, "style"),
            Input(self.id("reducer"), "value"),
            State({"type": GROUP_TYPE, "reducer": ALL}, "id"),
        )
        def show_params(reducer: str, ids: list[dict[str, str]]) -> list[Any]:
            return [None if i["reducer"] == reducer else {"display": "none"} for i in ids]

        @app.callback(
            Output(REQUEST_STORE, "data"),
            Output(self.id("message"), "children"),
            Input(self.id("table"), "value"),
            Input(self.id("reducer"), "value"),
            Input(self.id("dims"), "value"),
            Input({"type": PARAM_TYPE, "reducer": ALL, "param": ALL}, "value"),
            Input(self.id("sample"), "value"),
            Input(self.id("isolate"), "n_clicks"),
            Input(self.id("all"), "n_clicks"),
            State({"type": PARAM_TYPE, "reducer": ALL, "param": ALL}, "id"),
            State(REQUEST_STORE, "data"),
            State(SELECTION_STORE, "data"),
            prevent_initial_call=True,
        )
        def request(
            table: str,
            reducer: str,
            dims: int,
            values: list[Any],
            max_rows: Any,
            isolate: Any,
            show_all: Any,
            ids: list[dict[str, str]],
            current: dict[str, Any] | None,
            selection: dict[str, Any] | None,
        ) -> tuple[Any, Any]:
            trigger = ctx.triggered_id
            rows = subset_rows(
                trigger == self.id("isolate"), trigger == self.id("all"), table, current, selection
            )
            if isinstance(rows, str):
                return no_update, alert(rows)
            return build_request(
                registry, table, reducer, dims, values, ids, current, rows, max_rows
            )


def subset_rows(
    isolate: bool,
    show_all: bool,
    table: str,
    current: dict[str, Any] | None,
    selection: dict[str, Any] | None,
) -> list[int] | str | None:
    """Rows the next projection covers: the selection when isolating, all rows after
    "Show all" or a table change, else the current subset. A string explains a refusal."""
    if show_all:
        return None
    if isolate:
        selection = selection or {}
        rows = selection.get("rows") or []
        if selection.get("table") != table or len(rows) < MIN_ISOLATE:
            return (
                f"select at least {MIN_ISOLATE} points of {table!r} on the map to isolate them\n"
                "use the box or lasso tool"
            )
        return sorted(int(r) for r in rows)
    if current and current.get("table") == table:
        return current.get("rows")
    return None


def build_request(
    registry: Any,
    table: str,
    reducer: str,
    dims: int,
    values: list[Any],
    ids: list[dict[str, str]],
    current: dict[str, Any] | None,
    rows: list[int] | None = None,
    max_rows: Any = None,
) -> tuple[Any, Any]:
    """Turn the controls' values into a projection request, or explain what is wrong.

    Returns ``(request dict or no_update, message)``; an unchanged request is not resent.
    """
    params = {
        i["param"]: clean_value(v)
        for i, v in zip(ids, values, strict=True)
        if i["reducer"] == reducer
    }
    try:
        cls = registry.reducer(reducer)
        for spec in field_specs(cls.Params):
            # The browser sends None for a number outside the input's min/max.
            if params.get(spec["name"], 0) is None and not spec["nullable"]:
                bounds = f" from {spec['min']} to {spec['max']}" if "min" in spec else ""
                raise DashboardError(
                    f"{reducer}: `{spec['name']}`: enter a value{bounds}\n{spec['description']}"
                )
        validated = cls.validate_params(params)
    except DashboardError as exc:
        return no_update, alert(str(exc))
    subset = None if rows is None else tuple(rows)
    limit = int(max_rows) if isinstance(max_rows, (int, float)) and max_rows >= 100 else None
    request = ProjectionRequest(
        table, reducer, int(dims), validated.model_dump(mode="json"), subset, limit
    ).to_dict()
    if request == current:
        return no_update, None
    return request, None


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [ControlsPanel]
