"""Placing new rows on a UMAP map: our vectorised starting places equal umap-learn's loop."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import umap.umap_

from reducers.umap_transform import fast_placing, weighted_starts


def graph_of(rng, rows: int, fitted: int) -> scipy.sparse.csr_matrix:
    dense = rng.random((rows, fitted)) * (rng.random((rows, fitted)) < 0.1)
    dense[3] = 0.0  # a row without neighbours: NaN
    dense[5, [2, 7]] = 1.0  # identical to fitted rows 2 and 7: the first one wins
    dense[6, 9] = 1.0
    graph = scipy.sparse.csr_matrix(dense)
    graph.eliminate_zeros()
    return graph


def test_weighted_starts_equal_umap_learns_loop():
    rng = np.random.default_rng(0)
    graph = graph_of(rng, 200, 40)
    embedding = rng.normal(size=(40, 2)).astype(np.float32)
    with fast_placing():  # installs the patch: umap-learn's own is then `original`
        pass
    from reducers.umap_transform import _PATCH

    theirs = _PATCH.original(graph, embedding)
    ours = weighted_starts(graph, embedding)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, equal_nan=True)
    assert np.isnan(ours[3]).all()
    np.testing.assert_array_equal(ours[5], embedding[2])


def test_transform_uses_ours_only_inside_the_block(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "reducers.umap_transform.weighted_starts", lambda g, e: calls.append(1) or e[:0]
    )
    rng = np.random.default_rng(1)
    graph = graph_of(rng, 10, 12)
    embedding = rng.normal(size=(12, 2)).astype(np.float32)
    with fast_placing() as installed:
        assert installed
        umap.umap_.init_graph_transform(graph, embedding)
    assert calls == [1]
    umap.umap_.init_graph_transform(graph, embedding)  # outside: umap-learn's own
    assert calls == [1]


@pytest.mark.slow
def test_umap_places_rows_near_their_cluster():
    from reducers.umap import UMAP

    rng = np.random.default_rng(2)
    centres = rng.normal(0, 8, (4, 10))
    labels = rng.integers(0, 4, 1500)
    X = (centres[labels] + rng.normal(size=(1500, 10))).astype(np.float32)
    reducer = UMAP({"n_epochs": 50})
    fitted = reducer.fit_transform(X[:1000])
    placed = reducer.transform(X[1000:])
    means = np.array([fitted[labels[:1000] == c].mean(axis=0) for c in range(4)])
    nearest = np.argmin(((placed[:, None] - means[None]) ** 2).sum(axis=2), axis=1)
    assert (nearest == labels[1000:]).mean() > 0.95


@pytest.mark.slow
def test_placing_runs_our_layout_repeats_exactly_and_places_as_umap_learn_does(monkeypatch):
    import numba

    from dashboard.plugin.reducer import Reducer
    from reducers import umap_layout
    from reducers.umap import UMAP

    rng = np.random.default_rng(3)
    centres = rng.normal(0, 5, (6, 12))
    labels = rng.integers(0, 6, 3000)
    X = (centres[labels] + rng.normal(size=(3000, 12))).astype(np.float32)
    reducer = UMAP({"n_epochs": 60})
    fitted = reducer.fit_transform(X[:1500])
    placed_by = []
    original = umap_layout._place
    monkeypatch.setattr(
        umap_layout, "_place", lambda *a, **k: placed_by.append(1) or original(*a, **k)
    )
    ours = reducer.transform(X[1500:])
    assert placed_by == [1]
    numba.set_num_threads(1)
    try:
        again = reducer.transform(X[1500:])
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    np.testing.assert_array_equal(ours, again)  # the same on one thread as on all
    theirs = Reducer.transform(reducer, X[1500:])  # umap-learn's own placing
    means = np.array([fitted[labels[:1500] == c].mean(axis=0) for c in range(6)])

    def by_cluster(Y):
        return (np.argmin(((Y[:, None] - means[None]) ** 2).sum(2), 1) == labels[1500:]).mean()

    assert by_cluster(ours) >= by_cluster(theirs) - 0.01
    assert by_cluster(ours) > 0.95
