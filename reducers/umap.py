"""UMAP reducer plugin (umap-learn), imported lazily: `import umap` costs seconds (numba)."""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
from pydantic import Field

from dashboard.hookspecs import hookimpl
from dashboard.reducer import Params, Progress, Reducer

logger = logging.getLogger(__name__)


class UMAPParams(Params):
    n_neighbors: int = Field(
        15,
        title="Neighbours",
        ge=2,
        le=200,
        description="Neighbourhood size: small keeps local detail, large keeps global structure.",
    )
    min_dist: float = Field(
        0.1,
        title="Minimum distance",
        ge=0.0,
        le=1.0,
        description="How tightly points may pack in the map.",
    )
    metric: Literal["euclidean", "cosine", "manhattan", "correlation"] = Field(
        "euclidean", description="Distance in the original embedding space."
    )
    random_state: int | None = Field(
        None,
        title="Seed",
        ge=0,
        le=2**31 - 1,
        description="Seed for a reproducible map (runs single-threaded).",
    )


class UMAP(Reducer):
    """Uniform Manifold Approximation and Projection: keeps local neighbourhoods."""

    name = "umap"
    title = "UMAP"
    Params = UMAPParams
    supports_transform = True
    min_rows = 5
    pca_first = True
    sample_above = 200_000

    def _fit_transform(self, X: np.ndarray, progress: Progress) -> np.ndarray:
        progress(0.05, "UMAP: loading umap-learn (the first run on a machine compiles it)")
        import umap

        p: UMAPParams = self.params  # type: ignore[assignment]
        n_neighbors = min(p.n_neighbors, X.shape[0] - 1)
        if n_neighbors != p.n_neighbors:
            logger.warning(
                "umap: `n_neighbors` %d is not below the %d rows; using %d",
                p.n_neighbors,
                X.shape[0],
                n_neighbors,
            )
        progress(0.2, f"UMAP: fitting {X.shape[0]:,} points")
        self.model_ = umap.UMAP(
            n_components=self.n_components,
            n_neighbors=n_neighbors,
            min_dist=p.min_dist,
            metric=p.metric,
            random_state=p.random_state,
            # A tiny table cannot support a spectral initialisation.
            init="spectral" if X.shape[0] > self.n_components + 10 else "random",
        )
        return self.model_.fit_transform(X)


@hookimpl
def dashboard_reducers() -> list[type[Reducer]]:
    return [UMAP]
