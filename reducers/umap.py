"""UMAP reducer plugin (umap-learn), imported lazily: `import umap` costs seconds (numba)."""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
from pydantic import Field

from dashboard.plugin import Params, Progress, Reducer, hookimpl
from reducers.numba_cache import enable_numba_cache

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
    n_epochs: int | None = Field(
        None,
        title="Epochs",
        ge=10,
        le=2000,
        description="Rounds of layout optimisation. Empty: umap-learn's default (500 up to "
        "10,000 rows, 200 above). Fewer is faster: 100 halves the layout time of a large map, "
        "at some cost in faithfulness on noisy data.",
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
    supports_alignment = True

    def _fit_transform(self, X: np.ndarray, progress: Progress) -> np.ndarray:
        progress(0.05, "UMAP: loading umap-learn (the first run on a machine compiles it)")
        import umap

        # numba: imported with umap, not before
        from reducers.umap_layout import faster_layout
        from reducers.umap_neighbors import cached_neighbors

        enable_numba_cache(self.cache_dir)
        p: UMAPParams = self.params  # type: ignore[assignment]
        n_neighbors = min(p.n_neighbors, X.shape[0] - 1)
        if n_neighbors != p.n_neighbors:
            logger.warning(
                "umap: `n_neighbors` %d is not below the %d rows; using %d",
                p.n_neighbors,
                X.shape[0],
                n_neighbors,
            )
        progress(0.2, f"UMAP: neighbours of {X.shape[0]:,} points")

        def epochs(done: int, total: int) -> None:
            progress(0.3 + 0.65 * done / total, f"UMAP: layout, epoch {done} of {total}")

        model = umap.UMAP(
            n_epochs=p.n_epochs,
            n_components=self.n_components,
            n_neighbors=n_neighbors,
            min_dist=p.min_dist,
            metric=p.metric,
            random_state=p.random_state,
            init=self._init(X.shape[0]),
        )
        with cached_neighbors(), faster_layout(epochs):
            coords = model.fit_transform(X)
        self.model_ = model
        return coords

    def transform(self, X: Any) -> np.ndarray:
        """Place new rows on the fitted map (umap-learn's ``transform``, with the new rows'
        starting places computed in one sparse product: :mod:`reducers.umap_transform`)."""
        import umap  # noqa: F401  (numba's caching applies to the modules it imports)

        from reducers.umap_layout import faster_layout
        from reducers.umap_transform import fast_placing

        # A Dask worker places rows in a process of its own: its compiled code comes from
        # the same cache as the fit's, not from a compile per worker.
        enable_numba_cache(self.cache_dir)
        with fast_placing(), faster_layout():
            return super().transform(X)

    def warm_up(self) -> None:
        """Fit 5,000 clustered rows of 50 dims for 10 epochs: the paths of a real map (the
        neighbour descent runs from 4,096 rows, then the fuzzy graph, spectral start and
        layout), with the dtypes the dashboard passes (float32 after PCA)."""
        rng = np.random.default_rng(0)
        centres = rng.normal(0, 1, (10, 50))  # apart, yet one connected graph
        X = (centres[rng.integers(0, 10, 5000)] + rng.normal(size=(5000, 50))).astype("f4")
        for dims in (2, 3):
            short = type(self)({"n_epochs": 10}, n_components=dims, cache_dir=self.cache_dir)
            short.fit_transform(X)

    def _fit_aligned(self, matrices: list[np.ndarray], progress: Progress) -> np.ndarray:
        """umap-learn's AlignedUMAP: one UMAP per step, tied to its neighbours in time by the
        items they share (here every item: the rows are matched)."""
        progress(0.05, "AlignedUMAP: loading umap-learn")
        import umap

        enable_numba_cache(self.cache_dir)
        p: UMAPParams = self.params  # type: ignore[assignment]
        n = matrices[0].shape[0]
        identity = {i: i for i in range(n)}
        progress(0.2, f"AlignedUMAP: {len(matrices)} steps of {n:,} items")
        model = umap.AlignedUMAP(
            n_neighbors=max(2, min(p.n_neighbors, n - 1)),
            n_components=self.n_components,
            min_dist=p.min_dist,
            metric=p.metric,
            n_epochs=p.n_epochs,
            random_state=p.random_state,
            init="random" if n <= 12 else "spectral",
        )
        model.fit(matrices, relations=[identity] * (len(matrices) - 1))
        return np.stack([np.asarray(e) for e in model.embeddings_])

    def _init(self, n: int) -> str:
        # A tiny table cannot support a spectral initialisation. (`tswspectral` on large
        # tables was no faster on noisy digits and 0.01 less trustworthy: not used.)
        return "random" if n <= self.n_components + 10 else "spectral"


@hookimpl
def dashboard_reducers() -> list[type[Reducer]]:
    return [UMAP]
