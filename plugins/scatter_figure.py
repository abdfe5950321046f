"""What the server sends the browser to draw a map, as typed arrays: the map's coordinates
(and 3D hover text) once per map, its colouring (colours, sizes) once per colouring, and the
filter mask when the filters change; a recolour resends no coordinates. The page's script
(``dashboard.js``: ``mapFigure``) builds the figure from them and the view: dimming, rings and
legend toggles need no server.

In the figure, trace 0 holds every table row in table order, so a point number is a row
number; rows without coordinates (outside an isolated subset) are NaN, which plotly leaves
out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from dashboard.plugin.figures import LegendEntry, colour_marker, typed


def marker_size(n: int) -> float:
    """Smaller points for bigger maps, so clusters stay readable."""
    return 7.0 if n < 2_000 else 5.0 if n < 20_000 else 3.0 if n < 200_000 else 2.0


def size_marker(meta: pl.DataFrame, size_by: str | None, size: float) -> Any:
    """Marker sizes: ``size`` for every point, or scaled by the numeric column ``size_by``
    (smallest value 0.5x, largest 2.5x)."""
    if not size_by:
        return size
    values = meta.get_column(size_by).cast(pl.Float64).to_numpy()
    finite = np.isfinite(values)
    low, high = (values[finite].min(), values[finite].max()) if finite.any() else (0, 0)
    scaled = (values - low) / (high - low) if high > low else np.full(len(values), 0.5)
    return typed((size * (0.5 + 2.0 * np.nan_to_num(scaled, nan=0.0))).astype(np.float32))


def map_coords(coords: np.ndarray, *, key: str, table: str, row_route: str) -> dict[str, Any]:
    """A map's coordinates (n x 2 or n x 3) and what comes with them; no hover text: the
    page's card fetches the hovered row (in 2D and 3D)."""
    n, dims = coords.shape
    return {
        "key": key,
        "table": table,
        "dims": dims,
        "n": n,
        "x": typed(coords[:, 0]),
        "y": typed(coords[:, 1]),
        "z": typed(coords[:, 2]) if dims == 3 else None,
        "pointSize": marker_size(n) if dims == 2 else marker_size(n) * 0.5,
        "rowRoute": row_route,
    }


def map_colours(
    meta: pl.DataFrame,
    *,
    key: str,
    n: int,
    dims: int,
    colour: str | None,
    colour_title: str | None,
    size_by: str | None,
) -> tuple[dict[str, Any], list[LegendEntry]]:
    """A map's colouring by column ``colour`` of ``meta`` (None: one colour) and sizes, and
    its legend (categories only, counting every row). ``revision`` names the colouring."""
    marker, legend = colour_marker(meta, colour)
    if marker.get("colorbar") and colour_title:
        marker["colorbar"] = {**marker["colorbar"], "title": {"text": colour_title}}
    point = marker_size(n) if dims == 2 else marker_size(n) * 0.5
    colours = {
        "key": key,
        "revision": f"{key}|{colour}|{size_by}",
        "marker": marker,
        "size": size_marker(meta, size_by, point),
        "categories": [entry.name for entry in legend] if legend else None,
        "colour": colour,
    }
    return colours, legend


def message_base(message: str) -> dict[str, Any]:
    """A base that says why there is no map (the browser draws an empty figure with it)."""
    return {"message": message}
