"""Per-row values measured on a map rather than read from a column: each point's neighbour
recall, its outlier score, and its HDBSCAN cluster on the map. Panels offer them as colours
(and the filter panel the clusters as a filter); :meth:`dashboard.plugin.PanelContext.computed`
computes each once per projection and keeps it in the projection cache."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from dashboard.analysis.quality import RECALL_K, recall_per_row
from dashboard.analysis.structure import cluster_names, map_clusters, outlier_scores


@dataclass(frozen=True)
class MapMeasure:
    """One measured colour: its dropdown value and label, the column name it shows as, and
    how to compute its values from (embedding matrix, map coordinates)."""

    value: str
    name: str
    label: str
    compute: Callable[[np.ndarray, np.ndarray], np.ndarray]
    #: Values are cluster codes, shown as category names.
    categorical: bool = False

    def column(self, values: np.ndarray) -> pl.Series:
        """Stored values as the column panels show: cluster names, or the numbers."""
        if self.categorical:
            return pl.Series(self.name, cluster_names(values.astype(np.int32)))
        return pl.Series(self.name, values)


RECALL, OUTLIER, CLUSTER = "__recall__", "__outlier__", "__cluster__"

MAP_MEASURES: dict[str, MapMeasure] = {
    m.value: m
    for m in (
        MapMeasure(
            RECALL,
            f"neighbour recall (k={RECALL_K})",
            f"neighbour recall (k={RECALL_K}, faithfulness)",
            lambda X, Y: recall_per_row(X, Y, RECALL_K)[0],
        ),
        MapMeasure(
            OUTLIER,
            f"outlier score (k={RECALL_K})",
            f"outlier score (k={RECALL_K}, original space)",
            lambda X, Y: outlier_scores(X, Y, RECALL_K),
        ),
        MapMeasure(
            CLUSTER,
            "cluster (HDBSCAN)",
            "cluster (HDBSCAN on the map)",
            lambda X, Y: map_clusters(Y),
            categorical=True,
        ),
    )
}
