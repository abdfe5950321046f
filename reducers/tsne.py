"""t-SNE reducer plugin (scikit-learn, Barnes-Hut): strong local clusters, slower than PCA."""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
from pydantic import Field

from dashboard.hookspecs import hookimpl
from dashboard.reducer import Params, Progress, Reducer

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
        1000, title="Iterations", ge=250, le=5000, description="Optimisation steps."
    )
    metric: Literal["euclidean", "cosine"] = Field(
        "euclidean", description="Distance in the original embedding space."
    )
    random_state: int = Field(
        0, title="Seed", ge=0, le=2**31 - 1, description="Seed of the layout."
    )


class TSNE(Reducer):
    """t-distributed stochastic neighbour embedding."""

    name = "tsne"
    title = "t-SNE"
    Params = TSNEParams
    min_rows = 5
    pca_first = True

    def _fit_transform(self, X: np.ndarray, progress: Progress) -> np.ndarray:
        from sklearn.manifold import TSNE as SkTSNE

        p: TSNEParams = self.params  # type: ignore[assignment]
        # sklearn requires perplexity < n; 3 * perplexity neighbours are used per point.
        perplexity = min(p.perplexity, max(1.0, (X.shape[0] - 1) / 3))
        if perplexity != p.perplexity:
            logger.warning(
                "tsne: `perplexity` %.1f is too large for %d rows; using %.1f",
                p.perplexity,
                X.shape[0],
                perplexity,
            )
        progress(0.1, f"t-SNE: fitting {X.shape[0]:,} points")
        self.model_ = SkTSNE(
            n_components=self.n_components,
            perplexity=perplexity,
            early_exaggeration=p.early_exaggeration,
            max_iter=p.max_iter,
            metric=p.metric,
            init="pca",
            random_state=p.random_state,
        )
        return self.model_.fit_transform(X)


@hookimpl
def dashboard_reducers() -> list[type[Reducer]]:
    return [TSNE]
