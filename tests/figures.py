"""Read the scatter's figure dicts back in tests: typed arrays, points shown, rings."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

DTYPES = {"i1": "int8", "u1": "uint8", "i2": "int16", "u2": "uint16", "i4": "int32"}
DTYPES |= {"u4": "uint32", "f4": "float32", "f8": "float64"}


def decode(value: Any) -> Any:
    """A typed-array spec as a numpy array; anything else as it is."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=DTYPES[value["dtype"]])
    if isinstance(value, list):
        return np.asarray(value)
    return value


def shown_rows(figure: dict) -> np.ndarray:
    """Rows the points trace draws: with coordinates, and not hidden by a zero opacity."""
    points = figure["data"][0]
    axes = "xyz" if points["type"] == "scatter3d" else "xy"
    finite = np.all([np.isfinite(decode(points[a])) for a in axes], axis=0)
    opacity = decode(points["marker"]["opacity"])
    if isinstance(opacity, np.ndarray):
        finite &= opacity > 0
    return np.flatnonzero(finite)


def shown(figure: dict) -> int:
    """How many points the map draws."""
    return len(shown_rows(figure))
