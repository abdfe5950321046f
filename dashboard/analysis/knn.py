"""Exact nearest neighbours by brute force: the one k-NN of the dashboard.

Every neighbour question (a clicked point's neighbours in the original space or on the map,
each row's neighbours for the faithfulness measures, outlier scores, model comparison) goes
through the two functions here:

- :func:`nearest_to`: one row's ``k`` nearest, from one matrix-vector product and a partial
  sort (100k x 768 float32: about 77M multiply-adds, tens of milliseconds on two cores).
- :func:`distance_blocks`: every row's squared euclidean distances to all rows, a block of
  rows at a time (memory ``block`` x n instead of n x n), for all-rows questions: one loop,
  :func:`knn_graph`, which :func:`nearest` and :func:`mean_knn_distance` read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np

from dashboard.data.matrix_file import gather_rows, row_blocks
from dashboard.errors import DataError

Metric = Literal["cosine", "euclidean"]
METRICS: tuple[Metric, ...] = ("cosine", "euclidean")
#: Rows per block of :func:`distance_blocks`.
BLOCK = 2048
#: Bytes of distances :func:`knn_graph` holds at once when not told a block size.
BLOCK_BYTES = 2**27


def nearest_to(
    X: np.ndarray,
    row: int,
    k: int,
    metric: Metric = "euclidean",
    *,
    sq_norms: np.ndarray | None = None,
    inv_norms: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of ``X`` nearest to row ``row`` (itself excluded) and their distances,
    nearest first, ties broken by row number. Rows with NaN (not on a map) are never
    neighbours; fewer than ``k`` come back when fewer rows remain.

    ``sq_norms`` (squared row norms) and ``inv_norms`` (1 / norm, 0 for a zero row) may be
    given when the caller keeps them (:class:`NeighborIndex`).
    """
    X = np.asarray(X)
    n = X.shape[0]
    dots = X @ X[row]
    if metric == "cosine":
        if inv_norms is None:
            inv_norms = _inverse_norms(X)
        distances = 1.0 - dots * inv_norms * inv_norms[row]
    else:
        if sq_norms is None:
            sq_norms = np.einsum("ij,ij->i", X, X)
        distances = np.sqrt(np.maximum(sq_norms - 2.0 * dots + sq_norms[row], 0.0))
    distances = np.where(np.isfinite(distances), distances, np.inf)
    distances[row] = np.inf  # never its own neighbour
    k = min(k, int(np.isfinite(distances).sum()))
    if k <= 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    found = np.argpartition(distances, k - 1)[:k] if k < n else np.arange(n)
    found = found[np.lexsort((found, distances[found]))][:k]
    return found.astype(np.int64), distances[found].astype(np.float32)


def pair_distances(A: np.ndarray, B: np.ndarray, metric: Metric) -> np.ndarray:
    """(len(A), len(B)) distances between the rows of ``A`` and of ``B`` (float64; NaN
    rows give inf), as :func:`nearest_to` measures them."""
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    dots = A @ B.T
    if metric == "cosine":
        out = 1.0 - dots * _inverse_norms(A)[:, None] * _inverse_norms(B)[None, :]
    else:
        squared = np.einsum("ij,ij->i", A, A)[:, None] + np.einsum("ij,ij->i", B, B)[None, :]
        out = np.sqrt(np.maximum(squared - 2.0 * dots, 0.0))
    return np.where(np.isfinite(out), out, np.inf)


def nearest_to_rows(
    X: np.ndarray, rows: np.ndarray, k: int, metric: Metric = "euclidean"
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of ``X`` nearest to each of ``rows`` (each excluded from its own),
    nearest first: exact, a block of ``X`` at a time, so a matrix mapped from a file bigger
    than memory is read once and never held whole.

    Returns
    -------
    indices, distances
        (len(rows), k) int64 and float32; a query with fewer than ``k`` candidates is padded
        with -1 and inf.
    """
    rows = np.asarray(rows, dtype=np.int64)
    queries = gather_rows(X, rows)
    best_rows = np.full((len(rows), 0), -1, dtype=np.int64)
    best = np.zeros((len(rows), 0))
    for start, block in row_blocks(X):
        distances = pair_distances(queries, block, metric)
        own = (rows >= start) & (rows < start + len(block))
        distances[np.flatnonzero(own), rows[own] - start] = np.inf  # never its own neighbour
        candidates = np.concatenate(
            [best_rows, np.arange(start, start + len(block))[None, :].repeat(len(rows), axis=0)],
            axis=1,
        )
        pooled = np.concatenate([best, distances], axis=1)
        keep = min(k, pooled.shape[1])
        top = np.argpartition(pooled, keep - 1, axis=1)[:, :keep]
        best_rows = np.take_along_axis(candidates, top, axis=1)
        best = np.take_along_axis(pooled, top, axis=1)
    order = np.lexsort((best_rows, best), axis=1) if best.size else best_rows
    best_rows = np.take_along_axis(best_rows, order, axis=1)
    best = np.take_along_axis(best, order, axis=1)
    best_rows[~np.isfinite(best)] = -1
    return best_rows, best.astype(np.float32)


def _inverse_norms(X: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    # A zero vector has no direction: its cosine distance to anything is 1.
    return np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)


class NeighborIndex:
    """k-NN queries over a fixed matrix (the original embedding); row norms computed once.

    Parameters
    ----------
    matrix
        (n, d) float32 embedding.
    """

    def __init__(self, matrix: np.ndarray):
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.sq_norms = np.einsum("ij,ij->i", self.matrix, self.matrix)
        self.inv_norms = _inverse_norms(self.matrix)

    def query(self, row: int, k: int, metric: Metric = "cosine") -> tuple[np.ndarray, np.ndarray]:
        """Return the ``k`` nearest rows to row ``row`` (itself excluded) and their distances,
        nearest first.

        Raises
        ------
        DataError
            For an unknown metric, a row out of range, or k < 1.
        """
        check_query(self.matrix.shape[0], row, k, metric)
        return nearest_to(
            self.matrix, row, k, metric, sq_norms=self.sq_norms, inv_norms=self.inv_norms
        )


def check_query(n: int, row: int, k: int, metric: str) -> None:
    """Refuse a neighbour query of ``row`` (of ``n`` rows) for ``k`` rows by ``metric``.

    Raises
    ------
    DataError
        For an unknown metric, a row out of range, or k < 1.
    """
    if metric not in METRICS:
        raise DataError(f"`metric` must be one of {METRICS}, got {metric!r}")
    if not 0 <= row < n:
        raise DataError(f"row {row} is out of range: the table has {n} rows")
    if k < 1:
        raise DataError(f"`k` must be at least 1, got {k}")


def map_neighbours(coords: np.ndarray, row: int, k: int) -> np.ndarray:
    """The ``k`` rows nearest to ``row`` on the map ``coords`` (rows without coordinates
    are not on it), nearest first."""
    return nearest_to(np.asarray(coords, dtype=np.float64), row, k)[0]


def distance_blocks(X: np.ndarray, block: int = BLOCK) -> Iterator[tuple[slice, np.ndarray]]:
    """Squared euclidean distances of ``X``'s rows to all rows, ``block`` rows at a time; a
    row's distance to itself is inf."""
    X = np.asarray(X, dtype=np.float32)
    squared = (X * X).sum(axis=1)
    for start in range(0, len(X), block):
        rows = slice(start, start + block)
        distances = squared[rows, None] + squared[None, :] - 2.0 * (X[rows] @ X.T)
        size = distances.shape[0]
        distances[np.arange(size), np.arange(start, start + size)] = np.inf
        yield rows, distances


def knn_graph(
    X: np.ndarray, k: int, metric: Metric = "euclidean", *, block: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest other rows, nearest first, and their distances: the exact
    neighbour graph (t-SNE's affinities start from it; :func:`nearest` and
    :func:`mean_knn_distance` read it).

    Parameters
    ----------
    X
        (n, d) vectors.
    k
        Neighbours a row (below n).
    metric
        ``euclidean``, or ``cosine`` (1 - cosine similarity; a zero row is at 1 from all).
    block
        Rows a block of distances; default: as many as keep a block near
        :data:`BLOCK_BYTES`, at most :data:`BLOCK`.

    Returns
    -------
    indices, distances
        (n, k) int64 and (n, k) float32.
    """
    X = np.asarray(X, dtype=np.float32)
    if metric == "euclidean" and X.shape[1] <= TREE_DIMS and k < len(X) and np.isfinite(X).all():
        return _tree_knn_graph(X, k)
    if metric == "cosine":
        X = X * _inverse_norms(X)[:, None]
    zero = ~np.any(X, axis=1) if metric == "cosine" else np.zeros(len(X), bool)
    if block is None:
        block = int(min(BLOCK, max(64, BLOCK_BYTES // (4 * max(len(X), 1)))))
    indices = np.empty((len(X), k), dtype=np.int64)
    distances = np.empty((len(X), k), dtype=np.float32)
    for rows, squared in distance_blocks(X, block):
        if zero.any():
            # For unit rows |a - b|^2 = 2 (1 - cos); a zero row is at cosine distance 1.
            squared[:, zero] = 2.0
            squared[zero[rows]] = 2.0
            squared[np.arange(len(squared)), np.arange(len(X))[rows]] = np.inf
        found = np.argpartition(squared, k - 1, axis=1)[:, :k]
        near = np.take_along_axis(squared, found, axis=1)
        order = np.argsort(near, axis=1, kind="stable")
        indices[rows] = np.take_along_axis(found, order, axis=1)
        near = np.maximum(np.take_along_axis(near, order, axis=1), 0.0)
        distances[rows] = near / 2.0 if metric == "cosine" else np.sqrt(near)
    return indices, distances


def nearest(X: np.ndarray, k: int, block: int = BLOCK) -> np.ndarray:
    """Each row's ``k`` nearest other rows (euclidean, exact), as an (n, k) index array
    (nearest first, though callers may not rely on an order)."""
    return knn_graph(X, k, block=block)[0]


#: Up to this many dimensions (a map's), a k-d tree finds the neighbours: at 100,000 points
#: in 2D it takes a fraction of a second where comparing every pair takes about 20 s.
TREE_DIMS = 3


def _tree_knn_graph(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`knn_graph` of low-dimensional finite rows by a k-d tree (scipy's)."""
    from scipy.spatial import cKDTree

    distances, indices = cKDTree(X).query(X, k + 1, workers=-1)
    n = len(X)
    own = indices == np.arange(n)[:, None]
    # Each row leaves itself out; where duplicates at distance 0 hid it, its farthest.
    drop = np.where(own.any(axis=1), own.argmax(axis=1), k)
    keep = np.ones(indices.shape, dtype=bool)
    keep[np.arange(n), drop] = False
    return (
        indices[keep].reshape(n, k).astype(np.int64),
        distances[keep].reshape(n, k).astype(np.float32),
    )


def mean_knn_distance(X: np.ndarray, k: int, block: int = BLOCK) -> np.ndarray:
    """Each row's mean euclidean distance to its ``k`` nearest other rows."""
    return knn_graph(X, k, block=block)[1].mean(axis=1, dtype=np.float32)
