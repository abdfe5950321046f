"""The scatter panel's layout: its header of choices, the map, and the stores it draws from."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.plugin.figures import GRAPH_CONFIG
from plugins.scatter_choices import NO_COLOUR


def scatter_layout(panel: Any) -> Any:
    """The card of a scatter panel (``panel``: a :class:`plugins.scatter.ScatterPanel`)."""
    table = panel.check_table(panel.options.table)
    header = dbc.CardHeader(
        html.Div(
            [
                html.Span(panel.options.title or "Map", className="fw-semibold me-2"),
                html.Div(
                    [
                        _select(
                            "Colour by",
                            panel.view_id("maps", panel.map_key, "colour"),
                            panel.colour_options(table),
                            panel.default_color(table),
                        ),
                        _select(
                            "Size by",
                            panel.view_id("maps", panel.map_key, "size"),
                            panel.size_options(table),
                            NO_COLOUR,
                        ),
                        dbc.InputGroup(
                            [
                                dbc.InputGroupText("Opacity"),
                                dbc.Input(
                                    id=panel.view_id("maps", panel.map_key, "opacity"),
                                    type="range",
                                    min=0.1,
                                    max=1,
                                    step=0.05,
                                    value=0.85,
                                    style={"width": "6rem"},
                                    className="form-range px-2 border",
                                ),
                            ],
                            size="sm",
                            className="w-auto",
                        ),
                        html.Div(
                            [
                                _view_switch(
                                    panel,
                                    "labels",
                                    "Labels",
                                    "Name the map's clusters (HDBSCAN on the map) where they sit: "
                                    "keywords of the text column, else the most common label",
                                ),
                                _view_switch(
                                    panel,
                                    "images",
                                    "Images",
                                    "Draw each point as its image (framed in the point's colour)",
                                    id=panel.id("images-switch"),
                                    style=panel.images_style(table),
                                ),
                            ],
                            className="d-flex flex-nowrap gap-2",
                        ),
                    ],
                    className="d-flex flex-wrap gap-2 align-items-center",
                ),
            ],
            className="d-flex flex-wrap justify-content-between align-items-center gap-2",
        )
    )
    height = {"height": f"{panel.options.height}px"} if panel.options.height else None
    graph = dcc.Graph(
        id=panel.id("graph"),
        figure={
            "data": [],
            "layout": {"xaxis": {"visible": False}, "yaxis": {"visible": False}},
        },
        config=GRAPH_CONFIG,
        className="dashboard-map-graph" if height is None else "",
        style=height,
    )
    return dbc.Card(
        [
            header,
            dbc.CardBody(
                [
                    html.Div(
                        [
                            html.Span(id=panel.id("status")),
                            *panel.pinned_controls(),
                            # Written by the page's script when images cannot be drawn.
                            html.Div(id=panel.id("images-notice"), role="status"),
                            html.Div(id=panel.id("labels-notice"), role="status"),
                        ],
                        className="small text-body-secondary px-2",
                    ),
                    html.Div(id=panel.id("stale"), className="small px-2 dashboard-stale"),
                    html.Div(id=panel.id("message")),
                    html.Div(
                        id=panel.id("legend"),
                        className="d-flex flex-wrap gap-2 small px-2 dashboard-legend",
                    ),
                    graph,
                    dcc.Store(id=panel.id("projection")),
                    dcc.Store(id=panel.id("coords")),
                    dcc.Store(id=panel.id("colours")),
                    dcc.Store(id=panel.id("mask")),
                    dcc.Store(id=panel.rings_id()),
                    # A density map's image, the box or lasso sent to the server, the
                    # pointer's place and the row found there (plugins/scatter_density).
                    dcc.Store(id=panel.id("density")),
                    dcc.Store(id=panel.id("labels-ask")),
                    dcc.Store(id=panel.id("labels")),
                    dcc.Store(id=panel.id("camera")),
                    dcc.Store(id=panel.id("ask")),
                    dcc.Store(id=panel.id("region")),
                    dcc.Store(id=panel.id("hover")),
                    dcc.Store(id=panel.id("hovered")),
                    dcc.Store(id=panel.action_id()),
                ],
                className="p-1",
            ),
        ],
        className="shadow-sm",
    )


def _select(label: str, component_id: dict[str, Any], options: Any, value: Any) -> Any:
    return dbc.InputGroup(
        [
            dbc.InputGroupText(label),
            dbc.Select(
                id=component_id,
                options=options,
                value=value,
                # The colour list holds long measure names: capped, the header keeps to one
                # line on a laptop (the map then fits the first screen).
                style={"minWidth": "9rem", "maxWidth": "14rem"},
            ),
        ],
        size="sm",
        className="w-auto",
    )


def _view_switch(panel: Any, key: str, label: str, title: str, **wrapper: Any) -> Any:
    """A switch bound to the map's view key ``key``, off by default, with its hint."""
    switch = dbc.Switch(
        id=panel.view_id("maps", panel.map_key, key),
        label=label,
        value=False,
        className="mb-0 small",
    )
    return html.Div(switch, title=title, **wrapper)
