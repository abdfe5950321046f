"""Build the scatter figure as plain dicts of typed arrays, and patches that restyle it.

The figure has fixed trace slots: the points (every table row in table order, so a point
number is a row number), then the highlight ring and the linked-selection ring. Colour, size,
opacity, filters and rings only change trace 0's marker and the ring traces, so in 2D they
travel as a small :class:`dash.Patch`: coordinates are sent once per projection.
"""

from __future__ import annotations

import html
from functools import cache
from typing import Any, NamedTuple

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from dash import Patch

from dashboard.plugin.figures import LegendEntry, colour_marker, hover_texts, typed

#: Trace slots of the figure.
POINTS, HIGHLIGHT, LINKED = 0, 1, 2


def marker_size(n: int) -> float:
    """Smaller points for bigger maps, so clusters stay readable."""
    return 7.0 if n < 2_000 else 5.0 if n < 20_000 else 3.0 if n < 200_000 else 2.0


class Ring(NamedTuple):
    """Rows to ring on the map, with the ring trace's legend name and colour."""

    rows: Any
    name: str
    colour: str = "#111"


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


def opacity_marker(opacity: float, keep: np.ndarray | None) -> Any:
    """``opacity`` for every point, or zero for the rows a filter hides (2D only: a hidden
    point keeps its place in the trace, so point numbers stay row numbers)."""
    if keep is None:
        return opacity
    return typed(np.where(keep, np.float32(opacity), np.float32(0)))


def ring_trace(coords: np.ndarray, ring: Ring | None, keep: np.ndarray | None) -> dict:
    """A trace of open circles around ``ring``'s rows (empty when there is no ring)."""
    n, dims = coords.shape
    rows = np.zeros(0, dtype=np.int64) if ring is None else np.asarray(ring.rows, dtype=np.int64)
    rows = rows[(rows >= 0) & (rows < n)]
    if keep is not None:
        rows = rows[keep[rows]]
    rows = rows[np.isfinite(coords[rows]).all(axis=1)]
    size = marker_size(n) * (2.2 if dims == 2 else 1.2)
    trace = {
        "type": "scatter3d" if dims == 3 else "scattergl",
        "mode": "markers",
        "name": ring.name if ring else "",
        "showlegend": bool(rows.size),
        "hoverinfo": "skip",
        # An open symbol draws its ring in `color`, `line.width` thick.
        "marker": {
            "size": size,
            "color": ring.colour if ring else "#111",
            "line": {"width": 2},
            "symbol": "circle-open",
        },
    }
    for axis, column in zip("xyz", coords[rows].T, strict=False):
        trace[axis] = typed(column)
    return trace


def build_figure(
    coords: np.ndarray,
    meta: pl.DataFrame,
    *,
    color: str | None,
    label: str | None,
    text: str | None,
    uirevision: str,
    title: str | None = None,
    rings: tuple[Ring | None, Ring | None] = (None, None),
    keep: np.ndarray | None = None,
    size_by: str | None = None,
    opacity: float = 0.85,
    selected: np.ndarray | None = None,
) -> tuple[dict[str, Any], list[LegendEntry]]:
    """Return the scatter figure of ``coords`` (n x 2 or n x 3) as a plotly dict, and the
    colour legend.

    Trace 0 holds every row in table order (a point number is a row number); rows without
    coordinates (outside an isolated subset) are NaN, which plotly leaves out. Traces 1 and 2
    ring ``rings`` = (highlight, linked selection): search matches, neighbours, rows
    selected on another map. ``keep`` (a row mask) hides filtered rows: transparent in 2D
    (see :func:`opacity_marker`), left out (NaN) in 3D. ``size_by`` names a numeric column
    that scales the points. ``selected`` rows are drawn (in 2D) as plotly draws a box
    selection, so a selection restored from a link looks like one made by hand.

    2D points carry no hover text: the panel's tooltip fetches the row's label, text and
    image, so the payload stays about 9 bytes a point. 3D (which has no tooltip position)
    sends each point's label and text.
    """
    n, dims = coords.shape
    size = marker_size(n) if dims == 2 else marker_size(n) * 0.5
    colouring, legend = colour_marker(meta, color, keep)
    marker = {**colouring, "size": size_marker(meta, size_by, size)}
    points: dict[str, Any] = {"type": "scattergl", "mode": "markers", "showlegend": False}
    if dims == 2:
        marker["opacity"] = opacity_marker(opacity, keep)
        points.update(x=typed(coords[:, 0]), y=typed(coords[:, 1]), hoverinfo="none")
        if selected is not None and len(selected):
            points["selectedpoints"] = np.asarray(selected, dtype=np.int64).tolist()
    else:
        marker["opacity"] = opacity
        shown = coords if keep is None else np.where(keep[:, None], coords, np.nan)
        hover = hover_texts(meta, label, text, None) if n else []
        points.update(
            type="scatter3d",
            x=typed(shown[:, 0]),
            y=typed(shown[:, 1]),
            z=typed(shown[:, 2]),
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
        )
    points["marker"] = marker
    traces = [points] + [ring_trace(coords, ring, keep) for ring in rings]
    axis = {"showticklabels": False, "title": None, "zeroline": False, "showgrid": True}
    layout: dict[str, Any] = {
        "template": _template(),
        "uirevision": uirevision,
        "margin": {"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        "title": {"text": title} if title else None,
        "legend": {"itemsizing": "constant", "x": 0, "y": 1, "bgcolor": "rgba(255,255,255,0.7)"},
        "showlegend": True,
        "hovermode": "closest",
        "dragmode": "pan" if dims == 2 else "orbit",
    }
    if dims == 2:
        layout["xaxis"] = axis
        layout["yaxis"] = {**axis, "scaleanchor": "x", "scaleratio": 1}
    else:
        blank = {**axis, "title": {"text": ""}}
        layout["scene"] = {"xaxis": blank, "yaxis": blank, "zaxis": blank, "aspectmode": "data"}
    return {"data": traces, "layout": layout}, legend


def restyle(
    coords: np.ndarray,
    meta: pl.DataFrame,
    *,
    color: str | None,
    rings: tuple[Ring | None, Ring | None] = (None, None),
    keep: np.ndarray | None = None,
    size_by: str | None = None,
    opacity: float = 0.85,
    selected: np.ndarray | None = None,
) -> tuple[Patch, list[LegendEntry]]:
    """A :class:`dash.Patch` that turns a 2D :func:`build_figure` figure of ``coords`` into
    the one these arguments would build, without resending the points' coordinates."""
    n = coords.shape[0]
    colouring, legend = colour_marker(meta, color, keep)
    patch = Patch()
    marker = patch["data"][POINTS]["marker"]
    for key, value in colouring.items():
        marker[key] = value
    marker["size"] = size_marker(meta, size_by, marker_size(n))
    marker["opacity"] = opacity_marker(opacity, keep)
    chosen = None if selected is None or not len(selected) else np.asarray(selected).tolist()
    patch["data"][POINTS]["selectedpoints"] = chosen
    for slot, ring in zip((HIGHLIGHT, LINKED), rings, strict=True):
        patch["data"][slot] = ring_trace(coords, ring, keep)
    return patch, legend


@cache
def _template() -> dict[str, Any]:
    return pio.templates["plotly_white"].to_plotly_json()


def message_figure(message: str) -> go.Figure:
    """An empty figure that says why there is no map."""
    fig = go.Figure()
    fig.update_layout(
        template="plotly_white",
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": html.escape(message),
                "showarrow": False,
                "font": {"size": 14},
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
            }
        ],
    )
    return fig
