"""Build the scatter figure: Scattergl (2D) or Scatter3d (3D), coloured by any column."""

from __future__ import annotations

import html
from typing import Any, NamedTuple

import numpy as np
import plotly.graph_objects as go
import polars as pl
from plotly.colors import qualitative

#: Integer columns with at most this many distinct values colour as categories.
MAX_INT_CATEGORIES = 24
#: Categories beyond this many (by frequency) are grouped as "(other)".
MAX_CATEGORIES = 30
OTHER = "(other)"
MISSING = "(missing)"
HOVER_TEXT_CHARS = 240


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
    names = [str(v) for v in kept.to_list()]
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


class Group(NamedTuple):
    """One trace: its name, its table rows, and its colour (None when not by category)."""

    name: str
    rows: np.ndarray
    colour: str | None


def trace_groups(
    meta: pl.DataFrame, color: str | None, visible: np.ndarray | None = None
) -> list[Group]:
    """The figure's traces: one per category, else one for all rows.

    The same grouping maps a hovered or selected (trace, point) back to its table row.
    ``visible`` (sorted row numbers) keeps only those rows; categories and their colours
    come from the whole column, so filtering never recolours what stays.
    """
    rows = np.arange(meta.height) if visible is None else np.asarray(visible, dtype=np.int64)
    series = meta.get_column(color) if color else None
    if series is None or not is_categorical(series):
        return [Group(color or "points", rows, None)]
    names, codes = categories(series)
    shown = codes[rows]
    colours = palette(len(names))
    groups = [Group(name, rows[shown == code], colours[code]) for code, name in enumerate(names)]
    return [g for g in groups if g.rows.size]


def build_figure(
    coords: np.ndarray,
    meta: pl.DataFrame,
    *,
    color: str | None,
    label: str | None,
    text: str | None,
    uirevision: str,
    title: str | None = None,
    rings: list[Ring] | None = None,
    visible: np.ndarray | None = None,
    size_by: str | None = None,
    opacity: float = 0.85,
    selected: np.ndarray | None = None,
) -> go.Figure:
    """Return the scatter figure of ``coords`` (n x 2 or n x 3), one trace per category.

    ``rings`` (search matches, neighbours, a linked selection) are drawn over their rows,
    each as a trace after the points that takes no hover, so hovered trace numbers still
    map to rows. ``visible``
    limits the map to those rows (filters, an isolated subset). ``size_by`` names a numeric
    column that scales the points (smallest value 0.5x, largest 2.5x the usual size).
    ``selected`` rows are drawn (in 2D) as plotly draws a box selection (the rest dimmed), so
    a selection restored from a link looks like one made by hand.
    """
    n, dims = coords.shape
    hover = np.array(hover_texts(meta, label, text, color), dtype=object) if n else np.array([])
    size = marker_size(n) if dims == 2 else marker_size(n) * 0.5
    sizes = None
    if size_by:
        values = meta.get_column(size_by).cast(pl.Float64).to_numpy()
        finite = np.isfinite(values)
        low, high = (values[finite].min(), values[finite].max()) if finite.any() else (0, 0)
        scaled = (values - low) / (high - low) if high > low else np.full(n, 0.5)
        sizes = (size * (0.5 + 2.0 * np.nan_to_num(scaled, nan=0.0))).astype(np.float32)
    series = meta.get_column(color) if color else None
    groups = trace_groups(meta, color, visible)
    categorical = series is not None and is_categorical(series)

    def trace(rows: np.ndarray, name: str, marker: dict[str, Any]) -> Any:
        xyz = coords[rows]
        common = dict(
            mode="markers",
            name=name,
            hovertext=hover[rows].tolist(),
            hovertemplate="%{hovertext}<extra></extra>",
            showlegend=categorical,
            marker={
                "size": size if sizes is None else sizes[rows],
                "opacity": opacity,
                **marker,
            },
        )
        if dims == 3:
            return go.Scatter3d(x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], **common)
        return go.Scattergl(x=xyz[:, 0], y=xyz[:, 1], **common)

    if selected is not None and len(selected) and dims == 2:  # 3D traces have no selection
        chosen = np.asarray(selected, dtype=np.int64)
        picks = [np.flatnonzero(np.isin(g.rows, chosen)) for g in groups]
    else:
        picks = None
    if series is None:
        traces = [trace(groups[0].rows, "points", {"color": qualitative.Plotly[0]})]
    elif categorical:
        traces = [trace(g.rows, g.name, {"color": g.colour}) for g in groups]
    else:
        values = series.cast(pl.Float64).to_numpy().astype(np.float32)
        marker = {
            "color": values[groups[0].rows],
            "colorscale": "Viridis",
            "showscale": True,
            "colorbar": {"title": {"text": color}, "thickness": 12},
        }
        traces = [trace(groups[0].rows, str(color), marker)]
    if picks is not None:
        for scatter_trace, pick in zip(traces, picks, strict=True):
            scatter_trace.selectedpoints = pick.tolist()
    for ring in rings or []:
        rows = np.asarray(ring.rows, dtype=np.int64)
        rows = rows[(rows >= 0) & (rows < n)]
        if visible is not None:
            rows = rows[np.isin(rows, visible)]
        if not rows.size:
            continue
        xyz = coords[rows]
        # An open symbol draws its ring in `color`, `line.width` thick.
        marker = {
            "size": size * 2.2 if dims == 2 else size * 2.4,
            "color": ring.colour,
            "line": {"width": 2},
            "symbol": "circle-open",
        }
        common = dict(mode="markers", name=ring.name, hoverinfo="skip", marker=marker)
        traces.append(
            go.Scatter3d(x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], **common)
            if dims == 3
            else go.Scattergl(x=xyz[:, 0], y=xyz[:, 1], **common)
        )
    fig = go.Figure(traces)
    axis = {"showticklabels": False, "title": None, "zeroline": False, "showgrid": True}
    fig.update_layout(
        template="plotly_white",
        uirevision=uirevision,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        title={"text": title} if title else None,
        legend={"title": {"text": color or ""}, "itemsizing": "constant"},
        hovermode="closest",
        dragmode="pan" if dims == 2 else "orbit",
    )
    if dims == 2:
        fig.update_xaxes(**axis)
        fig.update_yaxes(**axis, scaleanchor="x", scaleratio=1)
    else:
        fig.update_scenes(
            xaxis={**axis, "title": {"text": ""}},
            yaxis={**axis, "title": {"text": ""}},
            zaxis={**axis, "title": {"text": ""}},
            aspectmode="data",
        )
    return fig


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
