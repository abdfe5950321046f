"""The page skeleton: a header (title, progress, status line, the sidebar's toggle), a
collapsible sidebar of controls, the maps filling the window's height, and the other panels in
a grid below."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.config import DashboardConfig
from dashboard.plugin.panel import MEASURES_STORE, PROJECTION_STORE, Panel

#: Where a finished projection job puts its map; the page takes it as the projection only
#: when it is the map the page asks for now (see projecting.js, `acceptProjection`).
PROJECTION_ANSWER = "dashboard-projection-answer"

#: The header's status line: what the map shows, or why a projection failed.
STATUS = "dashboard-status"
PROGRESS = "dashboard-progress"
PROGRESS_TEXT = "dashboard-progress-text"
PROGRESS_WRAP = "dashboard-progress-wrap"
#: The projection job the page follows (see dashboard.web.projecting); its poll (set by the
#: page's script once the previous answer landed); the buttons that cancel it and ask again;
#: and the map the page cancelled (kept until the page asks for a map again).
JOB = "dashboard-projection-job"
POLL = "dashboard-projection-poll"
POLL_TIMER = "dashboard-projection-poll-timer"
CANCEL = "dashboard-projection-cancel"
RETRY = "dashboard-projection-retry"
CANCELLED = "dashboard-projection-cancelled"
SIDEBAR = "dashboard-sidebar"
SIDEBAR_TOGGLE = "dashboard-sidebar-toggle"
#: The browser's colour scheme (``light`` or ``dark``), set by the page's script.
THEME = "dashboard-theme"


def page_layout(
    config: DashboardConfig,
    panels: list[Panel],
    built: dict[int, tuple[Any, bool]],
) -> Any:
    """The whole page: header, the panels' built layouts (``built[index]``) in their
    regions, and the projection store (the view's stores are added by
    :func:`dashboard.web.state.register`)."""
    toggle = html.Button(
        [
            html.Span(className="dashboard-burger d-inline-block align-middle"),
            html.Span("Controls", className="ms-2 align-middle"),
        ],
        id=SIDEBAR_TOGGLE,
        className="btn btn-sm btn-outline-secondary me-2",
        title="Show or hide the controls",
        **{"aria-label": "Show or hide the controls", "aria-controls": SIDEBAR},
    )
    header = html.Header(
        html.Div(
            [
                html.Div(
                    [toggle, html.H1(config.title, className="h5 mb-0 fw-semibold")],
                    className="d-flex align-items-center",
                ),
                html.Div(
                    [
                        html.Div(
                            [
                                # Shown until the page's first answer (a second or two
                                # on a busy server), so the header is never blank.
                                html.Small("opening the map", id=PROGRESS_TEXT, className="me-2"),
                                dbc.Progress(
                                    id=PROGRESS,
                                    value=0,
                                    striped=True,
                                    animated=True,
                                    style={"width": "10rem", "height": "0.9rem"},
                                ),
                                html.Button(
                                    "Cancel",
                                    id=CANCEL,
                                    className="btn btn-sm btn-link py-0 ms-1",
                                    title="Stop computing this map and keep the one shown",
                                ),
                            ],
                            id=PROGRESS_WRAP,
                            className="align-items-center",
                            style={"display": "flex"},
                        ),
                        html.Div(id=STATUS, className="small text-body-secondary"),
                        html.Button(
                            "Try again",
                            id=RETRY,
                            className="btn btn-sm btn-outline-secondary py-0",
                            style={"display": "none"},
                            title="Compute the map the controls ask for again",
                        ),
                    ],
                    className="d-flex align-items-center gap-3 dashboard-header-status",
                ),
            ],
            className="d-flex justify-content-between align-items-center px-3 py-2",
        ),
        className="border-bottom bg-body-tertiary dashboard-header",
    )

    def placed(panel: Panel, *, grid: bool) -> Any:
        section = html.Section(
            built[panel.index][0],
            id=f"panel-{panel.index}",
            className="dashboard-panel",
            **{"data-panel": panel.name},
        )
        return dbc.Col(section, md=panel.width, className="mb-3") if grid else section

    sidebar = [placed(p, grid=False) for p in panels if p.region == "sidebar"]
    main = [placed(p, grid=True) for p in panels if p.region == "main"]
    below = [placed(p, grid=True) for p in panels if p.region == "below"]
    body = html.Div(
        [
            html.Aside(sidebar, id=SIDEBAR, className="dashboard-sidebar") if sidebar else None,
            html.Main(
                [
                    dbc.Row(main, className="dashboard-main g-2"),
                    dbc.Row(below, className="dashboard-below g-3"),
                ],
                className="dashboard-content",
            ),
        ],
        className="dashboard-body",
    )
    return html.Div(
        [
            header,
            body,
            dcc.Store(id=PROJECTION_STORE),
            dcc.Store(id=MEASURES_STORE),
            dcc.Store(id=PROJECTION_ANSWER),
            dcc.Store(id=JOB),
            dcc.Store(id=POLL),
            dcc.Store(id=POLL_TIMER),
            dcc.Store(id=CANCELLED),
            dcc.Store(id=THEME),
        ],
        className="dashboard-page",
    )
