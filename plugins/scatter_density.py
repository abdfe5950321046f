"""A 2D map of more than ``density_above`` rows, drawn as density images (a mixin of the
scatter panel).

The browser never gets every point. The server sends an image of the region on screen
(:mod:`dashboard.analysis.density`), made again on every zoom or pan, with its filters,
hidden legend categories, opacity and selection applied. Once the region holds at most
``points_in_view`` shown rows, those rows come as points instead, so hover, click, box and
lasso work on them as on any map. Over an image, the pointer's nearest shown row is looked up
on the server (the tooltip names it), and a box or lasso is sent as its outline: the server
selects the shown rows inside, so a selection never needs the points in the browser.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
from typing import Any

import numpy as np
from dash import ALL, Dash, Input, Output, State, no_update

from dashboard.plugin import (
    FILTER_STORE,
    FOCUS_STORE,
    HIGHLIGHT_STORE,
    MAPS_STORE,
    RINGS_TYPE,
    SELECTION_STORE,
    DashboardError,
    Memo,
    Projection,
    action,
)
from dashboard.plugin.analysis import (
    DensityColouring,
    MapIndex,
    density_image,
    full_view,
    padded,
)
from dashboard.plugin.figures import typed, untyped

#: Pixels across a density image of the whole map, or when the page did not say how wide
#: the plot is (its height follows the region's shape).
IMAGE_WIDTH = 1000
#: Most pixels across an image of a zoomed view: a plot wider than about 830 pixels gets
#: an image a little coarser than its pixels. 1,130 pixels (a 940-pixel plot) took a zoom
#: of 10M rows from 0.29-0.41 s to 0.51-0.56 s here, end to end.
MAX_IMAGE_WIDTH = 1000
#: Most rows a box or lasso selects (the view's own limit on a selection).
SELECT_LIMIT = 5_000_000
#: Most rows of rings and the focus sent with an image.
MARKS_LIMIT = 5_000
#: Most points of a zoomed density map drawn as their images (their atlas is built for
#: each new view: 2,000 digits take about 0.3 s).
IMAGE_ROWS = 2_000
#: The page's gate: what a density map's image depends on, for density maps only.
ASK_JS = """function(coords, maps, filters, selection, highlight, focus, rings, camera) {
    if (!coords || !coords.density) {
        return window.dash_clientside.no_update;
    }
    return {key: coords.key, maps: maps, filters: filters, selection: selection,
            highlight: highlight, focus: focus, rings: rings, camera: camera};
}"""
#: Share of the view's width (and height) drawn beyond each of its sides: a small pan needs
#: no new image (a quarter made each image pixel 1.5x coarser for the same width).
MARGIN = 0.1
#: Vertices a lasso may have.
POLYGON_LIMIT = 2_000

logger = logging.getLogger(__name__)


class DensityMap:
    """The scatter panel's density part. Expects ``coords``, ``colouring``, ``shown`` and
    ``visible`` of :class:`plugins.scatter.ScatterPanel`."""

    options: Any
    context: Any
    index: int
    map_key: str

    def is_density(self, projection: Projection) -> bool:
        """Whether this map is drawn as images: 2D, with more rows than ``density_above``."""
        return projection.dims == 2 and projection.n > self.options.density_above

    def too_big_in_3d(self, projection: Projection) -> str | None:
        """Why a 3D map is not drawn (more rows than ``density_above``), or None."""
        if projection.dims != 3 or projection.n <= self.options.density_above:
            return None
        return (
            f"A 3D map of {projection.n:,} rows is more than the browser can turn: 3D draws "
            f"up to {self.options.density_above:,} (the map's `density_above`).\n"
            "Switch to 2D (drawn as a density image), or isolate fewer rows."
        )

    def map_index(self, projection: Projection) -> MapIndex:
        """The map's rows sorted by grid cell (:class:`MapIndex`), made once per map."""
        memo: Memo[str, MapIndex] = self.__dict__.setdefault("_indexes", Memo(2))
        return memo.get(projection.key, lambda: self._kept_index(projection))

    def _kept_index(self, projection: Projection) -> MapIndex:
        # Kept in the cache beside the map: sorting 10M rows into the grid takes 2.9 s of a
        # fresh server's first image, reading them back 0.2 s.
        store = self.context.store
        coords = self.context.coordinates(projection)
        names = (f"{projection.key}grid", f"{projection.key}gridlayout")
        rows, layout = (store.load(name, mmap=True) for name in names)
        if rows is not None and layout is not None:
            index = MapIndex.unpacked(coords, rows, layout)
            if index is not None:
                return index
        index = MapIndex(coords)
        try:
            for name, array in zip(names, index.packed(), strict=True):
                store.save(name, array, durable=False, dtype=None)
        except OSError as exc:  # a full or read-only cache: this process keeps its own
            logger.warning("could not keep the grid index of map %s: %s", projection.key, exc)
        return index

    def density_coords(self, projection: Projection, row_route: str) -> dict[str, Any]:
        """What the browser gets instead of coordinates: the map's extent."""
        return {
            "key": projection.key,
            "table": projection.table,
            "dims": 2,
            "n": projection.n,
            "density": True,
            "extent": list(full_view(self.map_index(projection))),
            "pointSize": 4.0,
            "rowRoute": row_route,
            "images": None,
        }

    @staticmethod
    def light_colours(colours: dict[str, Any]) -> dict[str, Any]:
        """A colouring without its arrays of a value a row (the server draws the rows)."""
        marker = {k: v for k, v in colours["marker"].items() if k != "color"}
        if isinstance(colours["marker"].get("color"), str):
            marker["color"] = colours["marker"]["color"]  # one colour for every row
        return {**colours, "marker": marker, "size": None, "density": True}

    def image_colouring(self, projection: Projection, colouring: Any) -> DensityColouring:
        """The colouring as the image draws it: category codes with their colours, numbers
        with their range, or one colour."""
        marker = colouring.colours["marker"]
        names = colouring.colours.get("categories")
        index = self.map_index(projection)
        memo: Memo[str, np.ndarray] = self.__dict__.setdefault("_ordered", Memo(2))
        key = colouring.colours["revision"]
        if names:
            steps = marker["colorscale"]
            palette = [steps[2 * i][1] for i in range(len(names))]
            codes = memo.get(key, lambda: index.in_order(self.codes(projection, colouring)))
            return DensityColouring(palette, codes=codes, ordered=True)
        if isinstance(marker.get("color"), dict) and colouring.column:
            values = memo.get(
                key, lambda: index.in_order(self.colour_values(projection, colouring))
            )
            return DensityColouring(
                ["#000000"], values=values, low=marker["cmin"], high=marker["cmax"], ordered=True
            )
        colour = marker.get("color")
        return DensityColouring([colour if isinstance(colour, str) else "#636efa"])

    def colour_values(self, projection: Projection, colouring: Any) -> np.ndarray:
        """Each row's number of a numeric colouring (float32)."""
        return untyped(colouring.colours["marker"]["color"]).astype(np.float32, copy=False)

    def density_view(
        self,
        projection: Projection,
        maps: Any,
        filters: Any,
        selection: Any,
        marks: list[Any],
    ) -> dict[str, Any]:
        """The image (or points) of the region on screen, and the rows to ring.

        Raises
        ------
        DashboardError
            When the map left the cache, or a filter is invalid.
        """
        state = self.map_state(maps)
        # The same view asked again (the page's camera, then the view's; a zoom back out)
        # is answered from memory: an image of 10M rows takes about a second.
        drawn = {
            k: state.get(k) for k in ("colour", "hidden", "opacity", "camera", "images", "pixels")
        }
        key = json.dumps(
            [projection.key, drawn, filters, _digest(selection), _digest(marks)],
            sort_keys=True,
            default=str,
        )
        memo: Memo[str, dict[str, Any]] = self.__dict__.setdefault("_views", Memo(6))
        return memo.get(
            key, lambda: self._density_view(projection, state, filters, selection, marks)
        )

    def _density_view(
        self,
        projection: Projection,
        state: dict[str, Any],
        filters: Any,
        selection: Any,
        marks: list[Any],
    ) -> dict[str, Any]:
        index = self.map_index(projection)
        colouring = self.colouring(projection, state.get("colour"), None)
        visible = self.visible(projection, colouring, filters, set(state.get("hidden") or []))
        asked = _region(state.get("camera"))
        # A margin round the view asked for: a pan within it, or plotly fitting the ranges
        # to the map's shape, needs no new image (the page checks, `densityCovers`).
        region = padded(asked, MARGIN) if asked else full_view(index)
        out: dict[str, Any] = {
            "key": projection.key,
            "region": list(region),
            "asked": list(asked) if asked else None,
            "marks": self._marks(index, marks, projection, visible),
            "points": None,
            "image": None,
        }
        image_colours = self.image_colouring(projection, colouring)
        images = bool(state.get("images"))
        # The region's rows are listed only when its grid cells hold few enough to send as
        # points (listing 9M rows took 0.14 s of a zoom); else the image counts them, and
        # when it counts few enough (a filter, a region smaller than its cells), they go
        # as points after all.
        found = None
        if index.rows_near(region) <= self.options.points_in_view:
            found = self._points(index, region, visible, image_colours)
        if found is None:
            drawn = self._image(
                projection, index, region, asked, state, image_colours, visible, selection
            )
            if drawn.rows <= self.options.points_in_view:
                found = self._points(index, region, visible, image_colours)
            if found is None:
                out["inView"] = drawn.rows
                out["images"] = self._images(projection, drawn.rows) if images else None
                out["image"] = "data:image/png;base64," + base64.b64encode(drawn.png).decode()
                return out
        rows, out["points"] = found
        out["inView"] = len(rows)
        out["images"] = self._images(projection, rows) if images else None
        return out

    def _points(
        self, index: MapIndex, region: Any, visible: np.ndarray | None, colours: DensityColouring
    ) -> tuple[np.ndarray, dict[str, Any]] | None:
        """The shown rows of ``region`` as points (and the rows), or None when more than
        ``points_in_view``."""
        positions = index.positions_in(region)
        rows = index.rows[positions]
        if visible is not None:
            keep = visible[rows]
            positions, rows = positions[keep], rows[keep]
        if len(rows) > self.options.points_in_view:
            return None
        return rows, {
            "rows": typed(rows.astype(np.int32)),
            "x": typed(index.x[positions]),
            "y": typed(index.y[positions]),
            "color": _point_colours(colours, positions),
        }

    def _image(
        self,
        projection: Projection,
        index: MapIndex,
        region: Any,
        asked: Any,
        state: dict[str, Any],
        colours: DensityColouring,
        visible: np.ndarray | None,
        selection: Any,
    ) -> Any:
        """The density image of ``region`` (:func:`density_image`'s answer)."""
        # An image pixel a screen pixel across the view and its margin, up to
        # MAX_IMAGE_WIDTH, when the page said how wide the plot is (a fixed 1000 pixels over
        # a region 1.5x the view drew each as 1.4-2 screen pixels: blocky once zoomed).
        pixels = state.get("pixels")
        width = (
            int(np.clip(round(pixels * (1 + 2 * MARGIN)), 400, MAX_IMAGE_WIDTH))
            if isinstance(pixels, int) and asked
            else IMAGE_WIDTH
        )
        x0, x1, y0, y1 = region
        height = int(np.clip(round(width * (y1 - y0) / max(x1 - x0, 1e-12)), 100, 1600))
        return density_image(
            index,
            region,
            (width, height),
            colours,
            keep=visible,
            selected=_rows_mask(selection, projection, index.n),
            opacity=float(state.get("opacity") or 0.85),
        )

    def _images(self, projection: Projection, rows: np.ndarray | int) -> Any:
        """How the view's points (``rows``, or their count over an image) draw as images:
        their atlas, or why they do not."""
        dataset = self.context.datasets[projection.table]
        if not dataset.config.image:
            return None
        # Images are drawn on points only: no more than the view turns into points.
        limit = min(IMAGE_ROWS, self.options.image_limit, self.options.points_in_view)
        count = rows if isinstance(rows, int) else len(rows)
        if not isinstance(rows, int) and count <= limit:
            return self.context.rows_atlas(dataset, rows)
        return {
            "notice": f"Images on the map: {count:,} points are in view; zoom in until "
            f"at most {limit:,} are to see their images."
        }

    def _marks(
        self, index: MapIndex, marks: list[Any], projection: Projection, visible: Any
    ) -> dict[str, Any]:
        """Coordinates of the rows that rings and the focus mark (shown rows only)."""
        wanted: set[int] = set()
        for mark in marks:
            if isinstance(mark, dict) and mark.get("table") == projection.table:
                rows = mark.get("rows")
                if rows is None and isinstance(mark.get("row"), int):
                    rows = [mark["row"]]
                wanted.update(r for r in (rows or [])[:MARKS_LIMIT] if isinstance(r, int))
        rows = np.array(sorted(r for r in wanted if 0 <= r < index.n), dtype=np.int64)
        if visible is not None and rows.size:
            rows = rows[visible[rows]]
        coords = self.context.coordinates(projection)[rows] if rows.size else np.zeros((0, 2))
        on_map = np.isfinite(coords).all(axis=1)
        rows, coords = rows[on_map], coords[on_map]
        return {"rows": rows.tolist(), "x": coords[:, 0].tolist(), "y": coords[:, 1].tolist()}

    def shown_rows(self, projection: Projection, maps: Any, filters: Any) -> np.ndarray | None:
        """The rows the map shows (filters and hidden legend categories applied; None: all).

        Raises
        ------
        DashboardError
            When the map left the cache, or a filter is invalid.
        """
        state = self.map_state(maps)
        colouring = self.colouring(projection, state.get("colour"), None)
        return self.visible(projection, colouring, filters, set(state.get("hidden") or []))

    def region_rows(
        self, projection: Projection, maps: Any, filters: Any, polygon: Any
    ) -> np.ndarray:
        """The shown rows inside ``polygon`` (a box's 4 corners or a lasso's outline).

        Raises
        ------
        DashboardError
            When the map left the cache, or a filter is invalid.
        """
        visible = self.shown_rows(projection, maps, filters)
        points = _polygon(polygon)
        if points is None:
            return np.zeros(0, np.int64)
        return self.map_index(projection).rows_in_polygon(points, visible)

    def hovered_row(
        self, projection: Projection, maps: Any, filters: Any, x: Any, y: Any, radius: Any
    ) -> int | None:
        """The shown row nearest ``(x, y)`` within ``radius``, or None."""
        if not all(isinstance(v, (int, float)) and np.isfinite(v) for v in (x, y, radius)):
            return None
        visible = self.shown_rows(projection, maps, filters)
        return self.map_index(projection).nearest(float(x), float(y), float(radius), visible)

    def warm_opening_map(self) -> threading.Thread:
        """Prepare the opening map's first image in the background, when it is a density
        map already in the cache: a restarted server otherwise spends the first visitor's
        wait reading the coordinates and the grid index and coding the colours (2 s of a
        4.7 s first image at 10M rows)."""

        def warm() -> None:
            dataset = self.context.dataset(self.context.initial_request.table)
            if dataset is None or not (dataset.files or dataset.objects):
                return  # no cheap fingerprint: finding the map's key would read the table
            try:
                _, projection = self.context.cached_projection(self.context.initial_request)
                if projection is not None and self.is_density(projection):
                    self.density_view(projection, {}, None, None, [])
            except Exception:  # a broken table or cache: the page's own request says why
                logger.debug("could not prepare the opening density map", exc_info=True)

        thread = threading.Thread(target=warm, name="dashboard-density-warm", daemon=True)
        thread.start()
        return thread

    def register_density_callbacks(self, app: Dash) -> None:
        """The image of the region on screen, a box or lasso's rows, the hovered row; and
        the opening map's first image prepared (:meth:`warm_opening_map`)."""
        self.warm_opening_map()

        # Only a density map asks the server: the page forwards what its image depends on
        # (an ordinary map's changes would otherwise each cost a request, and under a busy
        # server those requests held up the map the page was waiting for).
        app.clientside_callback(
            ASK_JS,
            Output(self.id("ask"), "data"),
            Input(self.id("coords"), "data"),
            Input(MAPS_STORE, "data"),
            Input(FILTER_STORE, "data"),
            Input(SELECTION_STORE, "data"),
            Input(HIGHLIGHT_STORE, "data"),
            Input(FOCUS_STORE, "data"),
            Input({"type": RINGS_TYPE, "panel": ALL}, "data"),
            # The page's zoom or pan, sent at once (the view's camera follows later).
            Input(self.id("camera"), "data"),
        )

        @app.callback(
            Output(self.id("density"), "data"),
            Input(self.id("ask"), "data"),
            State(self.projection_store, "data"),
            prevent_initial_call=True,
        )
        def on_view(ask: Any, projection: Any) -> Any:
            found = Projection.from_store(projection)
            if found is None or not self.is_density(found) or not isinstance(ask, dict):
                return None
            if ask.get("key") != found.key:
                return no_update  # the page still draws another map
            maps = ask.get("maps")
            camera = ask.get("camera")
            if isinstance(camera, dict) and camera.get("key") == found.key:
                maps = _with_camera(maps, self.map_key, camera.get("camera"), camera.get("pixels"))
            marks = [ask.get("highlight"), ask.get("focus"), *(ask.get("rings") or [])]
            try:
                return self.density_view(
                    found, maps, ask.get("filters"), ask.get("selection"), marks
                )
            except DashboardError:
                return None  # the map's own callback says what is wrong

        @app.callback(
            Output(self.action_id(), "data"),
            Input(self.id("region"), "data"),
            State(self.projection_store, "data"),
            State(MAPS_STORE, "data"),
            State(FILTER_STORE, "data"),
            prevent_initial_call=True,
        )
        def on_region(region: Any, projection: Any, maps: Any, filters: Any) -> Any:
            found = Projection.from_store(projection)
            if found is None or not isinstance(region, dict) or region.get("key") != found.key:
                return no_update
            try:
                rows = self.region_rows(found, maps, filters, region.get("polygon"))
            except DashboardError:
                return no_update
            return action("select", table=found.table, rows=rows[:SELECT_LIMIT].tolist())

        @app.callback(
            Output(self.id("hovered"), "data"),
            Input(self.id("hover"), "data"),
            State(self.projection_store, "data"),
            State(MAPS_STORE, "data"),
            State(FILTER_STORE, "data"),
            prevent_initial_call=True,
        )
        def on_hover(hover: Any, projection: Any, maps: Any, filters: Any) -> Any:
            found = Projection.from_store(projection)
            if found is None or not isinstance(hover, dict) or hover.get("key") != found.key:
                return no_update
            try:
                row = self.hovered_row(
                    found, maps, filters, hover.get("x"), hover.get("y"), hover.get("r")
                )
            except DashboardError:
                row = None
            return {**{k: hover.get(k) for k in ("key", "seq", "px", "py")}, "row": row}


def _digest(value: Any) -> str:
    """A short fingerprint of a store's value (a selection may hold millions of rows)."""
    text = json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def _with_camera(maps: Any, key: str, camera: Any, pixels: Any = None) -> dict[str, Any]:
    """The view's maps with map ``key``'s camera replaced, and the width of the plot on
    screen in device pixels (``pixels``: the image's own width follows it) when known."""
    maps = dict(maps) if isinstance(maps, dict) else {}
    maps[key] = {**(maps.get(key) or {}), "camera": camera}
    if isinstance(pixels, int | float) and np.isfinite(pixels):
        maps[key]["pixels"] = int(np.clip(pixels, 200, 4000))
    return maps


def _region(camera: Any) -> tuple[float, float, float, float] | None:
    """A 2D camera's ranges (``{"x": [x0, x1], "y": [y0, y1]}``) as a region, or None."""
    if not isinstance(camera, dict):
        return None
    try:
        (x0, x1), (y0, y1) = (sorted(float(v) for v in camera[axis]) for axis in ("x", "y"))
    except (KeyError, TypeError, ValueError):
        return None
    if not all(np.isfinite(v) for v in (x0, x1, y0, y1)) or x1 <= x0 or y1 <= y0:
        return None
    return (x0, x1, y0, y1)


def _polygon(value: Any) -> np.ndarray | None:
    """A polygon's vertices as a (k, 2) array (3 <= k <= POLYGON_LIMIT), or None."""
    try:
        points = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if points.ndim != 2 or points.shape[1] != 2 or not 3 <= len(points) <= POLYGON_LIMIT:
        return None
    return points if np.isfinite(points).all() else None


def _rows_mask(selection: Any, projection: Projection, n: int) -> np.ndarray | None:
    """The selection of this map's table as a row mask, or None without one."""
    if not isinstance(selection, dict) or selection.get("table") != projection.table:
        return None
    rows = np.array([r for r in selection.get("rows") or [] if isinstance(r, int)], np.int64)
    rows = rows[(rows >= 0) & (rows < n)]
    if not rows.size:
        return None
    mask = np.zeros(n, bool)
    mask[rows] = True
    return mask


def _point_colours(colouring: DensityColouring, positions: np.ndarray) -> Any:
    """The colour values of drawn points (at ``positions`` of the map's index, whose order
    the colouring's values follow): category codes, numbers, or one colour (None)."""
    if colouring.codes is not None:
        return typed(colouring.codes[positions].astype(np.uint8))
    if colouring.values is not None:
        return typed(colouring.values[positions].astype(np.float32))
    return None
