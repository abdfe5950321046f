"""Timeline panel: one set of items logged at several steps, drawn as aligned maps with a step
slider, a play button and optional trails."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
import polars as pl
from dash import Dash, Input, Output, Patch, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from pydantic import Field

from dashboard.plugin import (
    DashboardError,
    Memo,
    Panel,
    PanelOptions,
    ProjectionGoneError,
    hookimpl,
)
from dashboard.plugin.analysis import (
    BUILT_IN_METHODS,
    PROCRUSTES,
    Items,
    aligned_layouts,
    match_steps,
    movement,
)
from dashboard.plugin.components import HIDDEN, SHOWN_INLINE, alert, cancel_button, card_header
from dashboard.plugin.figures import (
    GRAPH_CONFIG,
    colour_marker,
    hover_texts,
    legend_children,
    typed,
)

logger = logging.getLogger(__name__)

#: Up to this many items the map is SVG and points glide between steps; above, WebGL jumps.
SMOOTH_ITEMS = 3_000
#: Trails are drawn for at most this many items (a seeded sample beyond), to stay readable.
TRAIL_ITEMS = 1_000
#: Hover captions are sent up to this many items.
HOVER_ITEMS = 20_000


class TimelineOptions(PanelOptions):
    run: str | None = Field(
        None,
        description="A config table that points at a run directory: its logged sets, in "
        "their listed order, are the steps. Give this or `steps`.",
    )
    steps: list[str] | None = Field(
        None,
        min_length=2,
        description="The steps' table names in order, when not every set of `table` is one.",
    )
    method: str = Field(
        PROCRUSTES,
        description="Alignment: `procrustes`, or `aligned_<reducer>` for a reducer that lays "
        "out steps together (`aligned_umap` while UMAP is enabled).",
    )
    color: str | None = Field(None, description="Column to colour by; default: the label.")
    trails: bool = Field(False, description="Draw each item's path up to the current step.")
    interval_ms: int = Field(900, ge=200, le=10_000, description="Time per step when playing.")


class TimelinePanel(Panel):
    """Aligned maps of the same items over training steps."""

    name = "timeline"
    Options = TimelineOptions
    options: TimelineOptions

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._items: Items | str | None = None
        # The latest layouts in memory: the slider and Play ask for them at every step.
        self._layouts: Memo[str, np.ndarray] = Memo(2)
        self._lock = threading.Lock()

    def validate(self) -> None:
        datasets = self.context.datasets
        if self.options.steps:
            self.steps = [self.check_table(name) for name in self.options.steps]
        elif not self.options.run:
            raise self.error(
                "run",
                "a timeline needs its steps",
                "set `run` (a run directory's table) or `steps`",
            )
        else:
            key = self.check_table(self.options.run)
            config_key = datasets[key].key
            self.steps = [n for n, ds in datasets.items() if ds.key == config_key]
        if len(self.steps) < 2:
            raise self.error(
                "run",
                f"table {self.options.run!r} has {len(self.steps)} logged set; a timeline "
                "needs at least 2 steps",
                "point `run` at a table of a run directory with sets logged per step, or list "
                "`steps`",
            )
        first = datasets[self.steps[0]]
        self.colour = self.options.color or first.config.label
        if self.colour:
            self.check_columns("color", [self.colour], self.steps[0])
        if self.options.method not in self.methods():
            raise self.error(
                "method",
                f"unknown timeline method {self.options.method!r}",
                f"allowed values: {', '.join(repr(m) for m in self.methods())}",
            )

    def methods(self) -> dict[str, str]:
        """The alignment methods, by name, with their titles: Procrustes, and one for every
        registered reducer that lays out steps together (``Reducer.supports_alignment``)."""
        methods = dict(BUILT_IN_METHODS)
        for name, cls in sorted(self.context.registry.reducers.items()):
            if cls.supports_alignment:
                methods[f"aligned_{name}"] = f"Aligned {cls.title or name}"
        return methods

    # -- data ---------------------------------------------------------------------------

    def items(self) -> Items | str:
        """Items matched across the steps (computed once), or why they cannot be."""
        with self._lock:
            if self._items is None:
                datasets = [self.context.datasets[s] for s in self.steps]
                ids = [
                    ds.metadata().get_column(ds.config.id) if ds.config.id else None
                    for ds in datasets
                ]
                try:
                    self._items = match_steps(ids, [ds.n_rows for ds in datasets], self.steps)
                except ValueError as exc:
                    self._items = str(exc)
            return self._items

    def key(self, method: str) -> str:
        """Cache key of the aligned layouts: the steps' contents and the method."""
        prints = [self.context.datasets[s].fingerprint() for s in self.steps]
        text = json.dumps(["timeline", prints, method])
        return "timeline" + hashlib.blake2b(text.encode(), digest_size=12).hexdigest()

    def compute(self, method: str, progress: Any = None) -> tuple[str | None, str | None]:
        """Aligned layouts for ``method``, cached in the projection store: (key, error)."""
        if method not in self.methods():
            return None, (
                f"unknown timeline method {method!r}\n"
                f"allowed values: {', '.join(repr(m) for m in self.methods())}"
            )
        items = self.items()
        if isinstance(items, str):
            return None, items
        key = self.key(method)
        if self.context.store.load(key) is None:
            matrices = [
                self.context.datasets[s].matrix()[items.rows[i]] for i, s in enumerate(self.steps)
            ]
            aligner = None
            if method != PROCRUSTES:
                reducer = self.context.registry.reducer(method.removeprefix("aligned_"))
                aligner = reducer(cache_dir=self.context.reducer_cache).fit_aligned
            try:
                layouts = aligned_layouts(matrices, aligner, progress)
            except (ValueError, DashboardError) as exc:
                return None, str(exc)
            self.context.store.save(key, layouts)
        return key, None

    def layouts(self, key: str) -> np.ndarray | None:
        """The aligned layouts stored under ``key``, kept in memory for the latest key: the
        slider and Play ask for them at every step."""

        def load() -> np.ndarray:
            layouts = self.context.store.load(key)
            if layouts is None:
                raise ProjectionGoneError()
            return layouts

        try:
            return self._layouts.get(key, load)
        except ProjectionGoneError:
            return None

    def step_labels(self) -> list[str]:
        """Each step's name without the part all steps share, e.g. ``epoch-3``."""
        parts = [name.split(" / ") for name in self.steps]
        common = 0
        while all(len(p) > common + 1 for p in parts) and len({p[common] for p in parts}) == 1:
            common += 1
        return [" / ".join(p[common:]) for p in parts]

    # -- figure --------------------------------------------------------------------------

    def figure(self, layouts: np.ndarray, step: int, trails: bool) -> tuple[dict[str, Any], list]:
        """The whole figure at ``step`` and its colour legend: points coloured by the first
        step's column."""
        items = self.items()
        assert not isinstance(items, str)
        first = self.context.datasets[self.steps[0]]
        rows = items.rows[0]
        meta = first.metadata()[rows] if self.colour else pl.DataFrame()
        marker, legend = colour_marker(meta, self.colour)
        n = items.count
        smooth = n <= SMOOTH_ITEMS
        points: dict[str, Any] = {
            "type": "scatter" if smooth else "scattergl",
            "mode": "markers",
            "x": typed(layouts[step, :, 0]),
            "y": typed(layouts[step, :, 1]),
            "marker": {**marker, "size": 7 if n <= 2_000 else 4, "opacity": 0.85},
            "hoverinfo": "skip",
            "name": "items",
        }
        if n <= HOVER_ITEMS:
            label = first.config.label
            points["hovertext"] = (
                # Escaped like the scatter's: plotly renders markup in hover text.
                hover_texts(first.metadata()[rows], label, None, None)
                if label
                else [f"row {r}" for r in rows.tolist()]
            )
            points["hoverinfo"] = "text"
        trail_x, trail_y = self.trails(layouts, step) if trails else ([], [])
        low, high = layouts.min(axis=(0, 1)), layouts.max(axis=(0, 1))
        pad = (high - low) * 0.05 + 1e-6
        axis = {"showgrid": False, "zeroline": False, "showticklabels": False}
        layout = {
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "height": 420,
            "showlegend": False,
            "dragmode": "pan",
            "xaxis": {**axis, "range": [float(low[0] - pad[0]), float(high[0] + pad[0])]},
            "yaxis": {**axis, "range": [float(low[1] - pad[1]), float(high[1] + pad[1])]},
            "uirevision": "timeline",
            "template": {"layout": {"plot_bgcolor": "white", "paper_bgcolor": "white"}},
        }
        if smooth:
            layout["transition"] = {"duration": 400, "easing": "cubic-in-out"}
        trail_trace = {
            "type": "scatter" if smooth else "scattergl",
            "mode": "lines",
            "x": trail_x,
            "y": trail_y,
            "line": {"color": "rgba(120,120,120,0.35)", "width": 1},
            "hoverinfo": "skip",
            "name": "trails",
        }
        return {"data": [trail_trace, points], "layout": layout}, legend

    def trails(self, layouts: np.ndarray, step: int) -> tuple[Any, Any]:
        """Each item's path from step 0 to ``step`` as one NaN-separated line (sampled)."""
        n = layouts.shape[1]
        picked = np.arange(n)
        if n > TRAIL_ITEMS:
            picked = np.sort(np.random.default_rng(0).choice(n, TRAIL_ITEMS, replace=False))
        path = layouts[: step + 1, picked]  # (steps so far, items, 2)
        gap = np.full((1, len(picked), 2), np.nan, dtype=np.float32)
        lines = np.concatenate([path, gap]).transpose(1, 0, 2).reshape(-1, 2)
        return typed(lines[:, 0]), typed(lines[:, 1])

    def summary(self, layouts: np.ndarray, step: int) -> str:
        label = self.step_labels()[step]
        if step == 0:
            return f"{label}: {layouts.shape[1]:,} items in every step"
        moved = movement(layouts[step - 1 : step + 1])[1]  # this step only, not all of them
        return (
            f"{label}: items moved {float(np.median(moved)):.3f} (median) since the step "
            f"before, on a map of unit radius"
        )

    # -- layout and callbacks -----------------------------------------------------------

    def layout(self) -> Any:
        labels = self.step_labels()
        marks = {i: {"label": label} for i, label in enumerate(labels)}
        if len(labels) > 12:  # too many labels collide: mark every k-th step
            every = -(-len(labels) // 12)
            marks = {i: m for i, m in marks.items() if i % every == 0 or i == len(labels) - 1}
        method = dbc.Select(
            id=self.own_view_id("method"),
            options=[{"label": v, "value": k} for k, v in self.methods().items()],
            value=self.options.method,
            size="sm",
            style={"width": "auto"},
        )
        title = self.options.title or f"Timeline of {self.options.run or self.steps[0]}"
        return dbc.Card(
            [
                card_header(title, method),
                dbc.CardBody(
                    [
                        html.Div(
                            id=self.id("legend"),
                            className="small mb-1 d-flex flex-wrap gap-2 dashboard-legend",
                        ),
                        html.Div(id=self.id("message")),
                        html.Div(
                            [
                                html.Span(id=self.id("progress")),
                                cancel_button(self.id("cancel"), "Stop aligning the steps"),
                            ],
                            className="small text-body-secondary",
                        ),
                        dcc.Graph(
                            id=self.id("graph"),
                            figure={"data": [], "layout": {"height": 420}},
                            config=GRAPH_CONFIG,
                        ),
                        html.Div(
                            dcc.Slider(
                                id=self.id("step"),
                                min=0,
                                max=len(labels) - 1,
                                step=1,
                                value=0,
                                marks=marks,
                                updatemode="drag",
                                # Its number box shows the step's index, not its name (the
                                # summary below names it), and crowded the last label.
                                allow_direct_input=False,
                            ),
                            # Room for the first and last step's labels, which overhang.
                            className="px-4 pt-1 dashboard-timeline-slider",
                        ),
                        html.Div(
                            [
                                dbc.Button("Play", id=self.id("play"), size="sm", color="primary"),
                                dbc.Checkbox(
                                    id=self.own_view_id("loop"),
                                    label="Loop",
                                    value=False,
                                ),
                                dbc.Checkbox(
                                    id=self.own_view_id("trails"),
                                    label="Trails",
                                    value=self.options.trails,
                                ),
                            ],
                            className="d-flex align-items-center gap-3 mt-2",
                        ),
                        html.Div(id=self.id("summary"), className="small text-body-secondary"),
                        dcc.Interval(
                            id=self.id("tick"), interval=self.options.interval_ms, disabled=True
                        ),
                        dcc.Store(id=self.id("layouts")),
                    ]
                ),
            ],
            className="shadow-sm",
        )

    def register_callbacks(self, app: Dash) -> None:
        @app.callback(
            Output(self.id("layouts"), "data"),
            Output(self.id("message"), "children"),
            Input(self.own_view_id("method"), "value"),
            background=True,
            interval=self.context.poll_ms,
            progress=[Output(self.id("progress"), "children")],
            progress_default=[""],
            running=[
                (Output(self.own_view_id("method"), "disabled"), True, False),
                (Output(self.id("cancel"), "style"), SHOWN_INLINE, HIDDEN),
            ],
            cancel=[Input(self.id("cancel"), "n_clicks")],
        )
        def align(set_progress: Any, method: str) -> tuple[Any, Any]:
            progress = self.context.background_progress(set_progress)
            key, error = self.compute(method, progress)
            if error:
                logger.warning("timeline %s: %s", self.id(""), error)
                return None, alert(error, color="danger")
            return {"key": key}, None

        @app.callback(
            Output(self.id("graph"), "figure"),
            Output(self.id("legend"), "children"),
            Output(self.id("summary"), "children"),
            Input(self.id("layouts"), "data"),
            Input(self.id("step"), "value"),
            Input(self.own_view_id("trails"), "value"),
        )
        def draw(data: Any, step: Any, trails: Any) -> tuple[Any, Any, Any]:
            return self.draw(data, step, trails, ctx.triggered_id)

        @app.callback(
            Output(self.id("tick"), "disabled"),
            Output(self.id("play"), "children"),
            Output(self.id("step"), "value"),
            Input(self.id("play"), "n_clicks"),
            Input(self.id("tick"), "n_intervals"),
            State(self.id("tick"), "disabled"),
            State(self.id("step"), "value"),
            State(self.own_view_id("loop"), "value"),
            prevent_initial_call=True,
        )
        def play(clicks: Any, ticks: Any, stopped: Any, step: Any, loop: Any) -> tuple:
            return self.play(ctx.triggered_id == self.id("play"), stopped, step, bool(loop))

    def play(self, clicked: bool, stopped: Any, step: Any, loop: bool) -> tuple[Any, Any, Any]:
        """(interval disabled, button label, step) after a click on Play/Pause or a tick:
        playing stops at the last step unless ``loop``; Play at the end starts over."""
        last = len(self.steps) - 1
        step = min(max(int(step or 0), 0), last)
        if clicked:
            if not stopped:
                return True, "Play", no_update
            return False, "Pause", 0 if step >= last else no_update
        if step >= last:
            return (False, "Pause", 0) if loop else (True, "Play", no_update)
        following = step + 1
        if following >= last and not loop:
            return True, "Play", following
        return no_update, no_update, following

    def draw(self, data: Any, step: Any, trails: Any, trigger: Any) -> tuple[Any, Any, Any]:
        """The figure (or a patch of its coordinates when only the step or trails changed),
        the colour legend and the step's summary line."""
        layouts = self.layouts(data["key"]) if data and data.get("key") else None
        if layouts is None:
            raise PreventUpdate
        step = min(max(int(step or 0), 0), len(layouts) - 1)
        summary = self.summary(layouts, step)
        if trigger in (self.id("step"), self.own_view_id("trails")):
            patch = Patch()
            patch["data"][1]["x"] = typed(layouts[step, :, 0])
            patch["data"][1]["y"] = typed(layouts[step, :, 1])
            trail_x, trail_y = self.trails(layouts, step) if trails else ([], [])
            patch["data"][0]["x"] = trail_x
            patch["data"][0]["y"] = trail_y
            return patch, no_update, summary
        figure, legend = self.figure(layouts, step, bool(trails))
        return figure, legend_children(legend, self.colour), summary


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [TimelinePanel]
