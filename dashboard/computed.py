"""Colours computed from a projection rather than read from a column: each point's
neighbour recall, its outlier score, and its HDBSCAN cluster on the map. Each is computed
once per projection and kept in the projection store beside the coordinates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from dashboard.faithfulness import RECALL_K, recall_per_row
from dashboard.structure import cluster_names, map_clusters, outlier_scores

if TYPE_CHECKING:
    from dashboard.data import Dataset
    from dashboard.projection import ProjectionStore


@dataclass(frozen=True)
class Computed:
    """One computed colour: its dropdown value and label, the column name it shows as, and
    how to compute its values from (embedding matrix, map coordinates)."""

    value: str
    name: str
    label: str
    compute: Callable[[np.ndarray, np.ndarray], np.ndarray]
    #: Values are cluster codes, shown as category names.
    categorical: bool = False


COMPUTED: dict[str, Computed] = {
    c.value: c
    for c in (
        Computed(
            "__recall__",
            f"neighbour recall (k={RECALL_K})",
            f"neighbour recall (k={RECALL_K}, faithfulness)",
            lambda X, Y: recall_per_row(X, Y, RECALL_K)[0],
        ),
        Computed(
            "__outlier__",
            f"outlier score (k={RECALL_K})",
            f"outlier score (k={RECALL_K}, original space)",
            lambda X, Y: outlier_scores(X, Y, RECALL_K),
        ),
        Computed(
            "__cluster__",
            "cluster (HDBSCAN)",
            "cluster (HDBSCAN on the map)",
            lambda X, Y: map_clusters(Y),
            categorical=True,
        ),
    )
}


def stored_name(key: str, choice: str) -> str:
    """The projection-store name of computed colour ``choice`` for projection ``key``."""
    return f"{key}{choice.strip('_')}"  # store keys are letters and digits


def is_stored(store: ProjectionStore, key: str, choice: str) -> bool:
    """Whether ``choice``'s values for projection ``key`` were computed already."""
    return store.path(stored_name(key, choice)).exists()


def computed_column(
    choice: str, store: ProjectionStore, key: str, dataset: Dataset, coords: np.ndarray
) -> pl.Series:
    """The values of computed colour ``choice`` for projection ``key``, named for display."""
    computed = COMPUTED[choice]
    name = stored_name(key, choice)
    values = store.load(name)
    if values is None:
        values = np.asarray(computed.compute(dataset.matrix(), coords), dtype=np.float32)
        store.save(name, values)
    if computed.categorical:
        return pl.Series(computed.name, cluster_names(values.astype(np.int32)))
    return pl.Series(computed.name, values)
