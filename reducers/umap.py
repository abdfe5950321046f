"""UMAP reducer plugin (umap-learn), imported lazily: `import umap` costs seconds (numba)."""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
from pydantic import Field

from dashboard.plugin import Params, Progress, Reducer, hookimpl, run_progress
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
    seed_param = "random_state"

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

    def _fit_runs(self, X: np.ndarray, seeds: list[int], progress: Progress) -> np.ndarray:
        """One fuzzy neighbour graph and one spectral start serve every run (they depend on
        the rows, not the seed); each seed shakes the start as umap-learn does and draws
        its own layout. Only the layouts differ between seeds, so only they are repeated.

        Layouts run in parallel (umap-learn's unseeded path): a seed sets the start and
        the generators, and runs differ as maps of two seeds do."""
        progress(0.01, "UMAP: loading umap-learn")
        import umap  # noqa: F401  (numba's cache applies to the modules it imports)
        from sklearn.metrics import pairwise_distances
        from umap.spectral import spectral_layout
        from umap.umap_ import (
            find_ab_params,
            fuzzy_simplicial_set,
            nearest_neighbors,
            simplicial_set_embedding,
        )

        from reducers.umap_layout import faster_layout
        from reducers.umap_neighbors import cached_neighbors

        enable_numba_cache(self.cache_dir)
        p: UMAPParams = self.params  # type: ignore[assignment]
        n, dims = X.shape[0], self.n_components
        k = min(p.n_neighbors, n - 1)
        progress(0.03, f"UMAP: one neighbour graph of {n:,} points for {len(seeds)} runs")
        state = np.random.RandomState(0)
        if n < SMALL_ROWS:  # as umap-learn: exact distances for a small table
            distances = pairwise_distances(X, metric=p.metric)
            graph, _, _ = fuzzy_simplicial_set(distances, k, state, "precomputed")
        else:
            with cached_neighbors():
                indices, dists, _ = nearest_neighbors(
                    X, k, p.metric, {}, False, state, low_memory=True, n_jobs=-1
                )
            graph, _, _ = fuzzy_simplicial_set(
                X, k, state, p.metric, knn_indices=indices, knn_dists=dists
            )
        epochs = p.n_epochs or (500 if n <= 10_000 else 200)
        spectral = self._init(n) == "spectral"
        start = spectral_layout(X, graph, dims, state, metric=p.metric) if spectral else None
        a, b = find_ab_params(1.0, p.min_dist)
        runs = []
        for i, seed in enumerate(seeds):
            report = run_progress(progress, i, len(seeds))
            seeded = np.random.RandomState(seed)
            if start is None:
                init = seeded.uniform(-10, 10, (n, dims)).astype(np.float32)
            else:  # umap-learn's own shake of the spectral start
                init = (start * (10.0 / np.abs(start).max())).astype(np.float32)
                init += seeded.normal(scale=0.0001, size=init.shape).astype(np.float32)

            def done(epoch: int, total: int, report: Progress = report) -> None:
                report(0.05 + 0.95 * epoch / total, f"UMAP: layout, epoch {epoch} of {total}")

            report(0.0, "UMAP: layout")
            with faster_layout(done):
                layout, _ = simplicial_set_embedding(
                    X,
                    graph.copy(),
                    dims,
                    1.0,
                    a,
                    b,
                    1.0,
                    5,
                    epochs,
                    init,
                    seeded,
                    p.metric,
                    {},
                    False,
                    {},
                    False,
                    parallel=True,
                )
            runs.append(np.asarray(layout, dtype=np.float32))
        return np.stack(runs)

    def _init(self, n: int) -> str:
        # A tiny table cannot support a spectral initialisation. (`tswspectral` on large
        # tables was no faster on noisy digits and 0.01 less trustworthy: not used.)
        return "random" if n <= self.n_components + 10 else "spectral"


#: Below this many rows umap-learn measures every pair of rows rather than search for
#: neighbours; the runs of a stability check do as the map did.
SMALL_ROWS = 4096


@hookimpl
def dashboard_reducers() -> list[type[Reducer]]:
    return [UMAP]
