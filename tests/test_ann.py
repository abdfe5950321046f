"""Neighbours of big tables: exact block-wise search, the approximate index and its recall,
and the switch between them that the neighbours panel sees."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from dashboard.analysis import ann
from dashboard.analysis.ann import ApproximateIndex, NeighborSearch
from dashboard.analysis.knn import NeighborIndex, nearest_to_rows
from dashboard.errors import DataError


def clusters(n=6000, d=32, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (20, d))
    return (centres[rng.integers(0, 20, n)] + rng.normal(size=(n, d))).astype(np.float32)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_block_wise_exact_search_equals_the_exact_index(metric, tmp_path):
    X = clusters(3000, 16)
    X[7] = np.nan  # never anyone's neighbour
    path = tmp_path / "m.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    rows = np.array([0, 5, 2999])
    found, distances = nearest_to_rows(mapped, rows, 8, metric)
    exact = NeighborIndex(X)
    for i, row in enumerate(rows):
        want, want_d = exact.query(int(row), 8, metric)
        np.testing.assert_array_equal(found[i], want)
        np.testing.assert_allclose(distances[i], want_d, rtol=1e-4, atol=1e-5)
        assert 7 not in found[i]
        assert row not in found[i]


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_the_approximate_index_finds_most_neighbours_with_exact_distances(metric):
    X = clusters()
    index = ApproximateIndex.build(X, metric)
    assert index.facts.kind == "IVF77,PQ4"  # sqrt(6000) lists, 8 dims a code byte
    assert index.facts.queries == 50
    assert index.facts.recall >= 0.9
    exact = NeighborIndex(X)
    for row in (0, 123, 5999):
        found, distances = index.query(row, 10)
        assert row not in found
        want, _ = exact.query(row, 10, metric)
        assert len(set(found) & set(want)) >= 8
        # The distances shown are exact, nearest first.
        true = exact.query(row, 6000 - 1, metric)
        lookup = dict(zip(true[0].tolist(), true[1].tolist(), strict=True))
        np.testing.assert_allclose(distances, [lookup[r] for r in found], rtol=1e-4, atol=1e-6)
        assert (np.diff(distances) >= 0).all()
    text = index.facts.describe()
    assert text.startswith("approximate search (faiss IVF77,PQ4")
    assert f"recall@10 {index.facts.recall:.3f} on 50 rows" in text


def test_search_is_exact_until_the_index_is_built_then_kept(tmp_path, monkeypatch):
    X = clusters(4000, 24)
    release = threading.Event()
    build = ApproximateIndex.build

    def slow_build(*args, **kwargs):
        release.wait(30)
        return build(*args, **kwargs)

    monkeypatch.setattr(ann.ApproximateIndex, "build", slow_build)
    search = NeighborSearch(X, "t", tmp_path)
    exact = NeighborIndex(X)
    found, _distances = search.query(11, 5, "euclidean")  # answered now, exactly
    np.testing.assert_array_equal(found, exact.query(11, 5, "euclidean")[0])
    assert search.describe("euclidean") == "exact search while the approximate index is built"
    release.set()
    index = search.wait("euclidean", timeout=60)
    assert index is not None
    assert search.describe("euclidean").startswith("approximate search")
    assert (tmp_path / "ann-t-euclidean.faiss").exists()
    # Another process finds it in the cache and builds nothing.
    monkeypatch.setattr(ann.ApproximateIndex, "build", lambda *a, **k: pytest.fail("rebuilt"))
    again = NeighborSearch(X, "t", tmp_path)
    assert again.index("euclidean") is not None
    np.testing.assert_array_equal(
        again.query(11, 5, "euclidean")[0], search.query(11, 5, "euclidean")[0]
    )
    # An index kept for other rows is not used.
    kept = tmp_path / "ann-t-euclidean.faiss"
    assert ApproximateIndex.load(X[:3000], "euclidean", kept) is None


def test_a_failing_index_leaves_exact_search_and_says_why(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise MemoryError("no room")

    monkeypatch.setattr(ann.ApproximateIndex, "build", broken)
    X = clusters(500, 8)
    search = NeighborSearch(X, "t")
    assert search.wait("cosine", timeout=30) is None
    assert search.describe("cosine") == ("exact search (the approximate index failed: MemoryError)")
    assert len(search.query(3, 4, "cosine")[0]) == 4
    assert "neighbour index of 't' (cosine) failed" in caplog.text


def test_bad_queries_name_the_problem():
    search = NeighborSearch(clusters(100, 8), "t")
    with pytest.raises(DataError, match=r"row 100 is out of range: the table has 100 rows"):
        search.query(100, 3)
    with pytest.raises(DataError, match=r"`k` must be at least 1, got 0"):
        search.query(1, 0)
    with pytest.raises(DataError, match=r"`metric` must be one of .*, got 'hamming'"):
        search.query(1, 3, "hamming")


@pytest.mark.slow
def test_the_neighbours_panel_shows_how_a_big_table_is_searched(write_config, digits_path):
    from dashboard.web.assemble import prepare

    config = write_config(
        {
            "tables": {"digits": {"path": str(digits_path), "label": "target"}},
            "approximate_neighbors_above": 1000,
            "panels": [{"type": "neighbors"}],
        }
    )
    dashboard = prepare(config)
    panel = next(p for p in dashboard.panels if p.name == "neighbors")
    search = dashboard.context.datasets["digits"].neighbors()
    assert isinstance(search, NeighborSearch)
    listing, rings = panel.render({"table": "digits", "row": 3}, 5, "euclidean")
    assert len(rings["rows"]) == 5
    assert listing[1].children == "exact search while the approximate index is built"
    assert search.wait("euclidean", timeout=60) is not None
    listing, rings = panel.render({"table": "digits", "row": 3}, 5, "euclidean")
    assert listing[1].children.startswith("approximate search (faiss IVF42,PQ8")
    assert len(rings["rows"]) == 5
    small = write_config({"tables": {"digits": {"path": str(digits_path)}}}, "small.yaml")
    assert isinstance(prepare(small).context.datasets["digits"].neighbors(), NeighborIndex)
