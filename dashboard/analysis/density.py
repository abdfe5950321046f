"""Maps too big to draw point by point: density images aggregated on the server, the rows in
a region, and the row nearest a place.

A map of millions of rows cannot go to the browser (10M points: 80 MB of coordinates, and
plotly draws 1M in 14 s here). Above the scatter panel's ``density_above`` its 2D map is an
image: each pixel's colour mixes the colours of the rows it holds (by category, or the mean of
a numeric column on Viridis), and its opacity follows the pixel's count, equalised over the
image's counts, so sparse outskirts and dense cores both show. Zoom or pan asks for a new image
of the region on screen.

:class:`MapIndex` holds one map's coordinates sorted into the cells of a grid, so an image of a
zoomed region, the rows of a box, and the nearest row to the pointer read only the rows of the
cells they touch.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Cells a side of :class:`MapIndex`'s grid.
GRID = 256
#: Opacity of a pixel holding only unselected rows while some rows are selected.
DIM = 0.25
#: Least opacity of a pixel holding any row (so single rows stay visible).
FLOOR = 0.35

VIRIDIS = np.array(
    [
        [68, 1, 84],
        [72, 40, 120],
        [62, 74, 137],
        [49, 104, 142],
        [38, 130, 142],
        [31, 158, 137],
        [53, 183, 121],
        [109, 205, 89],
        [180, 222, 44],
        [253, 231, 37],
    ],
    dtype=np.float64,
)

Range = tuple[float, float, float, float]  # x0, x1, y0, y1


@dataclass(frozen=True)
class Rendered:
    """An image :func:`render` drew: its PNG and how many rows it holds."""

    png: bytes
    rows: int


@dataclass(frozen=True)
class Colouring:
    """How rows are coloured in an image: ``codes`` (category a row) with ``palette`` (one
    ``#rrggbb`` a category), or ``values`` (a number a row, NaN: grey) between ``low`` and
    ``high``, or neither (one colour, ``palette[0]``)."""

    palette: list[str]
    codes: np.ndarray | None = None
    values: np.ndarray | None = None
    low: float = 0.0
    high: float = 1.0
    #: Whether ``codes`` or ``values`` are in the order of a :class:`MapIndex`'s sorted rows
    #: (:meth:`MapIndex.in_order`), not the table's: an image then reads them in one
    #: sweep (0.08 s for 10M rows, against 0.27 s jumping from row to row).
    ordered: bool = False


class MapIndex:
    """A 2D map's rows sorted by grid cell: the rows of a region without a pass over all.

    Parameters
    ----------
    coords
        (n, 2) coordinates; rows with NaN are not on the map.
    """

    def __init__(self, coords: np.ndarray):
        x = np.asarray(coords[:, 0], dtype=np.float32)
        y = np.asarray(coords[:, 1], dtype=np.float32)
        on_map = np.isfinite(x) & np.isfinite(y)
        rows = np.flatnonzero(on_map)
        self.n = len(x)
        if rows.size:
            x0, x1 = float(x[rows].min()), float(x[rows].max())
            y0, y1 = float(y[rows].min()), float(y[rows].max())
        else:
            x0 = x1 = y0 = y1 = 0.0
        self._set_extent((x0, x1, y0, y1))
        cells = self._cells(x[rows], y[rows])
        order = np.argsort(cells, kind="stable")
        self.rows = rows[order].astype(np.int64)
        self.x = x[self.rows]
        self.y = y[self.rows]
        # starts[c]: where cell c's rows begin in the sorted arrays.
        self._starts = np.searchsorted(cells[order], np.arange(GRID * GRID + 1))

    def _set_extent(self, extent: Range) -> None:
        # The grid spans the map, with a little room so the largest value has a cell.
        x0, x1, y0, y1 = extent
        self.extent: Range = (x0, x1, y0, y1)
        self._cell_w = max(x1 - x0, 1e-12) * (1 + 1e-6) / GRID
        self._cell_h = max(y1 - y0, 1e-12) * (1 + 1e-6) / GRID

    def packed(self) -> tuple[np.ndarray, np.ndarray]:
        """The index as two arrays to keep: the sorted rows (int64) and its layout (row
        count, extent and cell starts, float64, all exact); :meth:`unpacked` reads them."""
        layout = np.concatenate([[self.n, *self.extent], self._starts]).astype(np.float64)
        return self.rows, layout

    @classmethod
    def unpacked(cls, coords: np.ndarray, rows: np.ndarray, layout: np.ndarray) -> MapIndex | None:
        """The index :meth:`packed` gave, over ``coords``; None when the arrays do not fit
        them (another map's, or damaged)."""
        n = len(coords)
        if (
            layout.shape != (GRID * GRID + 6,)
            or rows.dtype != np.int64
            or int(layout[0]) != n
            or int(layout[-1]) != len(rows)
            or (len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= n))
        ):
            return None
        index = cls.__new__(cls)
        index.n = n
        index._set_extent(tuple(float(v) for v in layout[1:5]))  # type: ignore[arg-type]
        index.rows = rows
        index.x = np.asarray(coords[rows, 0], dtype=np.float32)
        index.y = np.asarray(coords[rows, 1], dtype=np.float32)
        index._starts = layout[5:].astype(np.int64)
        return index

    def _cells(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x0, _, y0, _ = self.extent
        cx = np.clip(((x - x0) / self._cell_w).astype(np.int64), 0, GRID - 1)
        cy = np.clip(((y - y0) / self._cell_h).astype(np.int64), 0, GRID - 1)
        return cy * GRID + cx

    @property
    def starts(self) -> np.ndarray:
        """Where each grid cell's rows begin in :attr:`rows` (one more entry: the end)."""
        return self._starts

    def in_order(self, values: np.ndarray) -> np.ndarray:
        """A value a table row, put in the order of :attr:`rows`."""
        return np.ascontiguousarray(values[self.rows])

    def rows_near(self, region: Range) -> int:
        """How many rows the grid cells ``region`` touches hold: at least its own."""
        cx0, cx1, cy0, cy1 = (int(v) for v in self.cells_of(region))
        starts = self._starts
        return sum(
            int(starts[cy * GRID + cx1 + 1] - starts[cy * GRID + cx0]) for cy in range(cy0, cy1 + 1)
        )

    def cells_of(self, region: Range) -> np.ndarray:
        """The grid cells ``region`` touches: ``[cx0, cx1, cy0, cy1]`` (int64, inclusive;
        no rows when ``cy1 < cy0``)."""
        x0, x1, y0, y1 = region
        if x1 < x0 or y1 < y0 or not self.rows.size:
            return np.array([0, 0, 0, -1], np.int64)
        ex0, _, ey0, _ = self.extent
        cx0 = int(np.clip(np.floor((x0 - ex0) / self._cell_w), 0, GRID - 1))
        cx1 = int(np.clip(np.floor((x1 - ex0) / self._cell_w), 0, GRID - 1))
        cy0 = int(np.clip(np.floor((y0 - ey0) / self._cell_h), 0, GRID - 1))
        cy1 = int(np.clip(np.floor((y1 - ey0) / self._cell_h), 0, GRID - 1))
        return np.array([cx0, cx1, cy0, cy1], np.int64)

    def positions_in(self, region: Range) -> np.ndarray:
        """Positions (into :attr:`rows`, :attr:`x`, :attr:`y`) of the rows inside ``region``."""
        x0, x1, y0, y1 = region
        cx0, cx1, cy0, cy1 = (int(v) for v in self.cells_of(region))
        # Each grid row of cells is one stretch of the sorted arrays.
        spans = [
            np.arange(self._starts[cy * GRID + cx0], self._starts[cy * GRID + cx1 + 1])
            for cy in range(cy0, cy1 + 1)
        ]
        found = np.concatenate(spans) if spans else np.zeros(0, np.int64)
        x, y = self.x[found], self.y[found]
        inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        return found[inside]

    def nearest(
        self, px: float, py: float, radius: float, keep: np.ndarray | None = None
    ) -> int | None:
        """The row nearest ``(px, py)`` within ``radius`` that ``keep`` (a row mask) keeps."""
        found = self.positions_in((px - radius, px + radius, py - radius, py + radius))
        if keep is not None:
            found = found[keep[self.rows[found]]]
        if not found.size:
            return None
        d = (self.x[found] - px) ** 2 + (self.y[found] - py) ** 2
        best = np.flatnonzero(d == d.min())
        if d[best[0]] > radius * radius:
            return None
        return int(self.rows[found[best]].min())  # ties: the first row

    def rows_in_polygon(self, polygon: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
        """Rows (sorted) inside ``polygon`` ((k, 2) vertices; a box is 4) kept by ``keep``."""
        polygon = np.asarray(polygon, dtype=np.float64)
        x0, y0 = polygon.min(axis=0)
        x1, y1 = polygon.max(axis=0)
        found = self.positions_in((x0, x1, y0, y1))
        if keep is not None:
            found = found[keep[self.rows[found]]]
        px = self.x[found].astype(np.float64)
        py = self.y[found].astype(np.float64)
        inside = np.zeros(len(found), bool)
        # Even-odd rule: count the polygon's edges a ray to the right crosses.
        for (ax, ay), (bx, by) in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
            crosses = (ay > py) != (by > py)
            with np.errstate(divide="ignore", invalid="ignore"):
                at = ax + (py - ay) * (bx - ax) / (by - ay)
            inside ^= crosses & (px < at)
        return np.sort(self.rows[found[inside]])


def render(
    index: MapIndex,
    region: Range,
    size: tuple[int, int],
    colouring: Colouring,
    *,
    keep: np.ndarray | None = None,
    selected: np.ndarray | None = None,
    opacity: float = 0.85,
) -> Rendered:
    """A PNG of ``region`` at ``size`` (width, height) pixels: each pixel the mixed colour of
    the rows ``keep`` keeps in it; with ``selected`` (a row mask with some rows set), pixels
    without selected rows are dimmed."""
    width, height = size
    rgb, count = _mix(index, region, size, colouring, keep, None)
    alpha = _equalised(count) * opacity
    if selected is not None and selected.any():
        picked_rgb, picked = _mix(index, region, size, colouring, keep, selected)
        rgb = np.where(picked[:, None] > 0, picked_rgb, rgb)
        alpha = np.where(picked > 0, np.maximum(_equalised(picked), FLOOR) * opacity, alpha * DIM)
    rgb, alpha = _spread(rgb, alpha, width, height, spread_radius(count))
    image = np.concatenate([rgb, (alpha * 255)[:, None]], axis=1)
    png = _png(np.clip(image, 0, 255).astype(np.uint8).reshape(height, width, 4))
    return Rendered(png, int(count.sum()))


def spread_radius(count: np.ndarray) -> int:
    """Pixels each row's dot spreads to: sparse images get bigger dots (a lone row on a
    1000-pixel image is otherwise one faint pixel), dense ones none."""
    occupied = float((count > 0).mean()) if count.size else 0.0
    for share, radius in ((0.002, 3), (0.01, 2), (0.05, 1)):
        if occupied < share:
            return radius
    return 0


def _spread(
    rgb: np.ndarray, alpha: np.ndarray, width: int, height: int, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel takes the colour and opacity of the most opaque pixel within ``radius``."""
    if radius <= 0:
        return rgb, alpha
    a = alpha.reshape(height, width)
    c = rgb.reshape(height, width, 3)
    best_a, best_c = a.copy(), c.copy()
    pad_a = np.pad(a, radius)
    pad_c = np.pad(c, ((radius, radius), (radius, radius), (0, 0)))
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if (dx or dy) and dx * dx + dy * dy <= radius * radius:
                ys, xs = (
                    slice(radius + dy, radius + dy + height),
                    slice(radius + dx, radius + dx + width),
                )
                shifted = pad_a[ys, xs]
                better = shifted > best_a
                best_a = np.where(better, shifted, best_a)
                best_c = np.where(better[..., None], pad_c[ys, xs], best_c)
    return best_c.reshape(-1, 3), best_a.reshape(-1)


def _mix(
    index: MapIndex,
    region: Range,
    size: tuple[int, int],
    colouring: Colouring,
    keep: np.ndarray | None,
    chosen: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(pixels, 3) mean colour and (pixels,) count of the rows in each pixel of ``region``
    (those ``keep`` and ``chosen`` both keep, when given)."""
    width, height = size
    count = np.zeros(width * height)
    rgb = np.zeros((width * height, 3))
    none_bool = np.zeros(0, np.bool_)
    codes = np.zeros(0, np.int32) if colouring.codes is None else colouring.codes
    values = np.zeros(0, np.float32) if colouring.values is None else colouring.values
    x0, x1, y0, y1 = region
    _compiled_bin_rows()(
        index.cells_of(region),
        index.starts,
        index.x,
        index.y,
        index.rows,
        np.array([x0, x1, y0, y1], np.float64),
        width,
        height,
        none_bool if keep is None else keep,
        none_bool if chosen is None else chosen,
        codes.astype(np.int32, copy=False),
        _rgb(colouring.palette),
        values.astype(np.float32, copy=False),
        colouring.ordered,
        float(colouring.low),
        float(colouring.high),
        VIRIDIS,
        count,
        rgb,
    )
    if colouring.codes is None and colouring.values is None:
        return np.broadcast_to(_rgb(colouring.palette[:1])[0], (width * height, 3)), count
    return rgb / np.maximum(count, 1)[:, None], count


@functools.cache
def _compiled_bin_rows() -> Any:
    # Compiled when first drawn (numba is not imported at app start), loaded from numba's
    # cache after the first time on a machine.
    import numba

    return numba.njit(cache=True, nogil=True, error_model="numpy")(_bin_rows)


def _bin_rows(
    cells,
    starts,
    xs,
    ys,
    rows,
    region,
    width,
    height,
    keep,
    chosen,
    codes,
    palette,
    values,
    ordered,
    low,
    high,
    stops,
    count,
    rgb,
):  # pragma: no cover - compiled
    # One pass over the rows of the cells the region touches, straight into the pixels: at
    # 10M rows the numpy version's temporaries (positions, pixels, colours) cost 1 s an
    # image, this 0.1-0.2 s.
    cx0, cx1, cy0, cy1 = cells
    x0, x1, y0, y1 = region[0], region[1], region[2], region[3]
    span_x = max(x1 - x0, 1e-12)
    span_y = max(y1 - y0, 1e-12)
    spread = max(high - low, 1e-12)
    last = stops.shape[0] - 1
    for cy in range(cy0, cy1 + 1):
        for p in range(starts[cy * GRID + cx0], starts[cy * GRID + cx1 + 1]):
            x = xs[p]
            y = ys[p]
            if x < x0 or x > x1 or y < y0 or y > y1:
                continue
            row = rows[p]
            if keep.size and not keep[row]:
                continue
            if chosen.size and not chosen[row]:
                continue
            px = min(max(int((x - x0) / span_x * width), 0), width - 1)
            py = min(max(int((y1 - y) / span_y * height), 0), height - 1)
            pixel = py * width + px
            count[pixel] += 1.0
            at = p if ordered else row
            if codes.size:
                code = codes[at]
                for c in range(3):
                    rgb[pixel, c] += palette[code, c]
            elif values.size:
                value = values[at]
                if not np.isfinite(value):  # no value: grey
                    for c in range(3):
                        rgb[pixel, c] += 160.0
                    continue
                t = min(max((value - low) / spread, 0.0), 1.0) * last
                stop = min(int(t), last - 1)
                f = t - stop
                for c in range(3):
                    rgb[pixel, c] += stops[stop, c] + f * (stops[stop + 1, c] - stops[stop, c])


def _equalised(count: np.ndarray) -> np.ndarray:
    """Opacity by each non-empty pixel's rank among the image's counts (histogram
    equalisation), from :data:`FLOOR` to 1; 0 where empty."""
    out = np.zeros(len(count))
    full = count > 0
    if full.any():
        levels = np.unique(count[full])
        rank = np.searchsorted(levels, count[full]) + 1
        out[full] = FLOOR + (1 - FLOOR) * rank / len(levels)
    return out


def _rgb(palette: list[str]) -> np.ndarray:
    return np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in palette], dtype=np.float64)


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def padded(region: Range, share: float) -> Range:
    """``region`` grown by ``share`` of its width and height on each side."""
    x0, x1, y0, y1 = region
    dx, dy = (x1 - x0) * share, (y1 - y0) * share
    return (x0 - dx, x1 + dx, y0 - dy, y1 + dy)


def full_view(index: MapIndex) -> Range:
    """The region a density map opens on: the map's extent with a 2% margin."""
    return padded(index.extent, 0.02)
