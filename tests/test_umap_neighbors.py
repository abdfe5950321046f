"""The UMAP reducer's cacheable neighbour search: same neighbours, cached, scoped."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from reducers import umap_neighbors
from reducers.numba_cache import enable_numba_cache

# pynndescent's own search, run here to compare, cannot be cached: numba says so each time.
# Each test compiles and runs a neighbour search of thousands of rows.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Cannot cache compiled function"),
    pytest.mark.slow,
]


@pytest.fixture(scope="module")
def blobs() -> np.ndarray:
    """6,000 points in 40 clusters of 30 dims: above umap-learn's 4,096-row exact cut-off."""
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 4, (40, 30))
    return (centres[rng.integers(0, 40, 6000)] + rng.normal(0, 1, (6000, 30))).astype(np.float32)


def _recall(found: np.ndarray, X: np.ndarray, metric: str) -> float:
    exact = NearestNeighbors(n_neighbors=15, metric=metric).fit(X).kneighbors(X)[1]
    return float(np.mean([len(set(f) & set(e)) / 15 for f, e in zip(found, exact, strict=True)]))


def _search(X: np.ndarray, metric: str) -> np.ndarray:
    from pynndescent import NNDescent

    return NNDescent(X, n_neighbors=15, metric=metric, random_state=None).neighbor_graph[0]


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_finds_the_same_neighbours_as_pynndescent(blobs, metric, monkeypatch):
    ran: list[str] = []
    ours = umap_neighbors._nn_descent
    monkeypatch.setattr(umap_neighbors, "_nn_descent", lambda *a: ran.append("ours") or ours(*a))
    with umap_neighbors.cached_neighbors():
        found = _search(blobs, metric)
    theirs = _search(blobs, metric)  # outside the block: pynndescent's own
    assert ran == ["ours"]
    assert _recall(found, blobs, metric) >= 0.95
    assert _recall(found, blobs, metric) >= _recall(theirs, blobs, metric) - 0.01


def test_other_metrics_and_other_threads_keep_pynndescents_search(blobs, monkeypatch):
    ran: list[str] = []
    monkeypatch.setattr(umap_neighbors, "_nn_descent", lambda *a: ran.append("ours"))
    with umap_neighbors.cached_neighbors():
        manhattan = _search(blobs[:5000], "manhattan")
        other = threading.Thread(target=lambda: _search(blobs[:5000], "euclidean"))
        other.start()
        other.join()
    assert ran == []
    assert _recall(manhattan, blobs[:5000], "manhattan") >= 0.9


def test_the_compiled_search_is_kept_in_numbas_disk_cache(blobs):
    """The reason for the module: pynndescent's own search is compiled again by each process."""
    enable_numba_cache()
    with umap_neighbors.cached_neighbors():
        _search(blobs[:5000], "euclidean")
    search = umap_neighbors._nn_descent
    assert search.signatures
    # What a new process would load instead of compiling (None: numba could not save it).
    for signature in search.signatures:
        assert search._cache.load_overload(signature, search.targetctx) is not None


def test_if_our_search_fails_pynndescents_runs(blobs, monkeypatch, caplog):
    def broken(*args):
        raise RuntimeError("a pynndescent helper changed")

    monkeypatch.setattr(umap_neighbors, "_nn_descent", broken)
    monkeypatch.setattr(umap_neighbors._PATCH, "failed", None)  # restored after the test
    with (
        caplog.at_level("WARNING", logger="reducers.umap_patch"),
        umap_neighbors.cached_neighbors(),
    ):
        found = _search(blobs, "euclidean")
        again = _search(blobs[:5000], "euclidean")
    assert _recall(found, blobs, "euclidean") >= 0.9
    assert again.shape == (5000, 15)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "failed with pynndescent 0.7" in warnings[0]
