"""Isomap: geodesic distances over a k-nearest-neighbour graph, then classical MDS."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from dashboard.plugin import Params, Reducer, hookimpl


class IsomapParams(Params):
    n_neighbors: int = Field(
        10, ge=2, le=200, description="Neighbours in the graph whose paths measure distance."
    )


class Isomap(Reducer):
    """Keeps geodesic (along-the-data) distances: unrolls curled-up manifolds."""

    name = "isomap"
    title = "Isomap"
    Params = IsomapParams
    supports_transform = True
    pca_first = True  # a neighbour-graph method: as good, and faster, on 50 components
    sample_above = 20_000  # its shortest paths grow with the square of the rows
    min_rows = 5

    def _fit_transform(self, X: np.ndarray, progress) -> np.ndarray:
        from sklearn.manifold import Isomap as SkIsomap  # heavy: import when used

        neighbours = min(self.params.n_neighbors, len(X) - 1)
        progress(0.3, f"Isomap: shortest paths over {len(X):,} points")
        self.model_ = SkIsomap(n_neighbors=neighbours, n_components=self.n_components)
        return self.model_.fit_transform(X)


@hookimpl
def dashboard_reducers():
    return [Isomap]
