"""t-SNE reducer plugin: strong local clusters, slower than PCA.

openTSNE's optimiser draws every map, with progress every few iterations. Its repulsive
forces are summed exactly over all pairs (numba, :mod:`reducers.tsne_exact`) up to
:data:`EXACT_ROWS` points, where that is faster than any approximation, and by openTSNE's FFT
interpolation (2D) or Barnes-Hut (3D) above. Neighbours come from the dashboard's exact
search up to :data:`EXACT_KNN_ROWS` rows, from openTSNE's approximate index above.
scikit-learn's TSNE stays available as ``method: sklearn``.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
from pydantic import Field

from dashboard.plugin import Params, Progress, Reducer, hookimpl
from dashboard.plugin.analysis import knn_graph

logger = logging.getLogger(__name__)


class TSNEParams(Params):
    perplexity: float = Field(
        30.0, ge=2.0, le=100.0, description="Effective number of neighbours each point keeps."
    )
    early_exaggeration: float = Field(
        12.0,
        title="Early exaggeration",
        ge=1.0,
        le=100.0,
        description="How far apart clusters start; larger = more space.",
    )
    max_iter: int = Field(
        750,
        title="Iterations",
        ge=250,
        le=5000,
        description="Optimisation steps, the first 250 with clusters exaggerated.",
    )
    metric: Literal["euclidean", "cosine"] = Field(
        "euclidean", description="Distance in the original embedding space."
    )
    random_state: int = Field(
        0,
        title="Seed",
        ge=0,
        le=2**31 - 1,
        description="Start of the layout: 0 starts from the PCA layout; another seed shakes "
        "that start, so maps of two seeds show what is stable.",
    )
    method: Literal["auto", "opentsne", "sklearn"] = Field(
        "auto",
        title="Implementation",
        description="`auto` and `opentsne`: openTSNE's optimiser (exact forces on small "
        "tables, FFT or Barnes-Hut on large ones); `sklearn`: scikit-learn's Barnes-Hut.",
    )


#: Up to this many points the repulsive forces are summed exactly; above, openTSNE
#: approximates them (benchmarks/tsne_method.py: exact 19 ms a step at 10,000 points).
EXACT_ROWS = 12_000
#: Up to this many rows neighbours come from an exact search (BLAS distances, 0.5 s at
#: 10,000 x 50 where openTSNE's Annoy index took 3.9 s); above, from openTSNE's index.
EXACT_KNN_ROWS = 20_000
#: Iterations between progress reports (each also evaluates the objective).
REPORT_EVERY = 10
#: openTSNE's phase with clusters exaggerated.
EARLY_ITER = 250


class TSNE(Reducer):
    """t-distributed stochastic neighbour embedding."""

    name = "tsne"
    title = "t-SNE"
    Params = TSNEParams
    min_rows = 5
    pca_first = True
    sample_above = 200_000
    seed_param = "random_state"

    def _fit_transform(self, X: np.ndarray, progress: Progress) -> np.ndarray:
        p: TSNEParams = self.params  # type: ignore[assignment]
        # Each point keeps 3 * perplexity neighbours, which must exist.
        perplexity = min(p.perplexity, max(1.0, (X.shape[0] - 1) / 3))
        if perplexity != p.perplexity:
            logger.warning(
                "tsne: `perplexity` %.1f is too large for %d rows; using %.1f",
                p.perplexity,
                X.shape[0],
                perplexity,
            )
        if p.method == "sklearn":
            return self._sklearn(X, p, perplexity, progress)
        return self._opentsne(X, p, perplexity, progress)

    def _sklearn(
        self, X: np.ndarray, p: TSNEParams, perplexity: float, progress: Progress
    ) -> np.ndarray:
        from sklearn.manifold import TSNE as SkTSNE

        progress(0.1, f"t-SNE (scikit-learn): fitting {X.shape[0]:,} points")
        start = seeded_start(X, self.n_components, p.random_state)
        self.model_ = SkTSNE(
            n_components=self.n_components,
            perplexity=perplexity,
            early_exaggeration=p.early_exaggeration,
            max_iter=p.max_iter,
            metric=p.metric,
            init="pca" if start is None else start,
            random_state=p.random_state,
        )
        return self.model_.fit_transform(X)

    def _opentsne(
        self, X: np.ndarray, p: TSNEParams, perplexity: float, progress: Progress
    ) -> np.ndarray:
        # Lazy, like every heavy reducer library (numba compiles or loads its cache).
        from openTSNE import TSNE as OpenTSNE
        from openTSNE import affinity, initialization

        from reducers.numba_cache import enable_numba_cache
        from reducers.tsne_exact import kl_divergence_exact

        enable_numba_cache(self.cache_dir)
        n = X.shape[0]
        progress(0.02, f"t-SNE: neighbours of {n:,} points")
        affinities = affinity.PerplexityBasedNN(
            perplexity=perplexity,
            knn_index=self._neighbours(X, perplexity, p.metric),
            n_jobs=-1,
            random_state=p.random_state,
        )
        start = seeded_start(X, self.n_components, p.random_state)
        if start is None:
            start = initialization.pca(X, self.n_components, random_state=0)
        if n <= EXACT_ROWS:
            forces: Any = kl_divergence_exact
            how = "exact forces"
        else:
            forces = "fft" if self.n_components == 2 else "bh"
            how = "FFT" if forces == "fft" else "Barnes-Hut"
        total = max(p.max_iter, EARLY_ITER + 1)
        done = [0]

        def report(iteration: int, error: float, embedding: np.ndarray) -> bool:
            done[0] += REPORT_EVERY
            phase = "clusters exaggerated" if done[0] <= EARLY_ITER else "settling"
            progress(
                0.1 + 0.88 * min(done[0] / total, 1.0),
                f"t-SNE ({how}): iteration {min(done[0], total)} of {total}, {phase}",
            )
            return False  # never stop early: a cancelled job raises from `progress`

        progress(0.1, f"t-SNE ({how}): iteration 0 of {total}")
        self.model_ = OpenTSNE(
            n_components=self.n_components,
            early_exaggeration=p.early_exaggeration,
            early_exaggeration_iter=EARLY_ITER,
            n_iter=total - EARLY_ITER,
            n_jobs=-1,
            negative_gradient_method=forces,
            random_state=p.random_state,
            callbacks=report,
            callbacks_every_iters=REPORT_EVERY,
        )
        return np.asarray(self.model_.fit(affinities=affinities, initialization=start))

    def warm_up(self) -> None:
        """Compile the exact forces for 2D and 3D maps (openTSNE itself is compiled C)."""
        from openTSNE import affinity

        from reducers.numba_cache import enable_numba_cache
        from reducers.tsne_exact import kl_divergence_exact

        enable_numba_cache(self.cache_dir)
        X = np.random.default_rng(0).normal(size=(60, 5)).astype(np.float32)
        P = affinity.PerplexityBasedNN(X, 10, method="exact").P
        for dims in (2, 3):
            kl_divergence_exact(X[:, :dims].astype(np.float64), P, 1, should_eval_error=True)

    def _neighbours(self, X: np.ndarray, perplexity: float, metric: str) -> Any:
        from openTSNE.affinity import get_knn_index
        from openTSNE.nearest_neighbors import KNNIndex

        k = min(X.shape[0] - 1, int(3 * perplexity))
        if X.shape[0] > EXACT_KNN_ROWS:
            return get_knn_index(X, "annoy", k, metric, n_jobs=-1, random_state=0)

        class Exact(KNNIndex):
            VALID_METRICS = ("euclidean", "cosine")

            def build(self) -> tuple[np.ndarray, np.ndarray]:
                return knn_graph(self.data, self.k, self.metric)

        return Exact(X, k, metric)


#: A seeded start is the PCA layout plus noise of this share of its spread: two seeds settle
#: into different local arrangements while PCA's global one stays. (On well-separated data
#: the maps stay close: 600 digits at 1x differ by a Procrustes disparity of ~0.001, and
#: even at 20x, close to a random start, by under 0.01.)
SEED_SHAKE = 1.0


def seeded_start(X: np.ndarray, n_components: int, seed: int) -> np.ndarray | None:
    """The layout t-SNE starts from for ``seed``: None (the library's PCA start) for seed 0,
    else that PCA start shaken by seeded noise.

    Both libraries start from PCA scaled to a spread of 1e-4, and from there t-SNE's descent
    has no randomness left: without this, every seed drew the same map.
    """
    if seed == 0:
        return None
    from sklearn.decomposition import PCA

    start = PCA(n_components, svd_solver="randomized", random_state=seed).fit_transform(X)
    start = start / max(float(np.std(start[:, 0])), 1e-12) * 1e-4
    noise = np.random.default_rng(seed).normal(scale=1e-4 * SEED_SHAKE, size=start.shape)
    return (start + noise).astype(np.float32)


@hookimpl
def dashboard_reducers() -> list[type[Reducer]]:
    return [TSNE]
