"""Degenerate input, caught before any reducer sees it.

Native reducer code does not check its input: t-SNE (scikit-learn's and openTSNE's) ends the
whole process with a segmentation fault on identical vectors or on vectors whose values are
all below about 1e-30, and eigen-solvers fail on values near float32's limit. A map of such
rows cannot show anything, and rows on a tiny or huge scale show the same map as rows on a
normal one, so this module refuses the first with a message and rescales the second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.errors import ReducerError

#: Typical spread per column outside which the rows are rescaled (distances stay in
#: the range native code computes without underflow or overflow).
SMALLEST_SPREAD = 1e-6
LARGEST_SPREAD = 1e6


@dataclass(frozen=True)
class FitInput:
    """Rows ready for a reducer: ``X`` (float32), and ``scale``, the factor applied to them
    (apply it to any later rows placed on the same map)."""

    X: np.ndarray
    scale: float


def checked_for_fit(X: np.ndarray, dims: int, what: str) -> FitInput:
    """``X`` rescaled when its spread is tiny or huge.

    Parameters
    ----------
    X
        The rows to fit, one vector per row.
    dims
        The map's dimensions (2 or 3).
    what
        The rows, as the message names them (e.g. ``"the 20 isolated rows of 'digits'"``).

    Raises
    ------
    ReducerError
        When every vector is the same, or there are fewer different vectors than a map of
        ``dims`` dimensions needs.
    """
    n = X.shape[0]
    needed = dims + 2
    if n < needed:
        return FitInput(X, 1.0)  # too few rows: each reducer's own check says how many
    with np.errstate(invalid="ignore", over="ignore"):
        spread = X.std(axis=0, dtype=np.float64)
        typical = float(np.sqrt(np.mean(spread**2)))
    if not np.isfinite(typical):
        return FitInput(X, 1.0)  # NaN or infinite values: the reducer's own check names them
    if typical == 0:
        raise ReducerError(
            f"{what}: all {n:,} vectors are the same: a map of them would be one point\n"
            "check the embedding column, or choose rows with different vectors"
        )
    distinct = _distinct_rows(X, needed)
    if distinct < needed:
        raise ReducerError(
            f"{what}: only {distinct} different vectors among {n:,} rows: a {dims}D map needs "
            f"at least {needed}\n"
            "add rows, or choose rows with different vectors"
        )
    if SMALLEST_SPREAD <= typical <= LARGEST_SPREAD:
        return FitInput(X, 1.0)
    scale = 1.0 / typical
    return FitInput((X.astype(np.float64) * scale).astype(np.float32), scale)


def _distinct_rows(X: np.ndarray, enough: int) -> int:
    """How many different rows ``X`` has, counted up to ``enough`` (exact: rows that agree
    on a random projection are compared in full)."""
    direction = np.random.default_rng(0).normal(size=X.shape[1])
    keys = X.astype(np.float64) @ direction
    _, first = np.unique(keys, return_index=True)
    if len(first) >= enough:
        return len(first)
    # Few keys: compare those rows exactly (a projection can merge different rows).
    return len(np.unique(X, axis=0)[:enough])
