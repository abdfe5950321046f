"""A map that holds one table whatever the page shows (``pinned: true``), beside another:
it computes its own map with the page's reducer (with a Cancel of its own), and rings the rows
whose ids match rows selected on the other map."""

from __future__ import annotations

from typing import Any

import numpy as np
from dash import Dash, Input, Output, State, html, no_update, set_props

from dashboard.plugin import REQUEST_STORE, DashboardError
from dashboard.plugin.components import HIDDEN, SHOWN_INLINE, alert, cancel_button

#: Colour of the rings that show a selection made on another (linked) map.
LINKED_COLOUR = "#d62728"


class PinnedMap:
    """The scatter panel's pinned-map and linked-selection part (a mixin of ScatterPanel)."""

    options: Any
    context: Any

    def own_request(self, request: dict[str, Any] | None) -> dict[str, Any]:
        """The request this map projects: a pinned map swaps in its table (all rows)."""
        request = dict(request or {})
        if self.options.pinned and request:
            request.update(table=self.check_table(self.options.table), rows=None)
        return request

    def register_own_projection(self, app: Dash) -> None:
        """A pinned map computes its own projection in the background, as the app does (and
        as there, the result goes out by ``set_props`` so the old map stays live meanwhile)."""

        @app.callback(
            Output(self.id("status"), "children"),
            Input(REQUEST_STORE, "data"),
            # Dash keys background results by the function's code and arguments: this
            # panel's own id keeps two pinned maps from receiving each other's result.
            State(self.id("status"), "id"),
            background=True,
            interval=self.context.poll_ms,
            running=[
                (Output(self.id("status"), "children"), "computing…", ""),
                (Output(self.id("cancel"), "style"), SHOWN_INLINE, HIDDEN),
            ],
            # Cancel stops the wait here, which leaves the map's job (cancelled when no
            # other page waits for it).
            cancel=[Input(self.id("cancel"), "n_clicks")],
        )
        def project(request: Any, panel_id: str) -> Any:
            if not request:
                return no_update
            try:
                projection = self.context.project(self.own_request(request))
            except DashboardError as exc:
                return alert(str(exc), color="danger")
            set_props(self.id("projection"), {"data": projection.to_store()})
            return self.context.describe(projection)

        app.clientside_callback(
            "function(cancels, request) {"
            " const id = window.dash_clientside.callback_context.triggered_id;"
            " return id && id.endsWith('-cancel') ?"
            " 'Cancelled.' : ''; }",
            Output(self.id("cancelled"), "children"),
            Input(self.id("cancel"), "n_clicks"),
            Input(REQUEST_STORE, "data"),
            prevent_initial_call=True,
        )

    def pinned_controls(self) -> list[Any]:
        """A pinned map computes its own map: its Cancel, and what a cancel left."""
        if not self.options.pinned:
            return []
        return [
            cancel_button(self.id("cancel"), "Stop computing this map and keep the one shown"),
            html.Span(id=self.id("cancelled")),
        ]

    def linked_rings(self, selection: Any, request: Any) -> Any:
        """Rows of this map's table whose `id` matches rows selected in another table, as
        this panel's rings (red); an empty ring otherwise."""
        empty = {"table": None, "rows": []}
        selection = selection if isinstance(selection, dict) else {}
        request = request if isinstance(request, dict) else {}
        table = self.table_of(request.get("table"))
        source = self.context.dataset(selection.get("table"))
        if table is None or source is None or source.name == table:
            return empty
        dataset = self.context.datasets[table]
        if not source.config.id or not dataset.config.id:
            return empty
        rows = [r for r in selection.get("rows") or [] if isinstance(r, int)]
        rows = [r for r in rows if 0 <= r < source.n_rows]
        if not rows:
            return empty
        ids = source.metadata().get_column(source.config.id).gather(rows)
        mine = dataset.metadata().get_column(dataset.config.id)
        wanted = ids.cast(mine.dtype, strict=False).drop_nulls().to_list()
        return {
            "table": table,
            "rows": np.flatnonzero(mine.is_in(wanted).to_numpy()).tolist(),
            "label": f"selected in {source.name}",
            "colour": LINKED_COLOUR,
        }
