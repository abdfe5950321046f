"""Build the scatter figure as plain dicts of typed arrays, and patches that restyle it.

The figure has fixed trace slots: the points (every table row in table order, so a point
number is a row number), then the highlight ring and the linked-selection ring. Colour, size,
opacity, filters and rings only change trace 0's marker and the ring traces, so in 2D they
travel as a small :class:`dash.Patch`: coordinates are sent once per projection.
"""

from __future__ import annotations

import base64
import html
from functools import cache
from typing import Any, NamedTuple

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from dash import Patch
from plotly.colors import qualitative

from dashboard.data import shorten

#: Integer columns with at most this many distinct values colour as categories.
MAX_INT_CATEGORIES = 24
#: Categories beyond this many (by frequency) are grouped as "(other)".
MAX_CATEGORIES = 30
OTHER = "(other)"
MISSING = "(missing)"
HOVER_TEXT_CHARS = 240
LEGEND_CHARS = 60
#: Trace slots of the figure.
POINTS, HIGHLIGHT, LINKED = 0, 1, 2


def is_categorical(series: pl.Series) -> bool:
    """True for strings, categoricals, booleans and integers with few distinct values."""
    dtype = series.dtype
    if isinstance(dtype, (pl.String, pl.Categorical, pl.Enum, pl.Boolean)):
        return True
    return bool(dtype.is_integer() and series.n_unique() <= MAX_INT_CATEGORIES)


def palette(n: int) -> list[str]:
    """Return ``n`` distinct colours: Plotly's 10, then Dark24, then Alphabet, cycling."""
    base = (
        qualitative.Plotly if n <= 10 else qualitative.Dark24 if n <= 24 else qualitative.Alphabet
    )
    return [base[i % len(base)] for i in range(n)]


def categories(series: pl.Series) -> tuple[list[str], np.ndarray]:
    """Return category names (natural order, rare ones folded into "(other)") and row codes."""
    counts = series.value_counts(sort=True)
    values = counts.get_column(series.name)
    keep = values.head(MAX_CATEGORIES - 1) if len(values) > MAX_CATEGORIES else values
    kept = keep.drop_nulls()
    kept = kept.sort() if kept.dtype.is_numeric() else kept.cast(pl.String).sort()
    # Shown in the legend: a very long value is cut (the codes still come from the full one).
    names = [shorten(str(v), LEGEND_CHARS) for v in kept.to_list()]
    lookup = {str(v): i for i, v in enumerate(kept.to_list())}
    codes = _codes(series.cast(pl.String), lookup)
    extra = []
    if (codes == -1).any():
        extra.append(OTHER)
        codes = np.where(codes == -1, len(names) + len(extra) - 1, codes)
    if (codes == -2).any():
        extra.append(MISSING)
        codes = np.where(codes == -2, len(names) + len(extra) - 1, codes)
    return names + extra, codes


def _codes(as_text: pl.Series, lookup: dict[str, int]) -> np.ndarray:
    # Vectorised: unknown values -> -1, nulls -> -2.
    mapped = as_text.replace_strict(lookup, default=-1, return_dtype=pl.Int32).to_numpy()
    return np.where(as_text.is_null().to_numpy(), -2, mapped).astype(np.int32)


def hover_texts(
    meta: pl.DataFrame, label: str | None, text: str | None, color: str | None
) -> list[str]:
    """Return one HTML-escaped hover string per row: label in bold, then colour value and text."""
    parts: list[pl.Expr] = []
    if label:
        parts.append(pl.lit("<b>") + _escaped(label) + pl.lit("</b>"))
    else:
        parts.append(pl.lit("<b>row ") + pl.int_range(pl.len()).cast(pl.String) + pl.lit("</b>"))
    if color and color not in (label, text):
        parts.append(pl.lit(f"<br>{html.escape(color)}: ") + _escaped(color))
    if text:
        parts.append(pl.lit("<br>") + _escaped(text, HOVER_TEXT_CHARS))
    return meta.select(pl.concat_str(parts).alias("hover")).get_column("hover").to_list()


def _escaped(column: str, limit: int | None = None) -> pl.Expr:
    expr = pl.col(column).cast(pl.String).fill_null("")
    if limit:
        expr = (
            pl.when(expr.str.len_chars() > limit)
            .then(expr.str.slice(0, limit) + pl.lit("…"))
            .otherwise(expr)
        )
    # Labels are data, never markup: escape what plotly's hover would render.
    for raw, safe in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        expr = expr.str.replace_all(raw, safe, literal=True)
    return expr


def marker_size(n: int) -> float:
    """Smaller points for bigger maps, so clusters stay readable."""
    return 7.0 if n < 2_000 else 5.0 if n < 20_000 else 3.0 if n < 200_000 else 2.0


class Ring(NamedTuple):
    """Rows to ring on the map, with the ring trace's legend name and colour."""

    rows: Any
    name: str
    colour: str = "#111"


class LegendEntry(NamedTuple):
    """One category of the colour column: its name, colour and visible row count."""

    name: str
    colour: str
    count: int


def typed(values: np.ndarray) -> dict[str, str] | list:
    """``values`` as plotly.js's typed-array spec: base64 bytes, never a list of numbers."""
    values = np.ascontiguousarray(values)
    if not values.size:
        return []
    return {"dtype": _SHORT_TYPES[values.dtype.name], "bdata": base64.b64encode(values).decode()}


_SHORT_TYPES = {
    "int8": "i1",
    "uint8": "u1",
    "int16": "i2",
    "uint16": "u2",
    "int32": "i4",
    "uint32": "u4",
    "float32": "f4",
    "float64": "f8",
}


def colour_marker(
    meta: pl.DataFrame, color: str | None, keep: np.ndarray | None = None
) -> tuple[dict[str, Any], list]:
    """The points' marker colouring by ``color`` and its legend (categories only), which
    counts the rows ``keep`` (a row mask) leaves; colours come from the whole column.

    Categories travel as one byte per row with a stepped colour scale, numbers as float32
    with Viridis: one trace holds every row, so a new colour never resends coordinates.
    """
    series = meta.get_column(color) if color else None
    if series is None:
        plain = {"color": qualitative.Plotly[0], "showscale": False, "colorscale": None}
        return plain, []
    if is_categorical(series):
        names, codes = categories(series)
        colours = palette(len(names))
        steps = []
        for i, colour in enumerate(colours):
            steps += [[i / len(colours), colour], [(i + 1) / len(colours), colour]]
        marker = {
            "color": typed(codes.astype(np.uint8)),
            "colorscale": steps,
            "cmin": -0.5,
            "cmax": len(names) - 0.5,
            "showscale": False,
        }
        counts = np.bincount(codes if keep is None else codes[keep], minlength=len(names))
        legend = [LegendEntry(n, c, int(k)) for n, c, k in zip(names, colours, counts, strict=True)]
        return marker, legend
    values = series.cast(pl.Float64).to_numpy().astype(np.float32)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    marker = {
        "color": typed(values),
        "colorscale": "Viridis",
        "cmin": low,
        "cmax": high if high > low else low + 1,
        "showscale": True,
        "colorbar": {"title": {"text": color}, "thickness": 12},
    }
    return marker, []


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
