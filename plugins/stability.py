"""Stability panel: how much of the map survives a change of seed.

UMAP and t-SNE maps change with the seed, and one map cannot tell a stable cluster from an
accident of its run. "Check stability" fits more maps of other seeds (one projection job,
with progress, Cancel and the cache), aligns them onto the map and says which points keep
their place and neighbours and which clusters every run finds. The measures become colours
of the map ("layout stability", "neighbour persistence") and scores in the filter's
cluster list.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
from dash import Dash, Input, Output, State, ctx, dcc, html, no_update
from pydantic import Field

from dashboard.plugin import (
    MEASURES_STORE,
    PROJECTION_STORE,
    REQUEST_STORE,
    DashboardError,
    JobCancelledError,
    Panel,
    PanelOptions,
    Projection,
    ProjectionRequest,
    action,
    hookimpl,
)
from dashboard.plugin.analysis import (
    PERSISTENCE,
    SPREAD,
    STABILITY_COLOURS,
    STABLE,
    Stability,
    cluster_names,
)
from dashboard.plugin.components import HIDDEN, SHOWN_INLINE, alert, cancel_button

logger = logging.getLogger(__name__)

#: Least stable clusters the summary lists by name.
LISTED_CLUSTERS = 5
#: Most maps of other seeds one check fits.
MOST_RUNS = 20
#: The style of the last check's findings while another check runs.
FADED = {"opacity": 0.45}
#: What the panel says after its Cancel (the runs' job stops once no page waits for it).
STOPPED = "Check stopped.\nClick Check stability to start it again."


class StabilityOptions(PanelOptions):
    runs: int = Field(
        5,
        ge=2,
        le=MOST_RUNS,
        description="Maps of other seeds a check fits and compares with the map (the panel's "
        "box starts at this number). Each costs about one map; a UMAP check builds the "
        "neighbour graph once for all of them.",
    )


class StabilityPanel(Panel):
    """Fits maps of other seeds and compares them with the current one."""

    name = "stability"
    Options = StabilityOptions
    options: StabilityOptions
    default_width = 3

    def layout(self) -> Any:
        runs = dbc.InputGroup(
            [
                dbc.Input(
                    id=self.id("runs"),
                    type="number",
                    min=2,
                    max=MOST_RUNS,
                    step=1,
                    value=self.options.runs,
                    style={"maxWidth": "4.5rem"},
                ),
                dbc.InputGroupText("runs"),
            ],
            size="sm",
            style={"width": "auto"},
        )
        controls = html.Div(
            [
                dbc.Button("Check stability", id=self.id("check"), size="sm", color="primary"),
                runs,
                cancel_button(self.id("cancel"), "Stop checking the map's stability"),
            ],
            className="d-flex align-items-center gap-2 flex-wrap mb-2",
        )
        body = [
            controls,
            html.Div(id=self.id("progress"), className="small text-body-secondary"),
            html.Div(id=self.id("error")),
            html.Div(self.hint(None), id=self.id("body"), className="small"),
            # Hidden by the outer div: Bootstrap's `d-flex` would override `display: none`.
            html.Div(
                html.Div(
                    [
                        dbc.Button(
                            f"Colour by {what}",
                            id=self.id(f"colour-{what}"),
                            size="sm",
                            color="secondary",
                            outline=True,
                        )
                        for what in ("spread", "persistence")
                    ],
                    className="d-flex gap-2 flex-wrap mt-2",
                ),
                id=self.id("colours"),
                style=HIDDEN,
            ),
            dcc.Store(id=self.action_id()),
        ]
        return self.card("Stability across seeds", body)

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(
            Output(self.id("body"), "children"),
            Output(self.id("colours"), "style"),
            Output(self.id("check"), "disabled"),
            Input(PROJECTION_STORE, "data"),
            Input(MEASURES_STORE, "data"),
        )
        def show(projection: Any, measures: Any) -> tuple[Any, Any, Any]:
            return self.render(Projection.from_store(projection))

        @app.callback(
            Output(MEASURES_STORE, "data", allow_duplicate=True),
            Output(self.id("error"), "children"),
            Input(self.id("check"), "n_clicks"),
            State(self.id("runs"), "value"),
            State(REQUEST_STORE, "data"),
            State(PROJECTION_STORE, "data"),
            background=True,
            interval=self.context.poll_ms,
            progress=[Output(self.id("progress"), "children")],
            progress_default=[""],
            running=[
                (Output(self.id("check"), "disabled"), True, False),
                (Output(self.id("cancel"), "style"), SHOWN_INLINE, HIDDEN),
                # The last check's findings fade while a new one runs: they are not its.
                (Output(self.id("body"), "style"), FADED, None),
            ],
            cancel=[Input(self.id("cancel"), "n_clicks")],
            prevent_initial_call=True,
        )
        def check(set_progress: Any, clicks: Any, runs: Any, request: Any, drawn: Any) -> Any:
            progress = self.context.background_progress(set_progress)
            return self.check(request, drawn, runs, progress)

        @app.callback(
            Output(self.id("error"), "children", allow_duplicate=True),
            Input(self.id("runs"), "value"),
            Input(self.id("check"), "n_clicks"),
            Input(PROJECTION_STORE, "data"),
            prevent_initial_call=True,
        )
        def said_before(runs: Any, clicks: Any, projection: Any) -> Any:
            # What was said of the box's last value, the last check or another map no longer
            # holds.
            return None

        @app.callback(
            Output(self.id("error"), "children", allow_duplicate=True),
            Input(self.id("cancel"), "n_clicks"),
            prevent_initial_call=True,
        )
        def cancelled(clicks: Any) -> Any:
            return alert(STOPPED, color="secondary")

        @app.callback(
            Output(self.action_id(), "data"),
            Input(self.id("colour-spread"), "n_clicks"),
            Input(self.id("colour-persistence"), "n_clicks"),
            prevent_initial_call=True,
        )
        def colour(spread: Any, persistence: Any) -> Any:
            if ctx.triggered_id == self.id("colour-spread"):
                return action("colour", colour=SPREAD)
            return action("colour", colour=PERSISTENCE)

    # -- what the server computes ---------------------------------------------------------

    def check(self, request: Any, drawn: Any, runs: Any, progress: Any = None) -> tuple[Any, Any]:
        """Run a check of the drawn map (the request store's value ``request`` must be the
        drawn projection's): (the measures store's new value, an error alert or None)."""
        projection = Projection.from_store(drawn)
        if projection is None:
            return no_update, alert("draw a map first, then check its stability")
        if not isinstance(runs, int) or not 2 <= runs <= MOST_RUNS:
            got = "" if runs is None else f", got {runs!r}"  # a box left empty or not a number
            return no_update, alert(
                f"`runs` must be a whole number from 2 to {MOST_RUNS}{got}\n"
                "type how many maps of other seeds to fit"
            )
        try:
            key, _ = self.context.cached_projection(ProjectionRequest.parse(request))
            if key != projection.key:
                return no_update, alert(
                    "the map on the page is not the one the controls ask for yet\n"
                    "wait for the map, then check again"
                )
            self.context.stability(request, runs, progress)
        except JobCancelledError:  # the page cancelled: it no longer waits for an answer
            return no_update, no_update
        except DashboardError as exc:
            return no_update, alert(str(exc), color="danger")
        return {"key": projection.key, "measure": "stability", "seq": time.time_ns()}, None

    def render(self, projection: Projection | None) -> tuple[Any, Any, bool]:
        """(summary, colour buttons' style, whether Check is disabled) for the drawn map."""
        if projection is None or self.context.dataset(projection.table) is None:
            return self.hint(None), HIDDEN, True
        if not self.seeded(projection):
            return self.hint(projection), HIDDEN, True
        known = self.context.known_stability(projection)
        if known is None:
            return self.hint(projection), HIDDEN, False
        return summary(known), None, False

    def seeded(self, projection: Projection) -> bool:
        """Whether ``projection``'s reducer draws another map with another seed."""
        reducer = self.context.registry.reducers.get(projection.reducer)
        return reducer is not None and reducer.seed_param is not None

    def hint(self, projection: Projection | None) -> Any:
        """What the panel says before a check."""
        if projection is None:
            return "Check a map's stability once it is drawn."
        title = self.context.reducer_title(projection.reducer)
        if not self.seeded(projection):
            return (
                f"{title} draws the same map on every run: there are no other runs to "
                "compare. Stability is a question for UMAP and t-SNE maps."
            )
        return (
            f"Fit more {title} maps with other seeds and compare them with this one: which "
            "points keep their place and neighbours, and which clusters every run finds."
        )


def summary(known: Stability) -> Any:
    """The check's findings: layout, neighbours, clusters (the least stable named)."""
    facts = known.summary()
    scores = sorted(known.clusters.items(), key=lambda item: item[1])
    names = cluster_names(np.array([code for code, _ in scores], dtype=np.int32))
    shaky = [
        html.Li(f"{name}: {score:.2f}")
        for name, (_, score) in zip(names, scores, strict=True)
        if score < STABLE
    ][:LISTED_CLUSTERS]
    clusters = (
        f"{facts['stable']} of {facts['clusters']} clusters are stable (Jaccard ≥ {STABLE}); "
        + ("least stable:" if shaky else "every run finds each of them.")
        if facts["clusters"]
        else "The map has no clusters to compare."
    )
    return html.Div(
        [
            html.Div(f"Compared with {known.runs} maps of other seeds:", className="mb-1"),
            html.Ul(
                [
                    html.Li(
                        f"Layout: median spread {facts['median_spread']:.3f} of the map's "
                        f"radius; {facts['moved']:.1%} of points move more than a quarter of it."
                    ),
                    html.Li(
                        f"Neighbours: a point keeps {facts['median_persistence']:.0%} of its "
                        f"{known.neighbours} map neighbours (median)."
                    ),
                    html.Li([clusters, html.Ul(shaky) if shaky else None]),
                ],
                className="mb-1 ps-3",
            ),
            *[html.Div(line, className="mb-1") for line in readings(facts)],
            html.Div(
                f"Colours: “{STABILITY_COLOURS[SPREAD][0]}” (0: the same place in every run) "
                f"and “{STABILITY_COLOURS[PERSISTENCE][0]}” (1: the same neighbours).",
                className="text-body-secondary",
            ),
        ]
    )


def readings(facts: dict[str, float | int]) -> list[str]:
    """What the numbers mean for reading the map, where they say something plain: the
    clusters hold but trade places (distances between them mean little), or the points keep
    their cluster but not their nearest neighbours (the order inside is the run's)."""
    out = []
    holds = facts["clusters"] and facts["stable"] >= 0.8 * facts["clusters"]
    if holds and facts["moved"] > 0.5:
        out.append(
            "The clusters hold, but most points move: the clusters trade places between "
            "runs, so the distances between clusters mean little on this map."
        )
    if holds and facts["median_persistence"] < 0.3:
        out.append(
            "Points keep their cluster but not their nearest neighbours: inside a cluster, "
            "who sits next to whom is an accident of the run."
        )
    return out


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [StabilityPanel]
