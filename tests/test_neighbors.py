"""Exact k-NN in the original space, checked against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from dashboard.analysis.knn import NeighborIndex, knn_graph
from dashboard.errors import DataError


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_matches_scikit_learn(metric):
    X = np.random.default_rng(0).normal(size=(500, 24)).astype(np.float32)
    index = NeighborIndex(X)
    truth = NearestNeighbors(n_neighbors=11, metric=metric, algorithm="brute").fit(X)
    dist, idx = truth.kneighbors(X[[7, 123]])
    for i, row in enumerate((7, 123)):
        rows, distances = index.query(row, 10, metric)
        assert rows.tolist() == idx[i, 1:].tolist()
        np.testing.assert_allclose(distances, dist[i, 1:], rtol=1e-4, atol=1e-4)
        assert (np.diff(distances) >= 0).all()


def test_planted_clusters_find_their_own():
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 20, (4, 8))
    labels = np.repeat(np.arange(4), 50)
    X = centres[labels] + rng.normal(size=(200, 8))
    rows, _ = NeighborIndex(X).query(0, 49, "euclidean")
    assert set(labels[rows]) == {0}


def test_k_is_capped_and_self_excluded():
    X = np.eye(5, dtype=np.float32)
    rows, distances = NeighborIndex(X).query(2, 1000, "cosine")
    assert sorted(rows.tolist()) == [0, 1, 3, 4]
    np.testing.assert_allclose(distances, 1.0)


def test_zero_vectors_do_not_break_cosine():
    X = np.array([[0, 0], [1, 0], [0, 1]], dtype=np.float32)
    rows, distances = NeighborIndex(X).query(0, 2, "cosine")
    assert np.isfinite(distances).all()
    assert sorted(rows.tolist()) == [1, 2]


def test_bad_queries():
    index = NeighborIndex(np.ones((3, 2)))
    with pytest.raises(DataError, match=r"`metric` must be one of .*'euclidean'\), got 'l1'"):
        index.query(0, 1, "l1")
    with pytest.raises(DataError, match=r"row 3 is out of range: the table has 3 rows"):
        index.query(3, 1)
    with pytest.raises(DataError, match=r"`k` must be at least 1, got 0"):
        index.query(0, 0)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_knn_graph_matches_scikit_learn_in_small_blocks(metric):
    X = np.random.default_rng(2).normal(size=(700, 16)).astype(np.float32)
    X[5] = 0  # a zero row: at cosine distance 1 from every row
    truth = NearestNeighbors(n_neighbors=9, metric=metric, algorithm="brute").fit(X)
    dist, idx = truth.kneighbors(X)
    # 64 rows a block: the blocks' edges are crossed.
    indices, distances = knn_graph(X, 8, metric, block=64)
    assert indices.shape == distances.shape == (700, 8)
    assert (indices != np.arange(700)[:, None]).all()  # never its own neighbour
    np.testing.assert_allclose(distances, dist[:, 1:], rtol=1e-3, atol=1e-3)
    assert (np.diff(distances, axis=1) >= 0).all()
    same = (indices == idx[:, 1:]).mean()
    assert same > 0.99  # ties at equal distances may order differently
