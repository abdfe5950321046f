"""Gallery panel: the images (or labels) of the rows selected on the map."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dcc, html
from pydantic import Field

from dashboard.plugin import (
    SELECTION_STORE,
    Panel,
    PanelOptions,
    Rows,
    action,
    checked,
    hookimpl,
)

HINT = "Select points with the box or lasso tool, or click one, to see them here."


class GalleryOptions(PanelOptions):
    limit: int = Field(
        200, ge=1, le=2000, description="Most thumbnails shown; the count says how many more."
    )
    size: int = Field(64, ge=16, le=512, description="Thumbnail width in pixels.")


class GalleryPanel(Panel):
    """Thumbnails of the selection, each captioned with its label."""

    name = "gallery"
    Options = GalleryOptions
    options: GalleryOptions
    default_width = 6

    def layout(self) -> Any:
        return self.card(
            "Selection",
            [
                html.Div(
                    [
                        html.Div(HINT, id=self.id("count"), className="small"),
                        # The thumbnails are drawn by the page's script from the store
                        # below: as Dash components, 200 of them (600 with their images
                        # and captions) took the browser 4 s to render, and slowed every
                        # later update of the page.
                        html.Div(
                            id=self.id("grid"),
                            className="d-flex flex-wrap gap-2 dashboard-gallery-items",
                        ),
                    ],
                    id=self.id("items"),
                    className="text-body-secondary",
                ),
                dcc.Store(id=self.id("thumbs")),
                dcc.Store(id=self.action_id()),
            ],
            controls=dbc.Button("Clear", id=self.id("clear"), size="sm", color="link"),
        )

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(
            Output(self.id("count"), "children"),
            Output(self.id("thumbs"), "data"),
            Input(SELECTION_STORE, "data"),
        )
        @checked
        def show(selection: Rows | None) -> tuple[Any, Any]:
            return self.render(selection)

        app.clientside_callback(
            "(thumbs, id) => window.dashboardClient.drawGallery(id, thumbs)",
            Output(self.id("grid"), "title"),
            Input(self.id("thumbs"), "data"),
            State(self.id("grid"), "id"),
        )

        @app.callback(
            Output(self.action_id(), "data"),
            Input(self.id("clear"), "n_clicks"),
            prevent_initial_call=True,
        )
        def clear(n_clicks: Any) -> dict[str, Any]:
            return action("clear")

    def render(self, selection: dict[str, Any] | None) -> tuple[Any, dict[str, Any] | None]:
        """The gallery's (count line or hint, thumbnails) for a selection store value.

        The thumbnails are ``{"size", "items": [{"row", "table", "caption", "src"}]}``
        (``src`` None for a table without images), or None when nothing is selected.
        """
        selection = selection if isinstance(selection, dict) else {}
        dataset = self.context.dataset(selection.get("table"))
        rows = [r for r in selection.get("rows") or [] if isinstance(r, int)]
        rows = [r for r in rows if dataset is not None and 0 <= r < dataset.n_rows]
        if dataset is None or not rows:
            return HINT, None
        shown = rows[: self.options.limit]
        items = [
            {
                "row": row,
                "table": dataset.name,
                "caption": dataset.caption(row),
                "src": self.context.image_url(dataset, row) if dataset.config.image else None,
            }
            for row in shown
        ]
        count = f"{len(rows):,} selected" + (
            f", showing the first {len(shown):,}" if len(shown) < len(rows) else ""
        )
        line = html.Div(count, className="mb-2 dashboard-gallery-count")
        return line, {"size": self.options.size, "items": items}


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [GalleryPanel]
