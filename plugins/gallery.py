"""Gallery panel: the images (or labels) of the rows selected on the map."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html
from pydantic import Field

from dashboard.plugin import (
    SELECTION_STORE,
    Panel,
    PanelOptions,
    action,
    focus_attributes,
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
                html.Div(HINT, id=self.id("items"), className="text-body-secondary small"),
                dcc.Store(id=self.action_id()),
            ],
            controls=dbc.Button("Clear", id=self.id("clear"), size="sm", color="link"),
        )

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(Output(self.id("items"), "children"), Input(SELECTION_STORE, "data"))
        def show(selection: dict[str, Any] | None) -> Any:
            return self.render(selection)

        @app.callback(
            Output(self.action_id(), "data"),
            Input(self.id("clear"), "n_clicks"),
            prevent_initial_call=True,
        )
        def clear(n_clicks: Any) -> dict[str, Any]:
            return action("clear")

    def render(self, selection: dict[str, Any] | None) -> Any:
        """The gallery's content for a selection store value."""
        selection = selection or {}
        dataset = self.context.dataset(selection.get("table"))
        rows = [r for r in selection.get("rows") or [] if isinstance(r, int)]
        if dataset is None or not rows:
            return HINT
        n = dataset.n_rows
        rows = [r for r in rows if 0 <= r < n]
        shown = rows[: self.options.limit]
        items = []
        for row in shown:
            caption = dataset.caption(row)
            content: list[Any] = [html.Figcaption(caption, className="small text-truncate")]
            if dataset.config.image:
                content.insert(0, self.context.thumbnail(dataset, row, self.options.size))
            items.append(
                html.Figure(
                    content,
                    className="dashboard-gallery-item m-0 text-center",
                    style={"width": f"{self.options.size + 8}px"},
                    title=f"{caption} (row {row}): click to find it on the map",
                    **focus_attributes(dataset.name, row),
                )
            )
        count = f"{len(rows):,} selected" + (
            f", showing the first {len(shown):,}" if len(shown) < len(rows) else ""
        )
        return [
            html.Div(count, className="small text-body-secondary mb-2 dashboard-gallery-count"),
            html.Div(items, className="d-flex flex-wrap gap-2 dashboard-gallery-items"),
        ]


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [GalleryPanel]
