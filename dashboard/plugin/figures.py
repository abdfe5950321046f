"""Figure pieces every map-like panel needs: colours by category or value with a legend,
escaped hover text, and arrays sent to plotly.js as typed binary (never lists of numbers).

The scatter and timeline panels draw with these; a plugin's own map can too.
"""

from __future__ import annotations

import base64
import html as html_text
from typing import Any, NamedTuple

import numpy as np
import polars as pl
from plotly.colors import qualitative

from dashboard.analysis.structure import NOISE, NOT_MEASURED
from dashboard.data.dataset import shorten

#: Integer columns with at most this many distinct values colour as categories.
MAX_INT_CATEGORIES = 24
#: Categories beyond this many (by frequency) are grouped as "(other)".
MAX_CATEGORIES = 30
OTHER = "(other)"
MISSING = "(missing)"
#: Plotly's ``config`` for the maps: no modebar button that sends data off the machine
#: (plotly's cloud and Chart Studio links), scroll to zoom.
GRAPH_CONFIG = {
    "displaylogo": False,
    "scrollZoom": True,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "modeBarButtonsToRemove": ["sendDataToCloud", "editInChartStudio"],
}
#: Categories that are not one: greys instead of palette colours.
GREYS = {
    OTHER: "#8c8c8c",
    MISSING: "#b3b3b3",
    NOISE: "#a6a6a6",
    NOT_MEASURED: "#d0d0d0",
}
HOVER_TEXT_CHARS = 240
LEGEND_CHARS = 60


def is_literal_colours(series: pl.Series) -> bool:
    """True for a text column holding a ``#rrggbb`` colour in every row."""
    if not isinstance(series.dtype, pl.String) or series.null_count() or not len(series):
        return False
    return bool(series.str.contains(r"^#[0-9A-Fa-f]{6}$").all())


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
        parts.append(pl.lit(f"<br>{html_text.escape(color)}: ") + _escaped(color))
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


def untyped(spec: Any) -> np.ndarray:
    """The array a :func:`typed` spec holds (an empty list: an empty array)."""
    if isinstance(spec, dict) and "bdata" in spec:
        dtype = next(k for k, v in _SHORT_TYPES.items() if v == spec["dtype"])
        return np.frombuffer(base64.b64decode(spec["bdata"]), dtype=dtype)
    return np.asarray(spec if spec else [], dtype=np.float64)


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
    if is_literal_colours(series):
        # Colours logged with the points (an `Object3D`'s RGB): drawn as they are.
        return {"color": series.to_list(), "showscale": False, "colorscale": None}, []
    if is_categorical(series):
        names, codes = categories(series)
        colours = palette(len(names))
        # Rows in no category read as grey, not as one more colour among the others.
        colours = [GREYS.get(name, colour) for name, colour in zip(names, colours, strict=True)]
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


def legend_children(
    entries: list[LegendEntry],
    colour: str | None,
    *,
    map_index: int | None = None,
    hidden: set[str] | frozenset[str] = frozenset(),
) -> list[Any]:
    """The colour legend: a swatch, name and shown row count per category. With
    ``map_index``, each item toggles its category on that map when clicked (a double click
    shows it alone); ``hidden`` categories are struck through."""
    if not entries:
        return []
    from dash import html

    items: list[Any] = [html.Span(colour, className="fw-semibold")]
    for entry in entries:
        if not entry.count and entry.name not in hidden:  # a category a filter hid entirely
            continue
        swatch = html.Span(
            className="d-inline-block rounded-circle me-1",
            style={"width": "0.7rem", "height": "0.7rem", "background": entry.colour},
        )
        count = html.Span(f" {entry.count:,}", className="text-body-tertiary")
        attributes = {}
        if map_index is not None:
            attributes = {
                "data-dashboard-map": str(map_index),
                "data-dashboard-category": entry.name,
                "role": "button",
            }
        off = entry.name in hidden
        items.append(
            html.Span(
                [swatch, entry.name, count],
                className="dashboard-legend-item text-nowrap"
                + (" dashboard-hidden" if off else ""),
                title=f"{colour} = {entry.name}: {entry.count:,} rows"
                + (
                    " (hidden: click to show)"
                    if off
                    else " (click to hide, double-click to show it alone)"
                    if map_index is not None
                    else ""
                ),
                **attributes,
            )
        )
    return items
