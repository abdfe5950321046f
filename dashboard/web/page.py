"""The page skeleton: the header (title, progress, status line), the panels on Bootstrap's
grid, and the stores panels share."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.config import DashboardConfig
from dashboard.plugin.panel import (
    FILTER_STORE,
    HIGHLIGHT_STORE,
    PROJECTION_STORE,
    REQUEST_STORE,
    SELECTION_STORE,
    Panel,
)
from dashboard.projection.request import ProjectionRequest

#: The header's status line: what the map shows, or why a projection failed.
STATUS = "dashboard-status"
PROGRESS = "dashboard-progress"
PROGRESS_TEXT = "dashboard-progress-text"
PROGRESS_WRAP = "dashboard-progress-wrap"


def page_layout(
    config: DashboardConfig,
    panels: list[Panel],
    initial: ProjectionRequest,
    built: dict[int, tuple[Any, bool]],
) -> Any:
    """The whole page: header, the panels' built layouts (``built[index]``), the stores."""
    header = html.Header(
        dbc.Container(
            [
                html.H1(config.title, className="h5 mb-0 fw-semibold"),
                html.Div(
                    [
                        html.Div(
                            [
                                html.Small(id=PROGRESS_TEXT, className="me-2"),
                                dbc.Progress(
                                    id=PROGRESS,
                                    value=0,
                                    striped=True,
                                    animated=True,
                                    style={"width": "10rem", "height": "0.9rem"},
                                ),
                            ],
                            id=PROGRESS_WRAP,
                            className="align-items-center",
                            style={"display": "none"},
                        ),
                        html.Div(id=STATUS, className="small text-body-secondary"),
                    ],
                    className="d-flex align-items-center gap-3",
                ),
            ],
            fluid=True,
            className="d-flex justify-content-between align-items-center py-2",
        ),
        className="mb-3 border-bottom bg-body-tertiary",
    )
    columns = [
        dbc.Col(
            html.Section(
                built[panel.index][0], id=f"panel-{panel.index}", **{"data-panel": panel.name}
            ),
            md=panel.width,
            className="mb-3",
        )
        for panel in panels
    ]
    return html.Div(
        [
            header,
            dbc.Container(dbc.Row(columns), fluid=True),
            dcc.Store(id=REQUEST_STORE, data=initial.to_dict()),
            dcc.Store(id=PROJECTION_STORE),
            dcc.Store(id=SELECTION_STORE, data={"table": None, "rows": []}),
            dcc.Store(id=HIGHLIGHT_STORE, data={"table": None, "rows": []}),
            dcc.Store(id=FILTER_STORE, data={"table": None, "filters": {}}),
        ]
    )
