"""Metadata filters: which rows stay on the map.

A filter store value is ``{"table": name, "filters": {column: spec}}`` where a spec is
``{"in": [values]}`` (categories, compared as text; ``"(missing)"`` matches nulls) or
``{"range": [low, high]}`` (numbers, inclusive; a None bound is open).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from dashboard.errors import DataError, quote_list

MISSING = "(missing)"


def filter_mask(meta: pl.DataFrame, filters: Mapping[str, Mapping[str, Any]] | None) -> np.ndarray:
    """Boolean mask of the rows every filter keeps.

    Raises
    ------
    DataError
        For an unknown column, an unknown kind of filter, or a range on a non-number column.
    """
    keep = np.ones(meta.height, dtype=bool)
    for column, spec in (filters or {}).items():
        if column not in meta.columns:
            raise DataError(
                f"cannot filter on unknown column {column!r}\n"
                f"allowed values: {quote_list(c for c in meta.columns if not c.startswith('__'))}"
            )
        series = meta.get_column(column)
        if "in" in spec:
            values = [str(v) for v in spec["in"]]
            hit = series.cast(pl.String).is_in(values).fill_null(MISSING in values)
        elif "range" in spec:
            if not series.dtype.is_numeric():
                raise DataError(
                    f"column {column!r} holds {series.dtype}, not numbers: it has no range\n"
                    "filter it by values instead"
                )
            low, high = spec["range"]
            low = -math.inf if low is None else float(low)
            high = math.inf if high is None else float(high)
            hit = series.cast(pl.Float64).is_between(low, high).fill_null(False)
        else:
            raise DataError(f"filter on {column!r} must have `in` or `range`, got {dict(spec)!r}")
        keep &= hit.to_numpy()
    return keep
