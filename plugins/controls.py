"""Controls panel: choose table, reducer, its parameters (generated from ``Params``) and dims.

Every widget here is bound to the view (:meth:`Panel.view_id`): its value is that part of the
view, so a link restores it, and the projection request is derived from the view."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from dashboard.plugin import MESSAGES_STORE, VIEW_STORE, Panel, action, hookimpl
from dashboard.plugin.components import alert
from plugins.param_widgets import dom_id, field_specs, param_widget

GROUP_TYPE = "controls-params"


class ControlsPanel(Panel):
    """Pick what to project; every change re-runs (or re-loads from cache) the projection."""

    name = "controls"
    default_width = 3
    region = "sidebar"

    def layout(self) -> Any:
        context = self.context
        initial = context.initial_request
        reducers = context.registry.reducers
        groups = []
        for name, cls in sorted(reducers.items()):
            values = initial.params if name == initial.reducer else {}
            widgets = [
                param_widget(
                    self.view_id("params", name, spec["name"]),
                    spec,
                    values.get(spec["name"], spec["default"]),
                )
                for spec in field_specs(cls.Params)
            ]
            groups.append(
                html.Div(
                    widgets or [html.Small("No parameters.", className="text-body-secondary")],
                    id={"type": GROUP_TYPE, "panel": self.index, "reducer": name},
                    style=None if name == initial.reducer else {"display": "none"},
                )
            )
        tables = [
            {"label": html.Span(t, title=t, className="dashboard-option"), "value": t}
            for t in context.datasets
        ]
        body = [
            _label("Table", self.view_id("table")),
            dcc.Dropdown(
                id=self.view_id("table"),
                options=tables,
                value=initial.table,
                clearable=False,
                optionHeight=48,
                className="mb-2 dashboard-wrap",
            ),
            html.Div(
                [
                    _label("Embedding", self.view_id("embedding")),
                    dcc.Dropdown(
                        id=self.view_id("embedding"),
                        options=self.embedding_options(initial.table),
                        placeholder=self.embedding_default(initial.table),
                        clearable=False,
                        className="mb-2 dashboard-wrap",
                    ),
                ],
                id=self.id("embedding-row"),
                className="dashboard-embedding",
                title="Which of the table's vector columns (or its numeric columns) to map",
                style=self.embedding_style(initial.table),
            ),
            _label("Reducer", self.view_id("reducer")),
            dcc.Dropdown(
                id=self.view_id("reducer"),
                options=self.reducer_options(initial.table),
                value=initial.reducer,
                clearable=False,
                className="mb-2",
            ),
            dbc.Label("Dimensions", className="mb-0 small fw-semibold d-block"),
            dbc.RadioItems(
                id=self.view_id("dims"),
                options=self.dims_options(initial.table),
                value=initial.dims,
                inline=True,
                className="mb-2",
            ),
            _label("Fit at most", self.view_id("max_rows")),
            html.Div(
                dbc.InputGroup(
                    [
                        dbc.Input(
                            id=self.view_id("max_rows"),
                            type="number",
                            # No `min`: the browser would send an empty value for 5 (the
                            # usual limit, silently); the view refuses it and says why.
                            step=1,
                            placeholder=self.sample_placeholder(),
                            debounce=True,
                        ),
                        dbc.InputGroupText("rows"),
                    ],
                    size="sm",
                ),
                className="mb-2",
                title="Bigger tables are fitted on a sample of this many rows; the rest are "
                "placed on the map afterwards where the method can. Empty: the usual limit.",
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
            html.Div(id=self.id("message"), role="status", className="mb-2"),
            html.Hr(className="my-2"),
            html.Div(groups, id=self.id("params")),
            dcc.Store(id=self.action_id()),
        ]
        return self.card("Projection", body)

    def embedding_options(self, table: str) -> list[dict[str, str]]:
        """The "Embedding" select's entries for ``table``: every embedding it offers."""
        dataset = self.context.dataset(table)
        choices = dataset.embedding_choices if dataset is not None else []
        return [{"label": c, "value": c} for c in choices]

    def embedding_default(self, table: str) -> str:
        """What the "Embedding" select shows for the table's default (the view's None)."""
        dataset = self.context.dataset(table)
        return dataset.embedding_choices[0] if dataset is not None else ""

    def embedding_style(self, table: str) -> dict[str, str] | None:
        """The "Embedding" select is shown only for a table with a choice to make."""
        return None if len(self.embedding_options(table)) > 1 else {"display": "none"}

    def dims_options(self, dataset: str | None) -> list[dict[str, Any]]:
        """2D and 3D, with 3D disabled for an embedding of two numbers (no 3D map of it)."""
        found = self.context.dataset(dataset)
        flat = found is not None and found.readable_dims == 2
        return [
            {"label": "2D", "value": 2},
            {"label": "3D", "value": 3, "disabled": flat},
        ]

    def reducer_options(self, dataset: str | None) -> list[dict[str, Any]]:
        """Every reducer, with those that cannot map an embedding this wide (`max_dims`,
        "As logged" of 64 numbers) disabled, their label saying why."""
        found = self.context.dataset(dataset)
        dims = found.readable_dims if found is not None else None
        options = []
        for name, cls in sorted(self.context.registry.reducers.items()):
            option: dict[str, Any] = {"label": cls.title or name, "value": name}
            if cls.max_dims is not None and dims is not None and dims > cls.max_dims:
                # Said in the label: Dash 4's dropdown does not show an option's title.
                option["label"] += f" (at most {cls.max_dims} dimensions)"
                option["disabled"] = True
            options.append(option)
        return options

    def sample_placeholder(self) -> str:
        """What an empty "fit at most" means: the config's limit, or each reducer's own."""
        limit = self.context.config.projection.sample.max_rows
        if limit == "auto":
            return "auto (UMAP, t-SNE: 200,000)"
        return "all" if limit is None else f"{limit:,}"

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(
            Output({"type": GROUP_TYPE, "panel": self.index, "reducer": ALL}, "style"),
            Input(self.view_id("reducer"), "value"),
            State({"type": GROUP_TYPE, "panel": self.index, "reducer": ALL}, "id"),
        )
        def show_params(reducer: Any, ids: list[dict[str, Any]]) -> list[Any]:
            return [None if i["reducer"] == reducer else {"display": "none"} for i in ids]

        @app.callback(
            Output(self.view_id("embedding"), "options"),
            Output(self.view_id("embedding"), "placeholder"),
            Output(self.id("embedding-row"), "style"),
            Output(self.view_id("dims"), "options"),
            Output(self.view_id("reducer"), "options"),
            Input(VIEW_STORE, "data"),
            State(self.view_id("embedding"), "placeholder"),
            State(self.view_id("embedding"), "options"),
            State(self.view_id("dims"), "options"),
            State(self.view_id("reducer"), "options"),
        )
        def embeddings(
            view: Any, shown: Any, options: Any, dims: Any, reducers: Any
        ) -> tuple[Any, ...]:
            table = view.get("table") if isinstance(view, dict) else None
            if not isinstance(table, str) or self.context.dataset(table) is None:
                return (no_update,) * 5
            wanted = self.embedding_options(table)
            shown_table = self.context.view_table(view)
            dims_wanted = self.dims_options(shown_table)
            reducers_wanted = self.reducer_options(shown_table)
            # Only what changed: for another embedding of the same table, the dims and
            # reducers it allows.
            changed_dims = no_update if dims_wanted == dims else dims_wanted
            changed_reducers = no_update if reducers_wanted == reducers else reducers_wanted
            if wanted == options and shown == self.embedding_default(table):
                return no_update, no_update, no_update, changed_dims, changed_reducers
            return (
                wanted,
                self.embedding_default(table),
                self.embedding_style(table),
                changed_dims,
                changed_reducers,
            )

        @app.callback(
            Output(self.action_id(), "data"),
            Input(self.id("isolate"), "n_clicks"),
            Input(self.id("all"), "n_clicks"),
            prevent_initial_call=True,
        )
        def subset(isolate: Any, show_all: Any) -> Any:
            return action("isolate" if ctx.triggered_id == self.id("isolate") else "show_all")

        @app.callback(Output(self.id("message"), "children"), Input(MESSAGES_STORE, "data"))
        def message(messages: Any) -> Any:
            messages = messages if isinstance(messages, dict) else {}
            text = messages.get("request") or messages.get("refused")
            return alert(str(text)) if text else None


def _label(text: str, component_id: dict[str, Any]) -> Any:
    return dbc.Label(text, html_for=dom_id(component_id), className="mb-0 small fw-semibold")


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [ControlsPanel]
