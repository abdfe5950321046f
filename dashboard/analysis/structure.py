"""Structure of a table's rows: outlier scores in the original space, clusters on the map.

- outlier score: a row's mean distance to its k nearest rows in the original embedding
  space; the highest are the most isolated rows (duplicates score 0).
- clusters: HDBSCAN (scikit-learn) on the map's coordinates: dense groups get a number,
  scattered rows are "noise". On the map rather than the raw vectors because HDBSCAN's
  density estimate degrades in hundreds of dimensions, and so the clusters match what the
  map shows.

Both measure at most a seeded sample of ``max_rows`` rows (their cost grows with the square):
outlier scores leave the other rows without a value (NaN); the other rows join the cluster of
their nearest sampled row.
"""

from __future__ import annotations

import numpy as np

from dashboard.analysis.knn import mean_knn_distance
from dashboard.analysis.quality import rows_on_map

#: Label of rows HDBSCAN leaves out of every cluster.
NOISE = "noise"
NOT_MEASURED = "(not measured)"


def outlier_scores(
    X: np.ndarray, Y: np.ndarray, k: int = 10, *, max_rows: int = 20_000, seed: int = 0
) -> np.ndarray:
    """Mean distance to the ``k`` nearest rows of ``X``, for the rows on map ``Y`` (a seeded
    sample of ``max_rows`` when more, neighbours sought within it); NaN for the others."""
    scores = np.full(len(Y), np.nan, dtype=np.float32)
    rows = rows_on_map(Y, max_rows, seed)
    if len(rows) > k:
        scores[rows] = mean_knn_distance(X[rows], k)
    return scores


#: HDBSCAN clusters at most this many rows of a map (a seeded sample): its cost grows
#: faster than the rows (10,000: 0.6 s; 50,000: 17 s on 2 cores); the other rows join the
#: cluster of their nearest sampled row.
CLUSTER_ROWS = 10_000


def map_clusters(
    Y: np.ndarray,
    *,
    min_cluster_size: int | None = None,
    max_rows: int = CLUSTER_ROWS,
    seed: int = 0,
) -> np.ndarray:
    """HDBSCAN clusters of the map ``Y``: a code a row, 0, 1, ... for clusters, ``-1`` for
    noise, ``-2`` for rows not on the map (see :func:`cluster_names`).

    On a map of more than ``max_rows`` rows, HDBSCAN clusters a seeded sample of them and
    every other row takes the code of its nearest sampled row. ``min_cluster_size``
    defaults to 1 % of the rows clustered (at least 10)."""
    from scipy.spatial import cKDTree
    from sklearn.cluster import HDBSCAN

    codes = np.full(len(Y), -2, dtype=np.int32)
    rows = rows_on_map(Y, max_rows, seed)
    if len(rows) < 20:
        return codes
    size = min_cluster_size or max(10, len(rows) // 100)
    model = HDBSCAN(min_cluster_size=size, copy=True)
    sampled = np.asarray(Y[rows], dtype=np.float64)
    codes[rows] = model.fit_predict(sampled)
    on_map = np.flatnonzero(np.isfinite(Y).all(axis=1))
    rest = np.setdiff1d(on_map, rows, assume_unique=True)
    if rest.size:
        _, nearest = cKDTree(sampled).query(np.asarray(Y[rest], dtype=np.float64), workers=-1)
        codes[rest] = codes[rows[nearest]]
    return codes


def cluster_names(codes: np.ndarray) -> list[str]:
    """Labels for :func:`map_clusters` codes: ``"cluster 01"``..., ``"noise"``,
    ``"(not measured)"``."""
    special = {-1: NOISE, -2: NOT_MEASURED}
    return [special.get(int(c), f"cluster {int(c) + 1:02d}") for c in codes]
