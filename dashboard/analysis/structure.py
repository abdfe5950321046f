"""Structure of a table's rows: outlier scores in the original space, clusters on the map.

- outlier score: a row's mean distance to its k nearest rows in the original embedding
  space; the highest are the most isolated rows (duplicates score 0).
- clusters: HDBSCAN (scikit-learn) on the map's coordinates: dense groups get a number,
  scattered rows are "noise". On the map rather than the raw vectors because HDBSCAN's
  density estimate degrades in hundreds of dimensions, and so the clusters match what the
  map shows.

Both measure at most a seeded sample of ``max_rows`` rows (their cost grows with the square);
rows left out have no value (NaN, or "(not measured)").
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


def map_clusters(
    Y: np.ndarray, *, min_cluster_size: int | None = None, max_rows: int = 50_000, seed: int = 0
) -> np.ndarray:
    """HDBSCAN clusters of the map ``Y``: a code a row, 0, 1, ... for clusters, ``-1`` for
    noise, ``-2`` when not measured (not on the map, or outside the sample; see
    :func:`cluster_names`). ``min_cluster_size`` defaults to 1 % of the rows measured (at
    least 10)."""
    from sklearn.cluster import HDBSCAN

    codes = np.full(len(Y), -2, dtype=np.int32)
    rows = rows_on_map(Y, max_rows, seed)
    if len(rows) < 20:
        return codes
    size = min_cluster_size or max(10, len(rows) // 100)
    model = HDBSCAN(min_cluster_size=size, copy=True)
    codes[rows] = model.fit_predict(np.asarray(Y[rows], dtype=np.float64))
    return codes


def cluster_names(codes: np.ndarray) -> list[str]:
    """Labels for :func:`map_clusters` codes: ``"cluster 01"``..., ``"noise"``,
    ``"(not measured)"``."""
    special = {-1: NOISE, -2: NOT_MEASURED}
    return [special.get(int(c), f"cluster {int(c) + 1:02d}") for c in codes]
