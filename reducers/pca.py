"""PCA reducer plugin: fast, linear, deterministic.

The exact solvers are the dashboard's own numpy PCA (:class:`PrincipalComponents`: the same
components as scikit-learn's, without its 2 s import); ``randomized`` is scikit-learn's.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from dashboard.plugin import Params, Progress, Reducer, hookimpl
from dashboard.plugin.analysis import PrincipalComponents, gather_rows, row_blocks


class PCAParams(Params):
    whiten: bool = Field(False, description="Scale components to unit variance.")
    svd_solver: Literal["auto", "full", "randomized"] = Field(
        "auto",
        title="SVD solver",
        description="SVD algorithm: `auto` and `full` are exact; `randomized` (scikit-learn's) "
        "is faster on very wide tables.",
    )
    random_state: int = Field(
        0,
        title="Seed",
        ge=0,
        le=2**31 - 1,
        description="Seed of the randomized solver and of the fitted sample.",
    )
    fit_rows: int = Field(
        100_000,
        title="Fit rows",
        ge=0,
        le=100_000_000,
        description="Larger tables fit the components on a seeded sample of this many rows, "
        "then place every row; 0 fits on all rows.",
    )


class PCA(Reducer):
    """Principal component analysis: the linear projection that keeps the most variance."""

    name = "pca"
    title = "PCA"
    Params = PCAParams
    supports_transform = True
    min_rows = 2

    def _fit_transform(self, X: np.ndarray, progress: Progress) -> np.ndarray:
        p: PCAParams = self.params  # type: ignore[assignment]
        self.model_ = self._model(p)
        n = X.shape[0]
        if not p.fit_rows or n <= p.fit_rows:
            self.model_.fit(X)
            return self.transform_in_chunks(X)
        # The components of 100,000 rows are those of all rows to within the sampling
        # noise (tests/test_reducers.py), and the fit no longer dominates a 1M-row map:
        # the covariance of 1M x 768 took 3.3 s and a centred copy of the table.
        rows = np.sort(np.random.default_rng(p.random_state).choice(n, p.fit_rows, replace=False))
        progress(0.1, f"PCA: components of {p.fit_rows:,} sampled rows of {n:,}")
        self.model_.fit(gather_rows(X, rows))
        progress(0.5, f"PCA: placing {n:,} rows")
        return self.transform_in_chunks(X)

    def _model(self, p: PCAParams) -> Any:
        if p.svd_solver != "randomized":
            return PrincipalComponents(self.n_components, whiten=p.whiten)
        from sklearn.decomposition import PCA as SkPCA

        return SkPCA(
            n_components=self.n_components,
            whiten=p.whiten,
            svd_solver="randomized",
            random_state=p.random_state,
        )

    def transform_in_chunks(self, X: np.ndarray, chunk: int = 65_536) -> np.ndarray:
        """The fitted projection of ``X``, a chunk of rows at a time: scikit-learn's
        ``transform`` centres a copy of its whole input."""
        out = np.empty((X.shape[0], self.n_components), dtype=np.float32)
        for start, rows in row_blocks(X, chunk):
            out[start : start + len(rows)] = self.model_.transform(rows)
        return out


@hookimpl
def dashboard_reducers() -> list[type[Reducer]]:
    return [PCA]
