"""Scatter panel: the projected map, coloured by any column, with a tooltip on hover.

The server sends each map's coordinates once per map, its colouring once per colouring, and
the filter mask when the filters change; the page's script builds the figure from them
and the view (selection dimming, rings, focus, opacity, hidden legend categories), and turns
the person's clicks, boxes, lassos and zooms into view actions. Colour, size and opacity are
view-bound widgets.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import numpy as np
from dash import ALL, Dash, Input, Output, State, html, no_update
from pydantic import Field

from dashboard.plugin import (
    FILTER_STORE,
    FOCUS_STORE,
    HIGHLIGHT_STORE,
    MAPS_STORE,
    MEASURES_STORE,
    PROJECTION_STORE,
    REQUEST_STORE,
    RINGS_TYPE,
    SELECTION_STORE,
    DashboardError,
    Memo,
    Panel,
    PanelOptions,
    Projection,
    ProjectionGoneError,
    RequestValue,
    Rows,
    checked,
    hookimpl,
)
from dashboard.plugin.analysis import filter_mask
from dashboard.plugin.components import alert
from dashboard.plugin.figures import legend_children, typed, untyped
from plugins.scatter_choices import NO_COLOUR, MapChoices
from plugins.scatter_density import DensityMap
from plugins.scatter_figure import map_colours, map_coords, message_base
from plugins.scatter_html import notice
from plugins.scatter_labels import ClusterNames
from plugins.scatter_layout import scatter_layout
from plugins.scatter_pinned import PinnedMap

#: The page's figure builder, in ``dashboard.js``.
FIGURE_JS = """function(coords, colours, mask, selection, highlight, focus, maps, rings, theme,
    density, labels) {{
    return window.dashboardClient.mapFigure(
        {index}, coords, colours, mask, selection, highlight, focus, maps, rings, theme, density,
        labels);
}}"""
HOVERED_JS = """function(hovered) {{
    window.dashboardClient.densityHovered({index}, hovered);
    return window.dash_clientside.no_update;
}}"""
STALE_JS = """function(projection, request) {{
    return window.dashboardProjection.staleNotice(projection, request, {titles});
}}"""
EMPTY_FIGURE = {"data": [], "layout": {"xaxis": {"visible": False}, "yaxis": {"visible": False}}}


class ScatterOptions(PanelOptions):
    table: str | None = Field(None, description="Table the panel opens on; default: the first.")
    color: str | None = Field(
        None, description="Column to colour by; default: the table's `label` column."
    )
    height: int | None = Field(
        None,
        ge=200,
        le=4000,
        description="Height of the map in pixels; default: the window's height.",
    )
    pinned: bool = Field(
        False,
        description="Always show `table`, projected with the current reducer, params and "
        "dims (for side-by-side maps); otherwise follow the controls' table.",
    )
    image_limit: int = Field(
        10_000,
        ge=0,
        le=160_000,
        description="Most points drawn as their images when the map's Images switch is on "
        "(a table with an `image` column); above it the map keeps its dots and says so.",
    )
    density_above: int = Field(
        250_000,
        ge=1_000,
        le=100_000_000,
        description="A 2D map of more rows is drawn as density images made on the server (for "
        "the region on screen, again at each zoom or pan); a 3D map of more rows is not "
        "drawn.",
    )
    points_in_view: int = Field(
        20_000,
        ge=0,
        le=250_000,
        description="A density map draws its rows as points once the region on screen holds "
        "at most this many shown rows.",
    )


class Colouring(NamedTuple):
    """What the server built for a map's colours: the colouring, its legend, and the column
    it shows (named for display)."""

    colours: dict[str, Any]
    legend: list[Any]
    column: str | None
    #: Why the colour asked for is not shown (not measured for this map yet): the map is
    #: drawn uncoloured, and says so.
    problem: str | None = None


class ScatterPanel(MapChoices, PinnedMap, DensityMap, ClusterNames, Panel):
    """The map itself: Scattergl in 2D, Scatter3d in 3D, density images beyond
    ``density_above`` rows in 2D."""

    name = "scatter"
    Options = ScatterOptions
    options: ScatterOptions
    default_width = 12
    region = "main"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Coordinates, colourings and masks by map, colouring and filters: every request of
        # a page asks again for what did not change.
        self._coords: Memo[str, dict[str, Any]] = Memo(4)
        self._colourings: Memo[str, Colouring] = Memo(8)
        self._masks: Memo[str, np.ndarray | None] = Memo(16)
        self._codes: Memo[str, np.ndarray] = Memo(4)

    @property
    def projection_store(self) -> str:
        """The store this map draws: its own when pinned, else the app's projection."""
        return self.id("projection") if self.options.pinned else PROJECTION_STORE

    @property
    def map_key(self) -> str:
        """This map's key in the view's ``maps``."""
        return str(self.index)

    def validate(self) -> None:
        if self.options.pinned and not self.options.table:
            raise self.error("pinned", "a pinned map needs a table", "add `table:` to this panel")
        table = self.check_table(self.options.table)
        self.check_columns("color", [self.options.color] if self.options.color else [], table)

    def table_of(self, view_table: str | None) -> str | None:
        """The table this map shows when the view shows ``view_table``."""
        if self.options.pinned:
            return self.check_table(self.options.table)
        return self.context.resolve_table(view_table)

    def normalise_view(self, before: Any, data: dict[str, Any]) -> None:
        """Keep this map's colour and size valid for its table: a new table gets its own
        default colour unless the one chosen exists there and was picked by hand."""
        table = self.table_of(self.context.view_table(data))
        if table is None:
            return
        state = data.setdefault("maps", {}).setdefault(self.map_key, {})
        state["table"] = table
        valid = {o["value"] for o in self.colour_options(table)}
        colour = state.get("colour")
        old_table = self.table_of(
            self.context.view_table({"table": before.table, "embedding": before.embedding})
            if before is not None
            else None
        )
        if old_table is not None and old_table != table and colour == self.default_color(old_table):
            colour = None  # the old table's default: the new table's own default instead
        state["colour"] = colour if colour in valid else self.default_color(table)
        was = getattr(before, "maps", {}).get(self.map_key) if before is not None else None
        if was is not None and was.colour != state["colour"]:
            state["hidden"] = []  # hidden categories belong to the colouring they came from
        sizes = {o["value"] for o in self.size_options(table)}
        if state.get("size") not in sizes:
            state["size"] = NO_COLOUR

    # -- layout -------------------------------------------------------------------------

    def layout(self) -> Any:
        return scatter_layout(self)

    # -- callbacks ------------------------------------------------------------------------

    def register_callbacks(self, app: Dash) -> None:
        colour_id = self.view_id("maps", self.map_key, "colour")
        size_id = self.view_id("maps", self.map_key, "size")

        @app.callback(
            Output(colour_id, "options"),
            Output(size_id, "options"),
            Output(self.id("images-switch"), "style"),
            Input(REQUEST_STORE, "data"),
        )
        def on_table(request: Any) -> tuple[Any, Any, Any]:
            table = self.table_of(
                (request or {}).get("table") if isinstance(request, dict) else None
            )
            if table is None:
                return no_update, no_update, no_update
            return self.colour_options(table), self.size_options(table), self.images_style(table)

        @app.callback(
            Output(self.id("coords"), "data"),
            Output(self.id("colours"), "data"),
            Output(self.id("mask"), "data"),
            Output(self.id("legend"), "children"),
            Output(self.id("message"), "children"),
            Input(self.projection_store, "data"),
            Input(MAPS_STORE, "data"),
            Input(FILTER_STORE, "data"),
            # A stability check measured the map: its colours may be the ones shown.
            Input(MEASURES_STORE, "data"),
            # What the browser has: only what changed is sent.
            State(self.id("coords"), "data"),
            State(self.id("colours"), "data"),
        )
        def on_data(
            projection: Any, maps: Any, filters: Any, measures: Any, coords: Any, colours: Any
        ) -> tuple:
            return self.render(Projection.from_store(projection), maps, filters, coords, colours)

        @app.callback(
            Output(self.rings_id(), "data"),
            Input(SELECTION_STORE, "data"),
            Input(REQUEST_STORE, "data"),
        )
        @checked
        def linked(selection: Rows | None, request: RequestValue | None) -> Any:
            return self.linked_rings(selection, request)

        app.clientside_callback(
            FIGURE_JS.format(index=self.index),
            Output(self.id("graph"), "figure"),
            Input(self.id("coords"), "data"),
            Input(self.id("colours"), "data"),
            Input(self.id("mask"), "data"),
            Input(SELECTION_STORE, "data"),
            Input(HIGHLIGHT_STORE, "data"),
            Input(FOCUS_STORE, "data"),
            Input(MAPS_STORE, "data"),
            Input({"type": RINGS_TYPE, "panel": ALL}, "data"),
            Input("dashboard-theme", "data"),
            Input(self.id("density"), "data"),
            Input(self.id("labels"), "data"),
        )
        app.clientside_callback(
            HOVERED_JS.format(index=self.index),
            Output(self.id("hovered"), "clear_data"),  # never set: the tooltip is the page's
            Input(self.id("hovered"), "data"),
            prevent_initial_call=True,
        )
        self.register_density_callbacks(app)
        self.register_label_callbacks(app)
        titles = {name: self.context.reducer_title(name) for name in self.context.registry.reducers}
        app.clientside_callback(
            STALE_JS.format(titles=json.dumps(titles)),
            Output(self.id("stale"), "children"),
            Input(self.projection_store, "data"),
            Input(REQUEST_STORE, "data"),
        )
        if self.options.pinned:
            self.register_own_projection(app)

    # -- what the server computes ---------------------------------------------------------

    def map_state(self, maps: Any) -> dict[str, Any]:
        """This map's part of the view's maps store."""
        maps = maps if isinstance(maps, dict) else {}
        state = maps.get(self.map_key)
        return state if isinstance(state, dict) else {}

    def coords(self, projection: Projection) -> dict[str, Any]:
        """The map's coordinates for the browser (see :func:`map_coords`), memoised.

        Raises
        ------
        DashboardError
            When the projection left the cache.
        """
        dataset = self.context.datasets[projection.table]
        row_route = f"{self.context.url_base}_dashboard/row/"

        def compute() -> dict[str, Any]:
            if self.is_density(projection):
                return self.density_coords(projection, row_route)
            coords = map_coords(
                self.context.coordinates(projection),
                key=projection.key,
                table=dataset.name,
                row_route=row_route,
            )
            # How the Images switch draws this map (the page's `image_map.js`).
            coords["images"] = self.context.image_atlas(dataset, self.options.image_limit)
            return coords

        return self._coords.get(projection.key, compute)

    def colouring(self, projection: Projection, colour: str | None, size: str | None) -> Colouring:
        """The map's colours and sizes for a colouring (see :func:`map_colours`), memoised.
        A colour that cannot be computed for this map yet (a stability colour before a
        check) gives the map uncoloured, with the reason in ``problem``.

        Raises
        ------
        DashboardError
            When the map left the cache.
        """
        dataset = self.context.datasets[projection.table]
        _, colour = self.colour_choice(projection.table, colour)
        size_by = size if size in dataset.metadata_columns else None
        revision = self.context.colour_revision(projection, colour)
        key = json.dumps([projection.key, colour, size_by, revision])

        def compute() -> Colouring:
            meta = dataset.metadata()
            column = None if colour == NO_COLOUR else colour
            if self.context.is_computed_colour(dataset.name, column):
                # Computed from the map (recall, outliers, clusters) or by another panel
                # (compare's overlap): a column like the others.
                values = self.context.computed(projection, column)  # type: ignore[arg-type]
                meta = meta.with_columns(values)
                column = values.name
            colours, legend = map_colours(
                meta,
                key=projection.key,
                n=projection.n,
                dims=projection.dims,
                colour=column,
                colour_title=column,
                size_by=size_by,
            )
            # The tooltip asks the server for this colour's value by its dropdown value.
            colours["colour"] = None if colour == NO_COLOUR else colour
            return Colouring(colours, legend, column)

        try:
            return self._colourings.get(key, compute)
        except ProjectionGoneError:
            raise
        except DashboardError as exc:
            if colour == NO_COLOUR:
                raise
            plain = self.colouring(projection, NO_COLOUR, size)
            return plain._replace(problem=str(exc))

    def shown(self, projection: Projection, filters: Any) -> np.ndarray | None:
        """Rows the filters keep and that have coordinates (None: every row), memoised.

        Raises
        ------
        DashboardError
            When the projection left the cache, or a filter is invalid.
        """
        table = projection.table
        filters = filters if isinstance(filters, dict) and filters.get("table") == table else {}
        specs = filters.get("filters") or {}
        key = json.dumps([projection.key, specs], sort_keys=True, default=str)

        def compute() -> np.ndarray | None:
            coords = self.context.coordinates(projection)
            keep = np.isfinite(coords).all(axis=1)
            meta = self.context.datasets[table].metadata()
            for name in specs:
                if self.context.is_computed_colour(table, name):  # e.g. the map's clusters
                    meta = meta.with_columns(self.context.computed(projection, name).alias(name))
            keep &= filter_mask(meta, specs)
            return None if keep.all() else keep

        return self._masks.get(key, compute)

    def render(
        self,
        projection: Projection | None,
        maps: Any,
        filters: Any,
        drawn_coords: Any = None,
        drawn_colours: Any = None,
    ) -> tuple[Any, Any, Any, Any, Any]:
        """(coords, colours, mask, legend, message) for a projection and the view's map
        state and filters. Coordinates and colours are sent only when they differ from what
        the browser has (``drawn_coords``, ``drawn_colours``)."""
        if projection is None or self.context.dataset(projection.table) is None:
            return no_update, no_update, no_update, no_update, None
        state = self.map_state(maps)
        too_big = self.too_big_in_3d(projection)
        if too_big:
            return message_base(too_big), no_update, None, None, None
        try:
            coords = self.coords(projection)
            colouring = self.colouring(projection, state.get("colour"), state.get("size"))
            shown = self.shown(projection, filters)
            hidden = set(state.get("hidden") or [])
            visible = self.visible(projection, colouring, filters, hidden)
        except DashboardError as exc:
            message = str(exc)
            gone = message_base(message.splitlines()[0])
            return gone, no_update, None, None, alert(message, color="danger")
        colours = colouring.colours
        if coords.get("density"):  # the server draws the rows: no arrays of a value a row
            colours = self.light_colours(colours)
            mask = {"key": projection.key, "shown": None}
        else:
            mask = {"key": projection.key, "shown": None if shown is None else _typed_mask(shown)}
        return (
            no_update if _same(drawn_coords, coords, "key") else coords,
            no_update if _same(drawn_colours, colours, "revision") else colours,
            mask,
            self.legend(projection, colouring, shown, hidden),
            _with(
                colouring.problem and alert(colouring.problem, color="warning"),
                notice(projection, visible, projection.n),
            ),
        )

    def visible(
        self, projection: Projection, colouring: Colouring, filters: Any, hidden: set[str]
    ) -> np.ndarray | None:
        """Rows drawn: kept by the filters, with coordinates, in no hidden legend category
        (None: every row).

        Raises
        ------
        DashboardError
            When the projection left the cache, or a filter is invalid.
        """
        shown = self.shown(projection, filters)
        categories = colouring.colours.get("categories")
        if not (hidden and categories):
            return shown
        out = np.isin(
            self.codes(projection, colouring),
            [i for i, name in enumerate(categories) if name in hidden],
        )
        return (np.ones(projection.n, bool) if shown is None else shown) & ~out

    def codes(self, projection: Projection, colouring: Colouring) -> np.ndarray:
        """Each row's category code of a categorical colouring."""
        # Read back from the colouring's own codes, once: a density map asks on every zoom,
        # and coding 10M labels again took 0.45 s.
        return self._codes.get(
            colouring.colours["revision"],
            lambda: untyped(colouring.colours["marker"]["color"]).astype(np.int32),
        )

    def legend(
        self,
        projection: Projection,
        colouring: Colouring,
        shown: np.ndarray | None,
        hidden: set[str],
    ) -> list[Any]:
        """The legend with each category's count of rows the filters keep."""
        entries = colouring.legend
        if not entries:
            return []
        if shown is not None:
            counts = np.bincount(self.codes(projection, colouring)[shown], minlength=len(entries))
            entries = [e._replace(count=int(c)) for e, c in zip(entries, counts, strict=True)]
        return legend_children(entries, colouring.column, map_index=self.index, hidden=hidden)


def _same(drawn: Any, new: dict[str, Any], field: str) -> bool:
    """Whether the browser's copy (``drawn``) is the one the server would send."""
    return isinstance(drawn, dict) and drawn.get(field) == new.get(field)


def _with(first: Any, then: Any) -> Any:
    """Two lines above the map, either of them None."""
    if first is None or then is None:
        return then if first is None else first
    return html.Div([first, then])


def _typed_mask(mask: np.ndarray) -> Any:
    return typed(mask.astype(np.uint8))


@hookimpl
def dashboard_panels() -> list[type[Panel]]:
    return [ScatterPanel]
