"""UMAP reducer plugin (umap-learn), imported lazily: `import umap` costs seconds (numba)."""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
from pydantic import Field

from dashboard.hookspecs import hookimpl
from dashboard.reducer import Params, Progress, Reducer

logger = logging.getLogger(__name__)


#: From this many rows, UMAP runs LARGE_EPOCHS epochs unless `n_epochs` says otherwise.
LARGE_ROWS = 50_000
LARGE_EPOCHS = 100


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
    n_epochs: int | None = Field(
        None,
        title="Epochs",
        ge=10,
        le=2000,
        description="Layout optimisation epochs. Empty: umap-learn's default (500 up to 10,000 "
        f"rows, then 200), and {LARGE_EPOCHS} from {LARGE_ROWS:,} rows, where the same "
        "trustworthiness came in half the time (docs/benchmarks.md).",
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
        large = X.shape[0] >= LARGE_ROWS
        epochs = p.n_epochs or (LARGE_EPOCHS if large else None)
        self.model_ = umap.UMAP(
            n_epochs=epochs,
            n_components=self.n_components,
            n_neighbors=n_neighbors,
            min_dist=p.min_dist,
            metric=p.metric,
            random_state=p.random_state,
            init=self._init(X.shape[0]),
        )
        return self.model_.fit_transform(X)

    def _init(self, n: int) -> str:
        # A tiny table cannot support a spectral initialisation; on large ones the truncated
        # spectral solver (`tswspectral`) is faster for the same trustworthiness.
        if n <= self.n_components + 10:
            return "random"
        return "tswspectral" if n >= LARGE_ROWS else "spectral"


@hookimpl
def dashboard_reducers() -> list[type[Reducer]]:
    return [UMAP]
