"""The scatter panel's HTML beside the map: the hover tooltip and the notice above it."""

from __future__ import annotations

from typing import Any

import numpy as np
from dash import html

from dashboard.plugin import Dataset, Projection
from dashboard.plugin.figures import HOVER_TEXT_CHARS


def tooltip(
    dataset: Dataset,
    row: int,
    colour: str | None,
    image_src: str | None,
    extra: tuple[str, str] | None = None,
) -> Any:
    """The hover tooltip of ``row``: its caption in bold, colour value (or the ``extra``
    name and value of a computed colour), text, and its image from ``image_src`` (None: the
    table has no images)."""
    caption = dataset.caption(row)
    lines: list[Any] = [html.Strong(caption)]
    meta = dataset.metadata()
    config = dataset.config
    if colour in meta.columns and colour not in (config.label, config.text):
        lines.append(html.Div(f"{colour}: {meta.get_column(colour)[row]}"))
    if extra:
        lines.append(html.Div(f"{extra[0]}: {extra[1]}"))
    if config.text and meta.get_column(config.text)[row] is not None:
        text = str(meta.get_column(config.text)[row])
        limit = HOVER_TEXT_CHARS
        lines.append(html.Div(text if len(text) <= limit else text[:limit] + "…"))
    children: list[Any] = []
    if image_src:
        children.append(
            html.Img(
                src=image_src,
                alt=caption,
                className="dashboard-hover-image mx-auto",
                style={"width": "96px", "imageRendering": "pixelated", "display": "block"},
            )
        )
    children.append(html.Figcaption(lines, className="small"))
    return html.Figure(
        children,
        className="m-0 text-center dashboard-tooltip",
        style={"maxWidth": "16rem", "whiteSpace": "normal"},
    )


def notice(projection: Projection, shown: np.ndarray | None, n: int) -> Any:
    """Lines above the map: how it was sampled, and how many of its ``n`` rows it shows
    (``shown``, a row mask after filters or of an isolated subset; None: all)."""
    lines = []
    sampled = projection.notice()
    if sampled:
        lines.append(html.Div(sampled, className="dashboard-sampled"))
    if shown is not None:
        count = int(shown.sum())
        sample = projection.sample
        if sample is None or sample.placed or count != sample.fitted:
            lines.append(html.Div(f"showing {count:,} of {n:,} rows", className="dashboard-shown"))
    if not lines:
        return None
    return html.Div(lines, className="small text-body-secondary px-2")
