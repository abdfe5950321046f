"""UMAP reducer plugin (umap-learn), imported lazily: `import umap` costs seconds (numba)."""

from __future__ import annotations

import logging
import sys
import threading
import warnings
from typing import Literal

import numpy as np
from pydantic import Field

from dashboard.hookspecs import hookimpl
from dashboard.reducer import Params, Progress, Reducer

logger = logging.getLogger(__name__)


_CACHE_LOCK = threading.Lock()
_cache_enabled = False


def enable_numba_cache() -> int:
    """Let numba cache umap-learn's and pynndescent's compiled functions on disk.

    Most of them are declared without ``cache=True``, so every new process compiled them again
    (about 35 s of a fresh 100k-row map on two cores). With caching on, the compiled code is
    written under ``NUMBA_CACHE_DIR`` (the dashboard's cache dir) once per machine. Functions
    numba cannot cache (``nn_descent`` holds dynamic globals) still compile in each process.

    Returns
    -------
    int
        How many functions had caching turned on by this call (0 after the first call).
    """
    global _cache_enabled
    with _CACHE_LOCK:
        if _cache_enabled:
            return 0
        from numba.core.errors import NumbaWarning
        from numba.core.registry import CPUDispatcher

        # numba warns once per function it cannot cache; that is expected here, not news.
        warnings.filterwarnings(
            "ignore", message="Cannot cache compiled function", category=NumbaWarning
        )
        count = 0
        for name, module in list(sys.modules.items()):
            if module is None or name.split(".")[0] not in ("umap", "pynndescent"):
                continue
            for value in list(vars(module).values()):
                # `_cache` is a NullCache until caching is on; only dispatchers defined here.
                if (
                    isinstance(value, CPUDispatcher)
                    and value.py_func.__module__ == name
                    and type(value._cache).__name__ == "NullCache"
                ):
                    value.enable_caching()
                    count += 1
        _cache_enabled = True
        logger.debug("umap: numba caching turned on for %d functions", count)
        return count


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
        "rows, then 200). Fewer is faster: 100 halves the layout time of 100k rows, but cost "
        "0.02-0.03 trustworthiness on noisy data here (docs/benchmarks.md).",
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

        # numba: imported with umap, not before
        from reducers.umap_layout import faster_layout
        from reducers.umap_neighbors import cached_neighbors

        enable_numba_cache()
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

    def _init(self, n: int) -> str:
        # A tiny table cannot support a spectral initialisation. (`tswspectral` on large
        # tables was no faster on noisy digits and 0.01 less trustworthy: not used.)
        return "random" if n <= self.n_components + 10 else "spectral"


@hookimpl
def dashboard_reducers() -> list[type[Reducer]]:
    return [UMAP]
