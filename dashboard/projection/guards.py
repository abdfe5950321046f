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

from dashboard.data.matrix_file import gather_rows, row_blocks
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
    typical = _typical_spread(X if n <= SAMPLE_ROWS else gather_rows(X, _sample(n)))
    if typical == 0 and n > SAMPLE_ROWS:
        typical = _typical_spread(X)  # the sample's rows were all the same: ask every row
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


#: Rows the spread is measured on: it only decides between orders of magnitude, and the
#: whole of a 1M x 768 table took 7 s and a 6 GB float64 copy.
SAMPLE_ROWS = 20_000
#: Rows a block when every row is measured.
BLOCK_ROWS = 16_384


def _sample(n: int) -> np.ndarray:
    return np.sort(np.random.default_rng(0).choice(n, SAMPLE_ROWS, replace=False))


def _typical_spread(X: np.ndarray) -> float:
    """The root mean square of the columns' standard deviations, a block of rows at a time
    (NaN when a value is not finite)."""
    n = X.shape[0]
    with np.errstate(invalid="ignore", over="ignore"):
        total = np.zeros(X.shape[1])
        for _, rows in row_blocks(X, BLOCK_ROWS):
            total += rows.sum(axis=0, dtype=np.float64)
        mean = total / n
        squares = np.zeros(X.shape[1])
        for _, rows in row_blocks(X, BLOCK_ROWS):
            centred = rows.astype(np.float64) - mean
            squares += np.einsum("ij,ij->j", centred, centred)
        return float(np.sqrt(np.mean(squares / n)))


def _distinct_rows(X: np.ndarray, enough: int) -> int:
    """How many different rows ``X`` has, counted up to ``enough`` (exact: rows that agree
    on a random projection are compared in full)."""
    direction = np.random.default_rng(0).normal(size=X.shape[1])
    keys: set[float] = set()
    # A block at a time, stopping once there are enough (a float64 copy of a whole 1M x 768
    # table took 6 s and 6 GB; the first block nearly always has them).
    for _, rows in row_blocks(X, BLOCK_ROWS):
        keys.update(np.unique(rows.astype(np.float64) @ direction))
        if len(keys) >= enough:
            return len(keys)
    # Few keys: compare those rows exactly (a projection can merge different rows).
    return len(np.unique(X, axis=0)[:enough])
