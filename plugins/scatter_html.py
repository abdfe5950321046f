"""The scatter panel's HTML above the map: the notice of what it shows."""

from __future__ import annotations

from typing import Any

import numpy as np
from dash import html

from dashboard.plugin import Projection


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
