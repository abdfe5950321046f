"""The "as logged" reducer: draws a table of 2 or 3 dimensions as it is.

W&B's blog logs tables that are projected already (PCA or t-SNE columns, `Object3D` point
clouds), and TensorBoard users ask to see such coordinates unchanged: this reducer is the
identity, so the map's axes are the logged values.
"""

from __future__ import annotations

import numpy as np

from dashboard.plugin import Params, Progress, Reducer, ReducerError, hookimpl

#: The widest embedding drawn as it is: a map has 2 or 3 axes.
MAX_DIMS = 3


class AsLoggedParams(Params):
    pass


class AsLogged(Reducer):
    """The logged coordinates themselves (a 3-dimension table in 2D: its first two)."""

    name = "as_logged"
    title = "As logged"
    Params = AsLoggedParams
    supports_transform = True
    min_rows = 1
    max_dims = MAX_DIMS

    def _fit_transform(self, X: np.ndarray, progress: Progress) -> np.ndarray:
        if X.shape[1] > MAX_DIMS:
            raise ReducerError(
                f"as_logged: draws tables of 2 or 3 dimensions as they are; this embedding "
                f"has {X.shape[1]:,}\npick PCA, UMAP or t-SNE to map it"
            )
        self.model_ = self
        return X[:, : self.n_components]

    def transform(self, X: np.ndarray) -> np.ndarray:  # type: ignore[override]
        """The rows' own first 2 or 3 values."""
        X = self._check_input(X)
        return self._check_output(X[:, : self.n_components], X.shape[0])


@hookimpl
def dashboard_reducers() -> list[type[Reducer]]:
    return [AsLogged]
