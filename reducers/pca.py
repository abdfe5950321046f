"""PCA reducer plugin (scikit-learn): fast, linear, deterministic."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from dashboard.plugin import Params, Progress, Reducer, hookimpl


class PCAParams(Params):
    whiten: bool = Field(False, description="Scale components to unit variance.")
    svd_solver: Literal["auto", "full", "randomized"] = Field(
        "auto",
        title="SVD solver",
        description="SVD algorithm; `randomized` is fastest on large, wide tables.",
    )
    random_state: int = Field(
        0, title="Seed", ge=0, le=2**31 - 1, description="Seed of the randomized solver."
    )


class PCA(Reducer):
    """Principal component analysis: the linear projection that keeps the most variance."""

    name = "pca"
    title = "PCA"
    Params = PCAParams
    supports_transform = True
    min_rows = 2

    def _fit_transform(self, X: np.ndarray, progress: Progress) -> np.ndarray:
        from sklearn.decomposition import PCA as SkPCA

        p: PCAParams = self.params  # type: ignore[assignment]
        self.model_ = SkPCA(
            n_components=self.n_components,
            whiten=p.whiten,
            svd_solver=p.svd_solver,
            random_state=p.random_state,
        )
        return self.model_.fit_transform(X)


@hookimpl
def dashboard_reducers() -> list[type[Reducer]]:
    return [PCA]
