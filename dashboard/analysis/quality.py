"""Does the map lie? Neighbourhood measures of a projection against the original space.

- trustworthiness: are the map's near neighbours also near in the original space (no false
  neighbours)? 1 is perfect, about 0.5 is chance.
- continuity: are the original near neighbours still near on the map (no torn
  neighbourhoods)? It is trustworthiness with the two spaces swapped.
- neighbour recall: per point, the share of its k original-space neighbours that are among its
  k nearest on the map.

All three compare every pair of the rows they use, so a seeded sample of rows keeps them fast
on big tables (a sample's neighbours are its own: the measures describe the map at that
density).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dashboard.analysis.knn import nearest
from dashboard.data.matrix_file import gather_rows
from dashboard.data.sampling import sample_rows


@dataclass(frozen=True)
class Faithfulness:
    """The measures of one projection, at ``k`` neighbours, over ``rows`` sampled rows."""

    k: int
    rows: int
    of: int
    trustworthiness: float
    continuity: float
    recall: float


def rows_on_map(Y: np.ndarray, max_rows: int, seed: int = 0) -> np.ndarray:
    """The rows of map ``Y`` that have coordinates: all, or a seeded sample of ``max_rows``."""
    return sample_rows(np.flatnonzero(np.isfinite(Y).all(axis=1)), max_rows, seed=seed)


def recall_per_row(
    X: np.ndarray, Y: np.ndarray, k: int = 10, *, max_rows: int = 20_000, seed: int = 0
) -> tuple[np.ndarray, int]:
    """Neighbour recall of every row of map ``Y`` of ``X`` (float32, NaN for rows not on the
    map or not sampled), and how many rows were measured: all on the map, or a seeded
    sample of ``max_rows`` of them, whose neighbours are then sought among the sample."""
    recall = np.full(len(Y), np.nan, dtype=np.float32)
    rows = rows_on_map(Y, max_rows, seed)
    if len(rows) <= k:
        return recall, 0
    recall[rows] = overlap(nearest(X[rows], k), nearest(Y[rows], k))
    return recall, len(rows)


def overlap(original: np.ndarray, mapped: np.ndarray) -> np.ndarray:
    """Per row, the share of the indices in ``original`` that are also in ``mapped``."""
    hits = (original[:, :, None] == mapped[:, None, :]).any(axis=2).sum(axis=1)
    return hits / original.shape[1]


def neighbour_recall(X: np.ndarray, Y: np.ndarray, k: int) -> np.ndarray:
    """Per row: the share of its ``k`` nearest rows in ``X`` that are among its ``k`` nearest
    in ``Y`` (1: the map keeps the neighbourhood, 0: none of it)."""
    return overlap(nearest(X, k), nearest(Y, k))


def measure(
    X: np.ndarray, Y: np.ndarray, k: int = 10, *, max_rows: int = 2000, seed: int = 0
) -> Faithfulness:
    """Trustworthiness, continuity and mean neighbour recall of map ``Y`` of ``X``.

    Rows of ``Y`` with NaN (not on the map) are left out; at most ``max_rows`` of the rest,
    drawn with ``seed``, are used.

    Raises
    ------
    ValueError
        When fewer than ``2 * k + 2`` rows are on the map (sklearn needs ``k < n / 2``).
    """
    on_map = np.flatnonzero(np.isfinite(Y).all(axis=1))
    if len(on_map) < 2 * k + 2:
        raise ValueError(
            f"measuring {k} neighbours needs at least {2 * k + 2} rows on the map, "
            f"got {len(on_map)}"
        )
    from sklearn.manifold import trustworthiness  # lazy: sklearn.manifold imports scipy's

    rows = sample_rows(on_map, max_rows, seed=seed)
    # gather_rows: a matrix mapped from a file bigger than memory is read a stretch at a time.
    Xs = np.asarray(gather_rows(X, rows), dtype=np.float64)
    Ys = np.asarray(Y[rows], dtype=np.float64)
    return Faithfulness(
        k=k,
        rows=len(rows),
        of=len(on_map),
        trustworthiness=float(trustworthiness(Xs, Ys, n_neighbors=k)),
        continuity=float(trustworthiness(Ys, Xs, n_neighbors=k)),
        recall=float(neighbour_recall(Xs, Ys, k).mean()),
    )


#: Neighbours the per-point recall colour looks at.
RECALL_K = 10
